/* mem_events.h: what a line boundary does to the memory figures (see memory.h).
 *
 * events.h calls these only while an engine traces memory. They read this thread's
 * counters, charge the line that ended in every memory engine's slot, and keep the
 * high-water-mark stack in the frame records. No allocation, no Python.
 */
#ifndef LINEWISE_MEM_EVENTS_H
#define LINEWISE_MEM_EVENTS_H

#include "state.h"

/* This thread's counters, their mark restarted if it predates the hooks. */
static inline LwMemThread *
lw_mem_thread(void)
{
    LwMemThread *m = &lw_memtls;
    if (LW_UNLIKELY(m->epoch != lw_mem_epoch)) {
        m->epoch = lw_mem_epoch;
        m->high = m->live;
    }
    return m;
}

/* The frame starts, or resumes, being watched: its call and its first line begin now. */
static inline void
lw_mem_begin(MemRec *r)
{
    LwMemThread *m = lw_mem_thread();
    r->epoch = lw_mem_epoch;
    r->alloc0 = r->call_alloc0 = m->alloc;
    r->live0 = r->call_live0 = m->live;
    r->outer_high = m->high;
    r->call_high = m->live;
    m->high = m->live;
}

static inline uint64_t
lw_mem_above(int64_t high, int64_t base)
{
    return high > base ? (uint64_t)(high - base) : 0;
}

/* Adds figures to entry `idx` (a line's, or n_lines: the call's) of every memory engine
 * counting this code. Sums for alloc and net, the highest for peak. */
static inline void
lw_mem_add(CodeEntry *e, unsigned int idx, uint64_t alloc, int64_t net, uint64_t peak)
{
    for (int i = 0; i < e->n_slots; i++) {
        LineSlot *slot = &e->slots[i];
        if (slot->mem != NULL && slot->engine->enabled) {
            MemLine *ml = &slot->mem[idx];
            ml->alloc += alloc;
            ml->net += net;
            if (peak > ml->peak) {
                ml->peak = peak;
            }
        }
    }
}

/* Ends the frame's current line `line` (0: none yet) and charges it. */
static inline void
lw_mem_finish_line(CodeEntry *e, MemRec *r, LwMemThread *m, int line)
{
    if (m->high > r->call_high) {
        r->call_high = m->high;
    }
    unsigned int idx = (unsigned int)line - (unsigned int)e->first_line;  /* as lw_charge */
    if (idx < (unsigned int)e->n_lines) {
        lw_mem_add(e, idx, m->alloc - r->alloc0, m->live - r->live0,
                   lw_mem_above(m->high, r->live0));
    }
}

/* The frame moves from `line` to another: charges `line`, begins the next. */
static inline void
lw_mem_line(CodeEntry *e, MemRec *r, int line)
{
    LwMemThread *m = lw_mem_thread();
    if (LW_UNLIKELY(r->epoch != lw_mem_epoch)) {
        lw_mem_begin(r);  /* tracing began while this frame ran */
        return;
    }
    lw_mem_finish_line(e, r, m, line);
    r->alloc0 = m->alloc;
    r->live0 = m->live;
    m->high = m->live;
}

/* The frame leaves on `line` (a return, an exception or a yield): charges the line and
 * the call, and gives the interrupted context its mark back, raised by this call's. */
static inline void
lw_mem_end(CodeEntry *e, MemRec *r, int line)
{
    LwMemThread *m = lw_mem_thread();
    if (LW_UNLIKELY(r->epoch != lw_mem_epoch)) {
        return;
    }
    lw_mem_finish_line(e, r, m, line);
    lw_mem_add(e, (unsigned int)e->n_lines, m->alloc - r->call_alloc0,
               m->live - r->call_live0, lw_mem_above(r->call_high, r->call_live0));
    m->high = r->outer_high > r->call_high ? r->outer_high : r->call_high;
}

/* sys.monitoring passes line numbers and offsets as int objects, made for the event when
 * above the small ints: not the program's allocations. The object's block leaves the
 * table and its bytes the counters, before the line boundary reads them (its free then
 * counts nothing). */
static inline void
lw_mem_forget_event_args(lw_state *st, PyObject *const *args, Py_ssize_t nargs)
{
    if (LW_UNLIKELY(st->mem_engines) && nargs >= 2 && PyLong_CheckExact(args[1])) {
#if PY_VERSION_HEX >= 0x030C0000
        PyLongObject *n = (PyLongObject *)args[1];
        if (PyUnstable_Long_IsCompact(n) && PyUnstable_Long_CompactValue(n) <= 256) {
            return;  /* one of the interpreter's cached small ints: never made per event */
        }
#endif
        size_t made = lw_mem_take(args[1]);
        LwMemThread *m = &lw_memtls;
        if (m->high == m->live) {
            m->high -= (int64_t)made;  /* the mark is now, the object included */
        }
        m->alloc -= made;
        m->live -= (int64_t)made;
    }
}

#endif /* LINEWISE_MEM_EVENTS_H */
