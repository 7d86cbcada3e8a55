/* memory.h: memory per line: the counters the allocator hooks keep, the records a line
 * boundary reads them into (mem_events.h), and turning the hooks on and off (memory.c).
 *
 * Each thread keeps three running counters (LwMemThread): bytes allocated, live traced
 * bytes (allocated minus freed, frees sized by memtable.h) and the high-water mark of
 * live since the current line began. An allocation updates them and enters its block in
 * the table; nothing else happens per allocation.
 *
 * At each line boundary events.h calls the functions below, which read the counters and
 * charge the line that ended: alloc (the change in bytes allocated), net (the change in
 * live) and peak (the high-water mark above the line's starting level). The mark works as
 * a stack that parallels the frame stack: a frame's record keeps the mark of the context
 * it interrupted (its caller's line), the mark restarts at each line, and when the frame
 * leaves the caller's mark becomes the higher of the two, so a callee's peak counts in
 * its caller line's peak. A generator's record leaves the stack at a yield, so what runs
 * while it is suspended is charged to its consumer, never to the yield line.
 *
 * Nothing here runs unless an engine traces memory (lw_state.mem_engines): time-only
 * profiling pays one predictable branch per event.
 */
#ifndef LINEWISE_MEMORY_H
#define LINEWISE_MEMORY_H

#include "compat.h"
#include <stdint.h>

struct CodeEntry;
struct EngineObject;

/* One thread's counters, written by the allocator hooks (memory.c) on that thread only. */
typedef struct {
    uint64_t alloc;   /* bytes allocated, ever (differences are what count) */
    int64_t live;     /* tracked bytes allocated minus freed by this thread */
    int64_t high;     /* highest `live` since the current line began */
    int depth;        /* > 0 inside one of our hooks: what the wrapped allocator asks of the
                         ones below it (pymalloc of malloc, numpy's of malloc) is not
                         counted twice */
    uint32_t epoch;   /* lw_mem_epoch when `high` was last restarted */
} LwMemThread;

/* initial-exec: reached at a fixed offset from the thread pointer, where the default model
 * of a shared object calls __tls_get_addr on every allocation (7% of a small-object loop).
 * The loader keeps a reserve of static TLS for modules loaded later; this needs 40 bytes. */
#if defined(__GNUC__) || defined(__clang__)
#define LW_TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define LW_TLS_FAST
#endif

extern _Thread_local LwMemThread lw_memtls LW_TLS_FAST;

/* Bumped each time the hooks go in: frame records and thread marks from before are stale. */
extern uint32_t lw_mem_epoch;

/* One line's memory for one engine (a LineSlot's `mem` array, n_lines + 1 long: the last
 * entry holds the function's per-call figures). */
typedef struct MemLine {
    uint64_t alloc;   /* bytes allocated while the line ran, callees included */
    int64_t net;      /* live at the line's ends, end minus start, summed */
    uint64_t peak;    /* highest live above the line's starting level, over its runs */
} MemLine;

/* Kept in each frame record (FrameRec.mem). */
typedef struct {
    uint64_t alloc0;      /* the thread's alloc when the current line began */
    int64_t live0;        /* its live then */
    int64_t outer_high;   /* the mark of the context this frame interrupted */
    int64_t call_high;    /* the highest mark of this call's finished lines */
    uint64_t call_alloc0; /* alloc and live when the call (or resumption) began */
    int64_t call_live0;
    uint32_t epoch;       /* lw_mem_epoch when set: older means not set */
} MemRec;

/* Starts tracing (wrapping the three domains' allocators and numpy's, if loaded). */
int lw_mem_start(void);
/* Stops: puts back what was there (or, if another tool wrapped ours meanwhile, leaves ours
 * in its chain counting nothing). */
int lw_mem_stop(void);
/* numpy has just been imported: wrap its handler too if tracing (the import watcher). */
int lw_mem_numpy_check(void);
/* The module's functions for tests and the shell (memory.c). */
PyObject *lw_mem_diagnostics(PyObject *module, PyObject *unused);

/* numpy's allocation handler (mem_numpy.c): wraps it when numpy is loaded and tracing is
 * on; puts it back. Each returns 0, or -1 with an exception set. */
int lw_numpy_wrap(void);
int lw_numpy_unwrap(void);

/* What the hooks do with a block (memory.c), for numpy's handler and the preloaded
 * native library: counted on this thread while tracing, unless inside another hook of
 * ours. A realloc takes the old block's entry out first (lw_mem_take: its size, 0 when
 * untracked; before the block can be freed and its address given to another thread),
 * then reports the outcome (p NULL when it failed). */
void lw_mem_note_alloc(void *p, size_t n);
void lw_mem_note_free(void *p);
size_t lw_mem_take(void *old);
void lw_mem_note_realloc(void *old, size_t old_size, void *p, size_t n);
extern int lw_mem_active;   /* the hooks count while nonzero */

#endif /* LINEWISE_MEMORY_H */
