/* memory.c: the allocator hooks of Python's three domains, turning them on and off, and
 * what every hook (these, numpy's, the preloaded native library's) does with a block.
 *
 * Ours wrap whatever each domain had (pymalloc, the debug hooks, tracemalloc), calling it
 * for the memory and counting on this thread what it returned. One function set per
 * domain, reading its own static record rather than the ctx pointer: the raw domain is
 * called without the GIL, so a thread may read the domain's allocator while it is being
 * set, and pair our function with the old ctx.
 */
#include "memory.h"
#include "memtable.h"

#include <dlfcn.h>

_Thread_local LwMemThread lw_memtls LW_TLS_FAST;
uint32_t lw_mem_epoch = 1;  /* 0 never: zeroed frame records read as never set */
int lw_mem_active;

/* What a successful allocation of n bytes at p adds to this thread's counters. */
static inline void
count_alloc(LwMemThread *m, void *p, size_t n)
{
    m->alloc += n;
    if (lw_memtable_insert(p, n) == 0) {
        m->live += (int64_t)n;
        if (m->live > m->high) {
            m->high = m->live;
        }
    }
}

void
lw_mem_note_alloc(void *p, size_t n)
{
    LwMemThread *m = &lw_memtls;
    if (p != NULL && lw_mem_active && m->depth == 0) {
        count_alloc(m, p, n);
    }
}

void
lw_mem_note_free(void *p)
{
    LwMemThread *m = &lw_memtls;
    if (p != NULL && lw_mem_active && m->depth == 0) {
        m->live -= (int64_t)lw_memtable_remove(p);
    }
}

/* A realloc of `old`, whose size was `old_size` (0: untracked; its entry already taken
 * out), returned p for n bytes: growth counts as allocation, the entry follows the block.
 * A failed one (p NULL) leaves the old block where it was: its entry goes back. */
static inline void
count_realloc(LwMemThread *m, void *old, size_t old_size, void *p, size_t n)
{
    if (p == NULL) {
        if (old_size && lw_memtable_insert(old, old_size) < 0) {
            m->live -= (int64_t)old_size;  /* still there, but no longer tracked */
        }
        return;
    }
    m->live -= (int64_t)old_size;
    m->alloc += n > old_size ? n - old_size : 0;
    if (lw_memtable_insert(p, n) == 0) {
        m->live += (int64_t)n;
        if (m->live > m->high) {
            m->high = m->live;
        }
    }
}

size_t
lw_mem_take(void *old)
{
    if (old == NULL || !lw_mem_active || lw_memtls.depth) {
        return 0;
    }
    return lw_memtable_remove(old);
}

void
lw_mem_note_realloc(void *old, size_t old_size, void *p, size_t n)
{
    LwMemThread *m = &lw_memtls;
    if (lw_mem_active && m->depth == 0) {
        count_realloc(m, old, old_size, p, n);
    }
}

/* ---- Python's allocators ------------------------------------------------------------ */

typedef struct {
    PyMemAllocatorDomain domain;
    PyMemAllocatorEx below;   /* what ours calls: the domain's allocator before ours */
    PyMemAllocatorEx ours;
    int installed;            /* ours went in and has not been taken out: it may sit inside
                                 another tool's chain (tracemalloc started after us) */
} Domain;

static Domain domains[3];  /* raw, mem, obj: process-wide like the allocators themselves */

static inline void *
hook_malloc(PyMemAllocatorEx *below, size_t n, int zero, size_t elsize)
{
    LwMemThread *m = &lw_memtls;
    if (!lw_mem_active || m->depth) {
        return zero ? below->calloc(below->ctx, n, elsize) : below->malloc(below->ctx, n);
    }
    m->depth++;
    void *p = zero ? below->calloc(below->ctx, n, elsize) : below->malloc(below->ctx, n);
    m->depth--;
    if (p != NULL) {
        count_alloc(m, p, zero ? n * elsize : n);
    }
    return p;
}

static inline void *
hook_realloc(PyMemAllocatorEx *below, void *old, size_t n)
{
    LwMemThread *m = &lw_memtls;
    if (!lw_mem_active || m->depth) {
        return below->realloc(below->ctx, old, n);
    }
    /* Out of the table before the block can be freed: once it is, another thread may be
     * given the same address and enter it. */
    size_t old_size = old != NULL ? lw_memtable_remove(old) : 0;
    m->depth++;
    void *p = below->realloc(below->ctx, old, n);
    m->depth--;
    count_realloc(m, old, old_size, p, n);
    return p;
}

static inline void
hook_free(PyMemAllocatorEx *below, void *p)
{
    LwMemThread *m = &lw_memtls;
    if (lw_mem_active && !m->depth && p != NULL) {
        m->live -= (int64_t)lw_memtable_remove(p);  /* before: see hook_realloc */
    }
    m->depth++;
    below->free(below->ctx, p);
    m->depth--;
}

#define LW_DOMAIN_HOOKS(NAME, INDEX)                                                       \
    static void *NAME##_malloc(void *ctx, size_t n)                                        \
    {                                                                                      \
        (void)ctx;                                                                         \
        return hook_malloc(&domains[INDEX].below, n, 0, 0);                                \
    }                                                                                      \
    static void *NAME##_calloc(void *ctx, size_t nelem, size_t elsize)                     \
    {                                                                                      \
        (void)ctx;                                                                         \
        return hook_malloc(&domains[INDEX].below, nelem, 1, elsize);                       \
    }                                                                                      \
    static void *NAME##_realloc(void *ctx, void *p, size_t n)                              \
    {                                                                                      \
        (void)ctx;                                                                         \
        return hook_realloc(&domains[INDEX].below, p, n);                                  \
    }                                                                                      \
    static void NAME##_free(void *ctx, void *p)                                            \
    {                                                                                      \
        (void)ctx;                                                                         \
        hook_free(&domains[INDEX].below, p);                                               \
    }

LW_DOMAIN_HOOKS(raw, 0)
LW_DOMAIN_HOOKS(mem, 1)
LW_DOMAIN_HOOKS(obj, 2)

static Domain domains[3] = {
    {PYMEM_DOMAIN_RAW, {0}, {NULL, raw_malloc, raw_calloc, raw_realloc, raw_free}, 0},
    {PYMEM_DOMAIN_MEM, {0}, {NULL, mem_malloc, mem_calloc, mem_realloc, mem_free}, 0},
    {PYMEM_DOMAIN_OBJ, {0}, {NULL, obj_malloc, obj_calloc, obj_realloc, obj_free}, 0},
};

/* ---- native allocations (linewise run --memory=native) ----------------------------- */

/* What the preloaded malloc hook (src/linewise/_preload/malloc_hook.c) calls. */
typedef struct {
    void (*alloc)(void *p, size_t n);
    void (*free)(void *p);
    size_t (*take)(void *old);
    void (*realloc)(void *old, size_t old_size, void *p, size_t n);
} NativeCallbacks;

static const NativeCallbacks native_callbacks = {
    lw_mem_note_alloc, lw_mem_note_free, lw_mem_take, lw_mem_note_realloc,
};

/* The preloaded library's install function, or NULL when it is not in the process. */
static void (*
native_install(void))(const NativeCallbacks *)
{
    static int looked;
    static void (*install)(const NativeCallbacks *);
    if (!looked) {
        looked = 1;
        *(void **)&install = dlsym(RTLD_DEFAULT, "lw_native_install");
    }
    return install;
}

int
lw_mem_start(void)
{
    if (++lw_mem_epoch == 0) {
        lw_mem_epoch = 1;
    }
    lw_memtable_new_session();
    for (int i = 0; i < 3; i++) {
        Domain *d = &domains[i];
        if (!d->installed) {
            PyMem_GetAllocator(d->domain, &d->below);
            PyMem_SetAllocator(d->domain, &d->ours);
            d->installed = 1;
        }
    }
    lw_mem_active = 1;
    if (native_install() != NULL) {
        native_install()(&native_callbacks);
    }
    return lw_mem_numpy_check();
}

int
lw_mem_stop(void)
{
    lw_mem_active = 0;
    if (native_install() != NULL) {
        native_install()(NULL);
    }
    int status = lw_numpy_unwrap();
    for (int i = 0; i < 3; i++) {
        Domain *d = &domains[i];
        PyMemAllocatorEx now;
        PyMem_GetAllocator(d->domain, &now);
        /* Ours on top: put back what was below. Someone else's on top (it wrapped ours):
         * taking ours out would cut its chain, so ours stays in it, passing calls on. */
        if (d->installed && now.malloc == d->ours.malloc) {
            PyMem_SetAllocator(d->domain, &d->below);
            d->installed = 0;
        }
    }
    return status;
}

int
lw_mem_numpy_check(void)
{
    return lw_mem_active ? lw_numpy_wrap() : 0;
}

PyObject *
lw_mem_diagnostics(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    PyObject *allocators = PyTuple_New(3);  /* owned */
    if (allocators == NULL) {
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        PyMemAllocatorEx now;
        PyMem_GetAllocator(domains[i].domain, &now);
        PyObject *item = Py_BuildValue("(KKKKK)", (unsigned long long)(uintptr_t)now.ctx,
                                       (unsigned long long)(uintptr_t)now.malloc,
                                       (unsigned long long)(uintptr_t)now.calloc,
                                       (unsigned long long)(uintptr_t)now.realloc,
                                       (unsigned long long)(uintptr_t)now.free);
        if (item == NULL) {
            Py_DECREF(allocators);
            return NULL;
        }
        PyTuple_SET_ITEM(allocators, i, item);
    }
    LwMemThread *m = &lw_memtls;
    return Py_BuildValue("{sisisNs(iii)sKsLsKsn}", "active", lw_mem_active, "native",
                         native_install() != NULL, "allocators",
                         allocators, "installed", domains[0].installed,
                         domains[1].installed, domains[2].installed, "thread_alloc",
                         (unsigned long long)m->alloc, "thread_live", (long long)m->live,
                         "untracked", (unsigned long long)lw_memtable_untracked(),
                         "table_bytes", (Py_ssize_t)lw_memtable_mapped());
}
