/* memtable.c: the lock-free table of traced blocks and their sizes (see memtable.h). */
#include "memtable.h"

#include <stdatomic.h>
#include <sys/mman.h>

/* How far from its hash a block may sit: bounds every insert and every look-up. */
#define LW_MEMTABLE_PROBE 16
#define FIRST_BITS 16    /* 64 Ki entries, 1 MiB */
#define MAX_BITS 30      /* 16 GiB of address space at most, mapped lazily by the kernel */

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1)   /* a removed entry: probes go on past it */

/* The session lives in the low 24 bits of `meta`, the size in the other 40 (blocks of a
 * terabyte or more are entered at that cap). */
#define GEN_BITS 24
#define GEN_MASK ((UINT64_C(1) << GEN_BITS) - 1)
#define SIZE_CAP ((UINT64_C(1) << (64 - GEN_BITS)) - 1)

typedef struct {
    _Atomic uintptr_t key;   /* the block's address, EMPTY or TOMB */
    _Atomic uint64_t meta;   /* size << GEN_BITS | session */
} Entry;

typedef struct Table {
    struct Table *older;     /* the table this one was put in front of, or NULL */
    size_t bytes;            /* mapped length, header included */
    int bits;                /* 1 << bits entries */
    Entry entries[];
} Table;

static _Atomic(Table *) newest;
static atomic_flag growing = ATOMIC_FLAG_INIT;  /* one thread maps a new table at a time */
static _Atomic uint64_t session = 1;
static _Atomic uint64_t untracked;
static _Atomic size_t mapped;

/* Where p's probe starts. Neighbouring blocks get neighbouring slots (pymalloc hands out
 * a pool's blocks in address order, so a line's allocations touch few cache lines of the
 * table); each window of addresses the table spans starts at a hashed offset, so that
 * arenas a window apart do not pile onto the same slots. */
static inline size_t
slot_of(const Table *t, uintptr_t p)
{
    uint64_t window = (uint64_t)p >> (4 + t->bits);
    uint64_t offset = (window * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - t->bits);
    return (size_t)(((uint64_t)p >> 4) + offset) & (((size_t)1 << t->bits) - 1);
}

/* Maps a zeroed table of 1 << bits entries in front of `older`; NULL if mmap fails. */
static Table *
map_table(int bits, Table *older)
{
    size_t bytes = sizeof(Table) + ((size_t)1 << bits) * sizeof(Entry);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return NULL;
    }
    Table *t = mem;
    t->older = older;
    t->bytes = bytes;
    t->bits = bits;
    atomic_fetch_add_explicit(&mapped, bytes, memory_order_relaxed);
    return t;
}

/* Puts p in t if a slot near its hash is free or stale. Returns 1 if it did. */
static int
try_insert(Table *t, uintptr_t p, uint64_t meta, uint64_t gen)
{
    size_t mask = ((size_t)1 << t->bits) - 1;
    size_t i = slot_of(t, p);
    for (int n = 0; n < LW_MEMTABLE_PROBE; n++, i = (i + 1) & mask) {
        Entry *e = &t->entries[i];
        uintptr_t k = atomic_load_explicit(&e->key, memory_order_relaxed);
        int reusable = k == EMPTY || k == TOMB ||
                       (atomic_load_explicit(&e->meta, memory_order_relaxed) & GEN_MASK) != gen;
        if (reusable && atomic_compare_exchange_strong_explicit(
                            &e->key, &k, p, memory_order_acq_rel, memory_order_relaxed)) {
            atomic_store_explicit(&e->meta, meta, memory_order_release);
            return 1;
        }
    }
    return 0;
}

void
lw_memtable_new_session(void)
{
    uint64_t next = (atomic_load(&session) + 1) & GEN_MASK;
    atomic_store(&session, next ? next : 1);
}

int
lw_memtable_insert(void *ptr, size_t n)
{
    uintptr_t p = (uintptr_t)ptr;
    uint64_t gen = atomic_load_explicit(&session, memory_order_relaxed);
    uint64_t size = (uint64_t)n < SIZE_CAP ? (uint64_t)n : SIZE_CAP;
    uint64_t meta = size << GEN_BITS | gen;
    for (;;) {
        Table *front = atomic_load_explicit(&newest, memory_order_acquire);
        for (Table *t = front; t != NULL; t = t->older) {
            if (try_insert(t, p, meta, gen)) {
                return 0;
            }
        }
        /* No room anywhere: one thread maps a bigger table; others do not wait for it. */
        if (atomic_flag_test_and_set_explicit(&growing, memory_order_acquire)) {
            break;
        }
        Table *grown = NULL;
        if (atomic_load_explicit(&newest, memory_order_acquire) == front) {
            int bits = front ? front->bits + 1 : FIRST_BITS;
            grown = bits <= MAX_BITS ? map_table(bits, front) : NULL;
            if (grown != NULL) {
                atomic_store_explicit(&newest, grown, memory_order_release);
            }
        }
        atomic_flag_clear_explicit(&growing, memory_order_release);
        if (grown == NULL && atomic_load_explicit(&newest, memory_order_acquire) == front) {
            break;  /* out of address space: leave the block untracked */
        }
    }
    atomic_fetch_add_explicit(&untracked, 1, memory_order_relaxed);
    return -1;
}

size_t
lw_memtable_remove(void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    if (p == EMPTY || p == TOMB) {
        return 0;
    }
    uint64_t gen = atomic_load_explicit(&session, memory_order_relaxed);
    for (Table *t = atomic_load_explicit(&newest, memory_order_acquire); t != NULL;
         t = t->older) {
        size_t mask = ((size_t)1 << t->bits) - 1;
        size_t i = slot_of(t, p);
        for (int n = 0; n < LW_MEMTABLE_PROBE; n++, i = (i + 1) & mask) {
            Entry *e = &t->entries[i];
            uintptr_t k = atomic_load_explicit(&e->key, memory_order_acquire);
            if (k == EMPTY) {
                break;  /* nothing was ever placed past an empty slot of this run */
            }
            if (k != p) {
                continue;
            }
            uint64_t meta = atomic_load_explicit(&e->meta, memory_order_acquire);
            if ((meta & GEN_MASK) != gen) {
                continue;  /* an earlier session's: not ours to count */
            }
            /* Only the block's owner frees it, so no one else removes this entry. */
            atomic_store_explicit(&e->key, TOMB, memory_order_release);
            return (size_t)(meta >> GEN_BITS);
        }
    }
    return 0;
}

size_t
lw_memtable_mapped(void)
{
    return atomic_load(&mapped);
}

uint64_t
lw_memtable_untracked(void)
{
    return atomic_load(&untracked);
}
