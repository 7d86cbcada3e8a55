/* legacy_trace.c: the legacy backend's trace function (legacy.h): counting each event of
 * profiled code, and passing every event on to the tracer behind linewise's hook.
 *
 * The common case (a thread with no other tracer, the backend on) is trace() ->
 * trace_plain() -> events.h, all in this file so that it inlines into one function.
 */
#include "events.h"
#include "legacy.h"

#ifdef LINEWISE_NULL_HOOK
/* Benchmark floor only (compiled out otherwise): a sink the timer reading cannot be
 * optimised away into. */
volatile int64_t lw_legacy_null_sink;
#endif

#if !LW_FRAME_STATE_KNOWN
/* Whether the frame's last instruction is a YIELD_VALUE or resuming RESUME (3.11+). */
static inline int
at_yield_point(PyFrameObject *frame, CodeEntry *e)
{
    int lasti = lw_frame_lasti(frame);
    return lasti >= 0 && lasti / 2 < e->n_yield_map && e->yield_map[lasti / 2];
}
#endif

static inline int
is_resume(PyFrameObject *frame, CodeEntry *e)
{
#if LW_FRAME_STATE_KNOWN
    (void)e;
    return lw_frame_has_started(frame);
#else
    return at_yield_point(frame, e);
#endif
}

static inline int
is_yield(PyFrameObject *frame, CodeEntry *e)
{
#if LW_FRAME_STATE_KNOWN
    (void)e;
    return lw_frame_is_suspended(frame);
#else
    return at_yield_point(frame, e);
#endif
}

/* Counts one event of a profiled frame. */
static inline void
count(lw_state *st, PyThreadState *tstate, PyFrameObject *frame, CodeEntry *e, int what,
      PyObject *arg, int64_t now)
{
    switch (what) {
    case PyTrace_LINE:
        lw_on_line(st, tstate, frame, e, lw_frame_line(frame), now);
        break;
    case PyTrace_CALL:
        if (e->kind != LW_KIND_PLAIN && is_resume(frame, e)) {
            lw_on_resume(st, tstate, frame, e, now);
            /* Its lines may have been switched off while its code was not profiled. */
            lw_frame_set_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 1);
        }
        else {
            lw_on_start(st, tstate, frame, e, now);
        }
        break;
    case PyTrace_RETURN:
        /* arg is NULL when an exception leaves the frame. */
        if (e->kind != LW_KIND_PLAIN && arg != NULL && is_yield(frame, e)) {
            lw_on_yield(st, tstate, frame, e, lw_is_await(e, arg), now);
        }
        else {
            lw_on_exit(st, tstate, frame, e, now);
        }
        break;
    default:
        break;
    }
}

/* An event in a thread with no other tracer. Always inlined: the split of legacy.c left
 * GCC (3.13's build) calling it out of line from trace(), one more call on every event. */
static LW_ALWAYS_INLINE void
trace_plain(lw_state *st, PyFrameObject *frame, int what, PyObject *arg, int64_t now)
{
    PyCodeObject *code = lw_frame_code(frame);  /* borrowed */
    CodeEntry *e = lw_code_entry(st->extra_index, (PyObject *)code);
    if (e == NULL || !e->active) {
        if (what == PyTrace_CALL) {
            lw_frame_set_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 0);
        }
        else if (what == PyTrace_RETURN && (code->co_flags & LW_CO_SUSPENDABLE)) {
            /* A generator's frame outlives this event: leave its lines as CPython made
             * them, for whoever traces it after a resume (a debugger after disable()). */
            lw_frame_set_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 1);
        }
        return;
    }
    count(st, PyThreadState_Get(), frame, e, what, arg, now);
}


/* An event in a thread with another tracer behind linewise: count it, then pass it on.
 * Returns what the other tracer returned. */
static int
trace_chained(lw_state *st, PyObject *module, PyThreadState *tstate, Tracer next,
              PyFrameObject *frame, int what, PyObject *arg, int64_t now)
{
    CodeEntry *e = lw_code_entry(st->extra_index, (PyObject *)lw_frame_code(frame));
    int mine = e != NULL && e->active;
    int top = -1;  /* index of this frame's record, when it is on top */
    int was_quiet = 0;
    if (mine) {
        ThreadStack *ts = lw_stack(st, tstate);
        was_quiet = ts->size > 0 && ts->recs[ts->size - 1].key == (void *)frame &&
                    (ts->recs[ts->size - 1].flags & LW_REC_CHAIN_QUIET);
        count(st, tstate, frame, e, what, arg, now);
        ts = lw_stack(st, tstate);
        if (ts->size > 0 && ts->recs[ts->size - 1].key == (void *)frame) {
            top = ts->size - 1;
        }
    }
    if (was_quiet && what == PyTrace_RETURN) {
        /* Leaving (or suspending): the frame's lines go back to what the tracer chose.
         * A resume switches them on again (count()). */
        lw_frame_set_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 0);
    }
    int64_t before = lw_timer_now();
    int status = 0;
    int quiet = top >= 0 && what == PyTrace_LINE &&
                (lw_stack(st, tstate)->recs[top].flags & LW_REC_CHAIN_QUIET);
    if (!quiet) {
        status = next.func(next.obj, frame, what, arg);
    }
    if (top >= 0 && !quiet && what != PyTrace_RETURN && status == 0) {
        /* The other tracer may have switched this frame's lines off, at any event it
         * saw; linewise needs them, and keeps them from it. */
        ThreadStack *ts = lw_stack(st, tstate);
        if (top < ts->size && ts->recs[top].key == (void *)frame) {
            if (!lw_frame_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines)) {
                lw_frame_set_lines(frame, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 1);
                ts->recs[top].flags |= LW_REC_CHAIN_QUIET;  /* kept across yields */
            }
        }
    }
    if (LW_UNLIKELY(tstate->c_tracefunc != lw_legacy_trace) && st->legacy.on) {
        /* It replaced the thread's tracer (coverage's tracer stopping or swapping itself,
         * a Python tracer failing): go back in front of the new one. */
        lw_legacy_adopt(st, module, tstate, 1);
    }
    if (top >= 0 && what == PyTrace_LINE) {
        /* The other tracer's time is not the line's. */
        ThreadStack *ts = lw_stack(st, tstate);
        if (top < ts->size && ts->recs[top].key == (void *)frame) {
            ts->recs[top].last_time += lw_timer_now() - before;
        }
    }
    return status;
}

/* Every event but the common one (a thread with no other tracer, backend on). */
static int
trace_slow(HookObject *h, PyFrameObject *frame, int what, PyObject *arg, int64_t now)
{
    lw_state *st = h->st;
    PyThreadState *tstate = PyThreadState_Get();
    if (!st->legacy.on) {
        return lw_legacy_retire(st, h, tstate, frame, what, arg);
    }
    PyObject *module = h->module;  /* borrowed: h is alive for the whole call */
    Py_INCREF(h);
    int status = 0;
    Tracer next = lw_legacy_behind(st, h, tstate);
    Py_XINCREF(next.obj);  /* may be borrowed from st->legacy.saved, and hook_for allocates */
    if (h->kind == HOOK_BOOTSTRAP) {
        /* This thread's first event since start: give it a hook of its own. */
        PyObject *own = lw_legacy_hook_for(st, module, next);  /* owned */
        if (own != NULL && lw_legacy_install_here(lw_legacy_trace, own) == 0) {
            Py_SETREF(h, (HookObject *)own);
        }
        else {
            PyErr_Clear();
            Py_XDECREF(own);  /* bootstrap stays: serve this event with `next` directly */
        }
    }
    if (next.func != NULL) {
        status = trace_chained(st, module, tstate, next, frame, what, arg, now);
    }
    else {
        trace_plain(st, frame, what, arg, now);
    }
    Py_XDECREF(next.obj);
    Py_DECREF(h);
    return status;
}

/* The trace function. Its object is a HookObject: that is what CPython hands back, and
 * what sys.gettrace() would show (linewise's own sys.gettrace shows the tracer behind it
 * instead). Never fails by itself: a failing C trace function switches tracing off;
 * only the chained tracer's failure is passed on. */
int
lw_legacy_trace(PyObject *hook, PyFrameObject *frame, int what, PyObject *arg)
{
#ifdef LINEWISE_NULL_HOOK
    lw_legacy_null_sink = lw_timer_now();
    (void)hook, (void)frame, (void)what, (void)arg, (void)trace_slow;
    return 0;
#else
    int64_t now = lw_timer_now();
    HookObject *h = (HookObject *)hook;
    lw_state *st = h->st;
    if (LW_UNLIKELY(h->kind != HOOK_PLAIN || !st->legacy.on)) {
        return trace_slow(h, frame, what, arg, now);
    }
    trace_plain(st, frame, what, arg, now);
    return 0;
#endif
}
