/* linetable.h: per-code line tables, shared by every profiler in the process.
 *
 * Each profiled code object carries a CodeEntry in one of its extra slots, so the hot
 * path finds it in O(1) without hashing or allocating. The entry holds one LineSlot per
 * engine (profiler) that registered the code: several profilers may watch the same
 * function, each with its own counts. Lines are a flat array indexed by
 * lineno - first_line.
 */
#ifndef LINEWISE_LINETABLE_H
#define LINEWISE_LINETABLE_H

#include "compat.h"
#include <stdint.h>

struct EngineObject;
struct MemLine;

/* One line's totals for one engine. */
typedef struct {
    uint64_t hits;
    int64_t ticks;   /* timer ticks charged to the line, see timer.h */
    int64_t own;     /* ticks minus those inside profiled frames it started (callees) */
    int64_t outer;   /* ticks charged while its frame was the outermost of its code on
                        its thread: summed over a function's lines, each moment once */
} LineStat;

typedef struct {
    struct EngineObject *engine;  /* borrowed: the engine removes its slot before it dies */
    LineStat *lines;              /* owned, CodeEntry.n_lines long */
    struct MemLine *mem;          /* owned, n_lines + 1 long (memory.h), or NULL: the
                                     engine does not trace memory */
    int counts;                   /* the engine is counted up while a frame of this code
                                     runs: the code of a function its decorator returned
                                     (engine.c lw_entry_count_up); one slot at most */
} LineSlot;

/* How a code object suspends, which decides what a yield means for timing. */
enum {
    LW_KIND_PLAIN = 0,
    LW_KIND_GENERATOR,     /* suspended time belongs to the consumer */
    LW_KIND_COROUTINE,     /* an await's wait is charged to the await line */
    LW_KIND_ASYNCGEN,      /* await: charged; yield: the consumer's */
};

typedef struct CodeEntry {
    PyObject *code;          /* borrowed: the entry lives inside the code object's extra slot */
    int first_line;          /* lowest line of the code (co_firstlineno, the decorator's line),
                                at least 1: 0 is "no line yet" in the frame records */
    int n_lines;             /* lines covered: first_line .. first_line + n_lines - 1 */
    int kind;                /* LW_KIND_* */
    int active;              /* enabled engines holding this code; events are on while > 0 */
    int counting;            /* slots with `counts` set (0 or 1): frames of this code count
                                that slot's engine up */
    int n_slots;
    int cap_slots;
    LineSlot *slots;         /* owned */
    /* Where the outermost frame of this code sits on a thread's stack, as last pushed
     * (events.h lw_mark_outer): a hint checked against that stack, never trusted. */
    void *outer_stack;       /* the ThreadStack, compared only */
    int outer_pos;           /* index of that record */
    /* Legacy backend only: byte offsets (/2) that are YIELD_VALUE or a resuming RESUME, to
     * tell a yield from a return and a resume from a start (3.11+: no frame state in API). */
    Py_ssize_t n_yield_map;
    unsigned char *yield_map;  /* owned, may be NULL */
} CodeEntry;

/* The most lines one code's table spans (last - first + 1): the table is a dense array of
 * 16 bytes a line for each profiler. Code spanning more is skipped (profiler.py warns). */
#define LW_MAX_LINE_SPAN 10000000

/* Requests the code-extra index for this interpreter. Returns 0, or -1 with an exception. */
int lw_linetable_init(Py_ssize_t *index);

/* The entry of a code object, or NULL when it has none (never sets an exception). */
static inline CodeEntry *
lw_code_entry(Py_ssize_t index, PyObject *code)
{
#if PY_VERSION_HEX < 0x030F0000
    /* Read in place, as PyUnstable_Code_GetExtra does, which would be a call into
     * libpython on every event. co_extra is a public member of PyCodeObject, and what it
     * points to has been CPython's _PyCodeObjectExtra, a size and an array, from 3.6
     * through 3.14; a later version goes through the API until checked. Both backends
     * pass real code objects only (a frame's code, sys.monitoring's first argument). */
    typedef struct {
        Py_ssize_t size;
        void *extras[1];
    } lw_code_extras;
    const lw_code_extras *x = (const lw_code_extras *)((PyCodeObject *)code)->co_extra;
    return (x != NULL && index < x->size) ? (CodeEntry *)x->extras[index] : NULL;
#else
    void *extra = NULL;
    if (LW_UNLIKELY(LW_Code_GetExtra(code, index, &extra) < 0)) {
        PyErr_Clear();
        return NULL;
    }
    return (CodeEntry *)extra;
#endif
}

/* Gets or creates the entry for `code`, covering lines first..last. `yield_offsets` is a
 * sequence of byte offsets, or None. Returns the entry, or NULL with an exception set. */
CodeEntry *lw_code_entry_ensure(Py_ssize_t index, PyObject *code, int first_line,
                                int last_line, PyObject *yield_offsets);

/* The slot of `engine` in `entry`, or NULL. */
LineSlot *lw_entry_slot(CodeEntry *entry, struct EngineObject *engine);

/* Adds a zeroed slot for `engine`. Returns 0, or -1 with an exception set. */
int lw_entry_add_slot(CodeEntry *entry, struct EngineObject *engine);

/* Removes and frees the slot of `engine`, if any. */
void lw_entry_remove_slot(CodeEntry *entry, struct EngineObject *engine);

#endif /* LINEWISE_LINETABLE_H */
