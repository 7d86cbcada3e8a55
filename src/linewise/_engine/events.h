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

/* Adds `ticks` to `line` in every enabled engine's table for this code. */
static inline void
lw_charge(CodeEntry *e, int line, int64_t ticks)
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

/* Charges the previous line of the frame and counts a hit on `line`. */
static inline void
lw_charge_and_hit(CodeEntry *e, int prev_line, int64_t ticks, int line)
{
    unsigned int prev = (unsigned int)prev_line - (unsigned int)e->first_line;  /* as above */
    unsigned int cur = (unsigned int)line - (unsigned int)e->first_line;
    unsigned int n = (unsigned int)e->n_lines;
    for (int i = 0; i < e->n_slots; i++) {
        LineSlot *slot = &e->slots[i];
        if (!slot->engine->enabled) {
            continue;
        }
        if (prev < n) {
            slot->lines[prev].ticks += ticks;
        }
        if (cur < n) {
            slot->lines[cur].hits++;
        }
    }
}

/* The stack of the thread `tstate`, emptied first if it predates the backend's last start. */
static inline ThreadStack *
lw_stack(lw_state *st, PyThreadState *tstate)
{
    ThreadStack *ts;
    if (LW_LIKELY(st->last_tstate == tstate && st->last_thread_id == tstate->id)) {
        ts = st->last_stack;
    }
    else {
        ts = &lw_tstack;
        st->last_tstate = tstate;
        st->last_thread_id = tstate->id;
        st->last_stack = ts;
    }
    if (LW_UNLIKELY(ts->epoch != st->epoch)) {
        ts->size = 0;
        ts->epoch = st->epoch;
    }
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
    return r;
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
            ts->size = i + 1;
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
    /* No search for a stale record with this key: that would make deep recursion
     * quadratic, and the new record on top is what every later look-up finds first. */
    (void)lw_push(st, ts, key, e, 0, now);
}

/* A profiled frame reaches a new line. */
static inline void
lw_on_line(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int line, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    FrameRec *r = lw_find(ts, key);
    if (LW_UNLIKELY(r == NULL || r->entry != e)) {
        /* Enabled while this frame was running, or the address was reused unseen. */
        if (r != NULL) {
            ts->size = (int)(r - ts->recs);
        }
        r = lw_push(st, ts, key, e, 0, now);
        if (r == NULL) {
            return;
        }
    }
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_line(e, &r->mem, r->last_line);
    }
    lw_charge_and_hit(e, r->last_line, now - r->last_time, line);
    r->last_line = line;
    r->last_time = now;
}

/* A profiled frame returns or is left by an exception. */
static inline void
lw_on_exit(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    FrameRec *r = lw_find(ts, key);
    if (r == NULL || r->entry != e) {
        return;
    }
    lw_charge(e, r->last_line, now - r->last_time);
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_end(e, &r->mem, r->last_line);
    }
    ts->size = (int)(r - ts->recs);
}

/* A profiled generator or coroutine frame suspends; `awaiting` when the suspension is an
 * await, whose wait is then charged to the line at resume. */
static inline void
lw_on_yield(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int awaiting, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    FrameRec *r = lw_find(ts, key);
    if (r == NULL || r->entry != e) {
        return;
    }
    lw_charge(e, r->last_line, now - r->last_time);
    if (LW_UNLIKELY(st->mem_engines)) {
        lw_mem_end(e, &r->mem, r->last_line);  /* what runs while suspended is not its */
    }
    lw_suspend_put(&st->suspended, key, e, r->last_line, r->flags, awaiting ? now : -1);
    ts->size = (int)(r - ts->recs);
}

/* A profiled generator or coroutine frame resumes (after next/send/throw or an await). */
static inline void
lw_on_resume(lw_state *st, PyThreadState *tstate, void *key, CodeEntry *e, int64_t now)
{
    ThreadStack *ts = lw_stack(st, tstate);
    Suspended s;
    int line = 0, flags = 0;
    if (st->suspended.used && lw_suspend_take(&st->suspended, key, &s) && s.entry == e) {
        line = s.line;
        flags = s.flags;
        if (s.wait_start >= 0) {
            lw_charge(e, line, now - s.wait_start);
        }
    }
    FrameRec *r = lw_push(st, ts, key, e, line, now);
    if (r != NULL) {
        r->flags = flags;
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
