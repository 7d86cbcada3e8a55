/* frames.c: growing thread stacks and the table of suspended generator frames. */
#include "frames.h"

#include <pthread.h>
#include <string.h>

/* Per thread, not per module (see frames.h): the module state cannot hold one per thread. */
_Thread_local ThreadStack lw_tstack;

/* A thread's stack is freed when the thread ends (pthread key destructor); the key is
 * created once per process. Outside module state on purpose: a pthread key is a process
 * resource, and the thread-local stacks it frees outlive any one module object (a thread
 * may end after the module is gone). */
static pthread_key_t stack_key;
static pthread_once_t stack_key_once = PTHREAD_ONCE_INIT;

static void
free_stack(void *recs)
{
    PyMem_RawFree(recs);
}

static void
make_stack_key(void)
{
    (void)pthread_key_create(&stack_key, free_stack);
}

int
lw_stack_grow(ThreadStack *ts)
{
    int cap = ts->cap ? ts->cap * 2 : 64;
    FrameRec *recs = PyMem_RawRealloc(ts->recs, (size_t)cap * sizeof(FrameRec));
    if (recs == NULL) {
        return -1;
    }
    if (ts->recs == NULL) {
        pthread_once(&stack_key_once, make_stack_key);
    }
    /* Zeroed: a record's memory part (MemRec.epoch 0) must read as never set. */
    memset(recs + ts->cap, 0, (size_t)(cap - ts->cap) * sizeof(FrameRec));
    ts->recs = recs;
    ts->cap = cap;
    (void)pthread_setspecific(stack_key, recs);
    return 0;
}

/* Fibonacci hashing of a pointer; the low bits of frame addresses are always zero. */
static inline size_t
slot_of(void *key, size_t cap)
{
    return (size_t)(((uintptr_t)key * UINT64_C(11400714819323198485)) >> 32) & (cap - 1);
}

/* Bound on the table. Entries of generators that died suspended are harmless (a new frame
 * at the same address always starts with PY_START, which drops them) and usually go at
 * once because the allocator reuses the address; 3.12+ close() of a generator suspended
 * outside try/with runs no frame, so nothing else removes them. */
#define SUSPEND_MAX 16384

static int
suspend_resize(SuspendTable *t, size_t cap)
{
    Suspended *old = t->items;
    size_t old_cap = t->cap;
    Suspended *items = PyMem_RawCalloc(cap, sizeof(Suspended));
    if (items == NULL) {
        return -1;
    }
    t->items = items;
    t->cap = cap;
    t->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key != NULL) {
            size_t j = slot_of(old[i].key, cap);
            while (items[j].key != NULL) {
                j = (j + 1) & (cap - 1);
            }
            items[j] = old[i];
            t->used++;
        }
    }
    PyMem_RawFree(old);
    return 0;
}

void
lw_suspend_put(SuspendTable *t, void *key, struct CodeEntry *entry, int line, int flags,
               int64_t wait_start)
{
    if (t->cap == 0 || (t->used + 1) * 2 > t->cap) {
        if (t->cap >= SUSPEND_MAX) {
            /* Abandoned frames piled up: forget them all rather than grow without bound. */
            memset(t->items, 0, t->cap * sizeof(Suspended));
            t->used = 0;
        }
        else if (suspend_resize(t, t->cap ? t->cap * 2 : 64) < 0) {
            return;
        }
    }
    size_t i = slot_of(key, t->cap);
    while (t->items[i].key != NULL && t->items[i].key != key) {
        i = (i + 1) & (t->cap - 1);
    }
    if (t->items[i].key == NULL) {
        t->used++;
    }
    t->items[i].key = key;
    t->items[i].entry = entry;
    t->items[i].line = line;
    t->items[i].flags = flags;
    t->items[i].wait_start = wait_start;
}

int
lw_suspend_take(SuspendTable *t, void *key, Suspended *out)
{
    if (t->used == 0) {
        return 0;
    }
    size_t mask = t->cap - 1;
    size_t i = slot_of(key, t->cap);
    while (t->items[i].key != key) {
        if (t->items[i].key == NULL) {
            return 0;
        }
        i = (i + 1) & mask;
    }
    *out = t->items[i];
    /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (t->items[j].key == NULL) {
            break;
        }
        size_t home = slot_of(t->items[j].key, t->cap);
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        int home_in_range = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!home_in_range) {
            t->items[hole] = t->items[j];
            hole = j;
        }
    }
    t->items[hole].key = NULL;
    t->used--;
    return 1;
}

size_t
lw_suspend_cap(void)
{
    return SUSPEND_MAX / 2;
}

void
lw_suspend_clear(SuspendTable *t)
{
    PyMem_RawFree(t->items);
    t->items = NULL;
    t->cap = 0;
    t->used = 0;
}
