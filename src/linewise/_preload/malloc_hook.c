/* malloc_hook.c: linewise's malloc hook, preloaded into a program by
 * `linewise run --memory=native` (LD_PRELOAD, Linux with glibc).
 *
 * It defines malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign and
 * valloc, each calling glibc's own (__libc_malloc and friends: no dlsym, which itself
 * allocates) and then, once the engine has handed over its callbacks (lw_native_install,
 * found by the engine with dlsym when memory tracing starts), reporting the block. Until
 * then, and whenever the engine is not tracing, it only passes calls on. The engine skips
 * what its own hooks cause (Python's and numpy's allocators calling malloc), so nothing
 * is counted twice. Not seen: memory mapped directly (mmap), and other processes.
 *
 * Not a Python module: it includes no Python header and is never imported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* What the engine gives (memory.h's lw_mem_note_* functions). */
typedef struct {
    void (*alloc)(void *p, size_t n);
    void (*free)(void *p);
    size_t (*take)(void *old);
    void (*realloc)(void *old, size_t old_size, void *p, size_t n);
} lw_native_callbacks;

static _Atomic(const lw_native_callbacks *) callbacks;

#define EXPORT __attribute__((visibility("default")))

/* Called by the engine: its callbacks, or NULL to stop reporting. */
EXPORT void
lw_native_install(const lw_native_callbacks *cb)
{
    atomic_store(&callbacks, cb);
}

static inline const lw_native_callbacks *
engine(void)
{
    return atomic_load_explicit(&callbacks, memory_order_acquire);
}

EXPORT void *
malloc(size_t n)
{
    void *p = __libc_malloc(n);
    const lw_native_callbacks *cb = engine();
    if (cb != NULL && p != NULL) {
        cb->alloc(p, n);
    }
    return p;
}

EXPORT void *
calloc(size_t nelem, size_t elsize)
{
    void *p = __libc_calloc(nelem, elsize);
    const lw_native_callbacks *cb = engine();
    if (cb != NULL && p != NULL) {
        cb->alloc(p, nelem * elsize);
    }
    return p;
}

EXPORT void *
realloc(void *old, size_t n)
{
    const lw_native_callbacks *cb = engine();
    /* The old block leaves the engine's table before it can be freed (see memory.h). */
    size_t old_size = cb != NULL && old != NULL ? cb->take(old) : 0;
    void *p = __libc_realloc(old, n);
    if (cb != NULL) {
        cb->realloc(old, old_size, p, n);
    }
    return p;
}

EXPORT void
free(void *p)
{
    const lw_native_callbacks *cb = engine();
    if (cb != NULL && p != NULL) {
        cb->free(p);
    }
    __libc_free(p);
}

static inline void *
aligned(size_t alignment, size_t n)
{
    void *p = __libc_memalign(alignment, n);
    const lw_native_callbacks *cb = engine();
    if (cb != NULL && p != NULL) {
        cb->alloc(p, n);
    }
    return p;
}

EXPORT int
posix_memalign(void **out, size_t alignment, size_t n)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    void *p = aligned(alignment, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

EXPORT void *
aligned_alloc(size_t alignment, size_t n)
{
    return aligned(alignment, n);
}

EXPORT void *
memalign(size_t alignment, size_t n)
{
    return aligned(alignment, n);
}

EXPORT void *
valloc(size_t n)
{
    return aligned((size_t)sysconf(_SC_PAGESIZE), n);
}
