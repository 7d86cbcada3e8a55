/* events.h: what each event does to the line tables, whichever backend delivered it.
 *
 * Both backends (monitoring.c, legacy_trace.c) reduce their events to these calls, with the
 * timer already read once. Nothing here allocates (but for rare stack growth), calls
 * Python or raises.
 */
#ifndef LINEWISE_EVENTS_H
#define LINEWISE_EVENTS_H

#include <string.h>

#include "mem_events.h"
#include "state.h"
#include "timer.h"

/* Adds an await's wait, `ticks`, to `line`'s time in every enabled engine's table for this
 * code: the time only, not its own or counted-once time (other work runs meanwhile). */
static inline void
lw_charge_wait(CodeEntry *e, int line, int64_t ticks)
{
    /* In unsigned arithmetic: any int line, even one CPython's own arithmetic wrapped
     * around, falls outside the table rather than overflowing the subtraction. */
    unsigned int idx = (unsigned int)line - (unsigned int)e->first_line;
    if (idx >= (unsigned int)e->n_lines) {
        return;  /* 0 (no line yet) or outside the code's range */
    }
    for (int i = 0; i < e->n_slots; i++) {
        if (e->slots[i].engine->enabled) {
            e->slots[i].lines[idx].ticks += ticks;
        }
    }
}

/* The highest line number CPython keeps as a cached small int (EngineObject.event_cost_far). */
#define LW_SMALL_LINE 256

/* `ticks` less `events` events' calibrated cost, never below zero. */
static inline int64_t
lw_compensated(int64_t ticks, uint64_t events, int64_t cost)
{
    int64_t overhead = (int64_t)events * cost;
    return ticks > overhead ? ticks - overhead : 0;
}

/* Charges the line the frame `r` has been on since r->last_time, up to `now`, to every
 * enabled engine, and counts a hit on `hit_line` (0: none). The line gets its time (with
 * its callees', line_profiler's meaning), its own time (less the time of the profiled
 * frames pushed above r meanwhile) and, when r is the outermost frame of its code, its
 * counted-once time. An engine with an event cost subtracts the events that fired
 * meanwhile (ThreadStack.events, counted like the clock) times that cost from each. */
static inline void
lw_charge_span(CodeEntry *e, ThreadStack *ts, FrameRec *r, int hit_line, int64_t now)
{
    unsigned int prev = (unsigned int)r->last_line - (unsigned int)e->first_line;  /* as above */
    unsigned int cur = (unsigned int)hit_line - (unsigned int)e->first_line;
    unsigned int n = (unsigned int)e->n_lines;
    int64_t ticks = now - r->last_time;
    int64_t own = ticks - r->child;
    uint64_t events = ts->events - r->last_events;
    uint64_t own_events = events - r->child_events;
    int outer = r->flags & LW_REC_OUTER;
    if (own < 0) {
        own = 0;
    }
    for (int i = 0; i < e->n_slots; i++) {
        LineSlot *slot = &e->slots[i];
        if (!slot->engine->enabled) {
            continue;
        }
        if (prev < n) {
            LineStat *ls = &slot->lines[prev];
            int64_t cost = slot->engine->event_cost;
            int64_t t = ticks, o = own;
            if (LW_UNLIKELY(cost != 0)) {
                if (e->first_line + e->n_lines > LW_SMALL_LINE + 1) {
                    cost = slot->engine->event_cost_far;
                }
                t = lw_compensated(ticks, events, cost);
                o = lw_compensated(own, own_events, cost);
            }
            ls->ticks += t;
            ls->own += o;
            if (outer) {
                ls->outer += t;
            }
        }
        if (cur < n) {
            slot->lines[cur].hits++;
        }
    }
    r->child = 0;
    r->child_events = 0;
}

/* The stack of the thread `tstate`, emptied first if it predates the backend's last start.
 * The cached stack is always of this epoch: lw_backend_start forgets it. */
static inline ThreadStack *
lw_stack(lw_state *st, PyThreadState *tstate)
{
    if (LW_LIKELY(st->last_tstate == tstate && st->last_thread_id == tstate->id)) {
        return st->last_stack;
    }
    ThreadStack *ts = &lw_tstack;
    if (ts->epoch != st->epoch) {
        /* Frames left unseen while the backend was stopped: release the engines their
         * starts counted up (normally none: an engine with decorated code stays armed). */
        if (LW_UNLIKELY(ts->counted > 0)) {
            lw_stack_uncount(ts, 0);
        }
        ts->size = 0;
        ts->counted = 0;
        ts->epoch = st->epoch;
    }
    st->last_tstate = tstate;
    st->last_thread_id = tstate->id;
    st->last_stack = ts;
    return ts;
}

/* Pushes a record; returns it, or NULL when the stack cannot grow (event dropped). */
static inline FrameRec *
lw_push(lw_state *st, ThreadStack *ts, void *key, CodeEntry *e, int line, int64_t now)
{
    if (LW_UNLIKELY(ts->size == ts->cap) && lw_stack_grow(ts) < 0) {
        st->dropped++;
        return NULL;
    }
    FrameRec *r = &ts->recs[ts->size++];
    r->key = key;
    r->entry = e;
    r->last_line = line;
    r->flags = 0;
    r->last_time = now;
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_begin(&r->mem);
    }
    r->start = now;
    r->child = 0;
    r->last_events = ts->events;
    r->start_events = ts->events;
    r->child_events = 0;
    return r;
}

/* Marks `r`, just pushed, LW_REC_OUTER when no record of its code is below it. The code's
 * hint (where its outer record was last pushed) answers in O(1) on the thread that set
 * it: a live record of the code at that index proves one below; any other content means
 * none (every live record of the code sits above the lowest, which set the hint). Only
 * when another thread set it (the same code running on two threads) is the stack
 * searched, down to the nearest record of the code. */
static inline void
lw_mark_outer(ThreadStack *ts, FrameRec *r, CodeEntry *e)
{
    int pos = (int)(r - ts->recs);
    if (LW_LIKELY(e->outer_stack == (void *)ts)) {
        int p = e->outer_pos;
        if (p < pos && ts->recs[p].entry == e) {
            return;
        }
    }
    else if (e->outer_stack != NULL) {
        for (int i = pos - 1; i >= 0; i--) {
            if (ts->recs[i].entry == e) {
                return;
            }
        }
    }
    r->flags |= LW_REC_OUTER;
    e->outer_stack = (void *)ts;
    e->outer_pos = pos;
}

/* Removes the records from index `size` up, counting down the decorated ones. */
static inline void
lw_truncate(ThreadStack *ts, int size)
{
    if (LW_UNLIKELY(ts->counted > 0)) {
        lw_stack_uncount(ts, size);
    }
    ts->size = size;
}

/* Pops `r` and everything above it; its time since it was pushed is the time of a profiled
 * callee to the record below (whose line it ran in). */
static inline void
lw_pop(ThreadStack *ts, FrameRec *r, int64_t now)
{
    int i = (int)(r - ts->recs);
    int64_t start = r->start;
    uint64_t start_events = r->start_events;
    /* Read before: counting a decorated frame's engine down may release it, and what its
     * deallocation runs may grow (move) the stack. */
    lw_truncate(ts, i);
    if (i > 0) {
        FrameRec *below = &ts->recs[i - 1];
        below->child += now - start;
        below->child_events += ts->events - start_events;
    }
}

/* The record of the frame `key`, dropping records above it (frames that left unseen);
 * NULL when the frame is not on the stack. */
static inline FrameRec *
lw_find(ThreadStack *ts, void *key)
{
    int i = ts->size - 1;
    if (LW_LIKELY(i >= 0 && ts->recs[i].key == key)) {
        return &ts->recs[i];
    }
    for (i--; i >= 0; i--) {
        if (ts->recs[i].key == key) {
            lw_truncate(ts, i + 1);
            return &ts->recs[i];
        }
    }
    return NULL;
}

/* A profiled frame starts executing. */
static inline void
lw_on_start(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    if (e->kind != LW_KIND_PLAIN && st->suspended.used) {
        /* A new frame at this address: whatever was parked there belonged to a dead one. */
        Suspended gone;
        (void)lw_suspend_take(&st->suspended, key, &gone);
    }
    ts->events++;
    /* A decorated function's code: its engine goes on before the record is made, so that
     * the record is made as its (memory). */
    EngineObject *counted = NULL;  /* owned, until the record holds it */
    if (LW_UNLIKELY(e->counting > 0)) {
        counted = lw_entry_count_up(e);
    }
    /* No search for a stale record with this key: that would make deep recursion
     * quadratic, and the new record on top is what every later look-up finds first. */
    FrameRec *r = lw_push(st, ts, key, e, 0, now);
    if (r != NULL) {
        lw_mark_outer(ts, r, e);
        if (counted != NULL) {
            r->flags |= LW_REC_COUNTED;
            r->counted = counted;
            ts->counted++;
        }
    }
    else if (counted != NULL) {
        lw_record_count_down(counted);
    }
}

/* A profiled frame reaches a new line. */
static inline void
lw_on_line(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int line, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    ts->events++;
    FrameRec *r = lw_find(ts, key);
    if (LW_UNLIKELY(r == NULL || r->entry != e)) {
        /* Enabled while this frame was running, or the address was reused unseen. */
        if (r != NULL) {
            lw_truncate(ts, (int)(r - ts->recs));
        }
        r = lw_push(st, ts, key, e, 0, now);
        if (r == NULL) {
            return;
        }
        lw_mark_outer(ts, r, e);
    }
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_line(e, &r->mem, r->last_line);
    }
    if (LW_UNLIKELY(r->last_line == 0)) {
        /* Its first line: the time since the frame started (the call's setup) stays its
         * caller's own time, as it is the caller line's time; the callee starts now. */
        r->start = now;
        r->start_events = ts->events;
    }
    lw_charge_span(e, ts, r, line, now);
    r->last_line = line;
    r->last_time = now;
    r->last_events = ts->events;
}

/* A profiled frame returns or is left by an exception. */
static inline void
lw_on_exit(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    ts->events++;
    FrameRec *r = lw_find(ts, key);
    if (r == NULL || r->entry != e) {
        return;
    }
    lw_charge_span(e, ts, r, 0, now);
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_end(e, &r->mem, r->last_line);
    }
    lw_pop(ts, r, now);
}

/* A profiled generator or coroutine frame suspends; `awaiting` when the suspension is an
 * await, whose wait is then charged to the line at resume. */
static inline void
lw_on_yield(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int awaiting, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    ts->events++;
    FrameRec *r = lw_find(ts, key);
    if (r == NULL || r->entry != e) {
        return;
    }
    lw_charge_span(e, ts, r, 0, now);
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_end(e, &r->mem, r->last_line);  /* what runs while suspended is not its */
    }
    lw_suspend_put(&st->suspended, key, e, r->last_line, r->flags & ~(LW_REC_OUTER | LW_REC_COUNTED),
                   awaiting ? now : -1);
    lw_pop(ts, r, now);
}

/* A profiled generator or coroutine frame resumes (after next/send/throw or an await). */
static inline void
lw_on_resume(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    ts->events++;
    Suspended s;
    int line = 0, flags = 0;
    if (st->suspended.used && lw_suspend_take(&st->suspended, key, &s) && s.entry == e) {
        line = s.line;
        flags = s.flags;
        if (s.wait_start >= 0) {
            lw_charge_wait(e, line, now - s.wait_start);
        }
    }
    FrameRec *r = lw_push(st, ts, key, e, line, now);
    if (r != NULL) {
        r->flags = flags;
        lw_mark_outer(ts, r, e);
    }
}

/* Whether a value yielded by an async generator is a `yield` (wrapped for the consumer)
 * rather than an await passing a future up. The wrapper type is private to CPython. */
static inline int
lw_is_asyncgen_yield(PyObject *value)
{
    return value != NULL &&
           strcmp(Py_TYPE(value)->tp_name, "async_generator_wrapped_value") == 0;
}

/* Whether suspending code of this kind with this value is an await. */
static inline int
lw_is_await(CodeEntry *e, PyObject *value)
{
    return e->kind == LW_KIND_COROUTINE ||
           (e->kind == LW_KIND_ASYNCGEN && !lw_is_asyncgen_yield(value));
}

#endif /* LINEWISE_EVENTS_H */
