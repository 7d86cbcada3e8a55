/* legacy.c: the C trace-hook backend (PyEval_SetTrace), for 3.10 and 3.11, and for 3.12+
 * when LINEWISE_BACKEND=legacy.
 *
 * A thread has one C trace function, and other tools want it too: coverage.py, debuggers,
 * the user's sys.settrace function. So linewise's hook chains: each thread gets a hook
 * object of its own that remembers the tracer the thread had, and passes every event on
 * to it after counting. While the hook is installed, sys.settrace and sys.gettrace are
 * replaced by versions that set and show the tracer behind the hook, so a debugger
 * started inside a profiled function goes behind linewise rather than replacing it; a
 * tracer that swaps itself while handling an event (coverage does) is picked up after
 * the event.
 *
 * Installation: every thread gets the shared `bootstrap` hook at start and exchanges it
 * for its own on its first event (only the thread itself can find out what follows it
 * cheaply, and 3.13 can set the trace function of all threads but not of another one);
 * new threads get it through threading.settrace. At stop each thread gets back the
 * tracer behind its hook: directly where CPython lets us set another thread's trace
 * function (through 3.12), else by the thread itself at its next event.
 *
 * A frame of unprofiled code in a thread with no other tracer has its line events turned
 * off at its call event, so it pays one call per function entry and nothing per line;
 * they are turned back on wherever a tracer may want them again.
 */
#include "events.h"

#define LW_CO_SUSPENDABLE (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)

enum {
    HOOK_PLAIN,      /* no other tracer in this thread */
    HOOK_CHAIN,      /* events are passed on to func(obj, ...) */
    HOOK_BOOTSTRAP,  /* not yet exchanged for the thread's own */
};

typedef struct {
    PyObject_HEAD
    lw_state *st;       /* the module's state (the module is kept alive below) */
    PyObject *module;   /* owned */
    int kind;           /* HOOK_* */
    Py_tracefunc func;  /* HOOK_CHAIN: the tracer behind this hook */
    PyObject *obj;      /* owned: its object (may be NULL), for HOOK_CHAIN */
    int stuck;          /* CPython refused to take it out (an audit hook): it only passes
                           events on, without retrying */
} HookObject;

/* A C tracer: function and object (borrowed). func NULL means none. */
typedef struct {
    Py_tracefunc func;
    PyObject *obj;
} Tracer;

static int trace(PyObject *hook, PyFrameObject *frame, int what, PyObject *arg);

#ifdef LINEWISE_NULL_HOOK
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
            lw_frame_set_lines(frame, st->lines_offset, st->str_f_trace_lines, 1);
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

/* An event in a thread with no other tracer. */
static inline void
trace_plain(lw_state *st, PyFrameObject *frame, int what, PyObject *arg, int64_t now)
{
    PyCodeObject *code = lw_frame_code(frame);  /* borrowed */
    CodeEntry *e = lw_code_entry(st->extra_index, (PyObject *)code);
    if (e == NULL || !e->active) {
        if (what == PyTrace_CALL) {
            lw_frame_set_lines(frame, st->lines_offset, st->str_f_trace_lines, 0);
        }
        else if (what == PyTrace_RETURN && (code->co_flags & LW_CO_SUSPENDABLE)) {
            /* A generator's frame outlives this event: leave its lines as CPython made
             * them, for whoever traces it after a resume (a debugger after disable()). */
            lw_frame_set_lines(frame, st->lines_offset, st->str_f_trace_lines, 1);
        }
        return;
    }
    count(st, PyThreadState_Get(), frame, e, what, arg, now);
}

/* -- hook objects -------------------------------------------------------------------- */

static inline int
is_hook(lw_state *st, PyObject *obj)
{
    return obj != NULL && Py_TYPE(obj) == st->hook_type;
}

/* What thread `ts` had before start, or NULL. */
static SavedTrace *
saved_for(lw_state *st, PyThreadState *ts)
{
    for (Py_ssize_t i = 0; i < st->n_saved; i++) {
        if (st->saved[i].tstate == ts && st->saved[i].thread_id == ts->id) {
            return &st->saved[i];
        }
    }
    return NULL;
}

/* The tracer behind hook `h` in thread `ts` (never linewise's own). */
static Tracer
behind(lw_state *st, HookObject *h, PyThreadState *ts)
{
    Tracer t = {NULL, NULL};
    if (h->kind == HOOK_CHAIN) {
        t.func = h->func;
        t.obj = h->obj;
    }
    else if (h->kind == HOOK_BOOTSTRAP) {
        SavedTrace *s = saved_for(st, ts);
        if (s != NULL) {
            t.func = s->func;
            t.obj = s->obj;
        }
    }
    return t;
}

/* `t` as thread `ts` runs it, looking through linewise's hook: installed the C way, or
 * given to sys.settrace past linewise's replacement (then CPython's trampoline calls it). */
static Tracer
look_through(lw_state *st, Tracer t, PyThreadState *ts)
{
    if (is_hook(st, t.obj)) {
        return behind(st, (HookObject *)t.obj, ts);  /* never a hook itself */
    }
    return t;
}

/* The tracer a thread runs, looking through linewise's hook. */
static Tracer
thread_tracer(lw_state *st, PyThreadState *ts)
{
    Tracer t = {ts->c_tracefunc, ts->c_traceobj};
    return look_through(st, t, ts);
}

/* A new hook (owned), or NULL with an exception. */
static PyObject *
new_hook(lw_state *st, PyObject *module, int kind, Tracer behind_it)
{
    HookObject *h = PyObject_GC_New(HookObject, st->hook_type);
    if (h == NULL) {
        return NULL;
    }
    h->st = st;
    h->module = Py_NewRef(module);
    h->kind = kind;
    h->func = behind_it.func;
    h->obj = Py_XNewRef(behind_it.obj);
    h->stuck = 0;
    PyObject_GC_Track(h);
    return (PyObject *)h;
}

/* The hook for this thread, whose tracer is `t` (owned), or NULL with an exception. */
static PyObject *
hook_for(lw_state *st, PyObject *module, Tracer t)
{
    t = look_through(st, t, PyThreadState_Get());
    if (t.func == NULL || t.func == trace) {
        return Py_NewRef(st->plain);
    }
    return new_hook(st, module, HOOK_CHAIN, t);
}

/* Sets this thread's C trace function. Returns 0, or -1 with an exception when CPython
 * refused (an audit hook). PyEval_SetTrace reports that as unraisable and returns nothing;
 * through 3.12 the thread-state variant returns it, and 3.13 gets the audit asked first. */
static int
set_trace_here(Py_tracefunc func, PyObject *obj)
{
#if LW_HAVE_SETTRACE_TSTATE
    return _PyEval_SetTrace(PyThreadState_Get(), func, obj);
#else
    if (PySys_Audit("sys.settrace", NULL) < 0) {
        return -1;
    }
    PyEval_SetTrace(func, obj);
    return 0;
#endif
}

/* set_trace_here() without disturbing a pending exception. Returns 0, or -1 (no exception
 * set) when CPython refused. */
static int
install_here(Py_tracefunc func, PyObject *obj)
{
    PyObject *pending = lw_err_save();  /* owned */
    /* 3.10 releases the old object before taking the new one, which it may own. */
    Py_XINCREF(obj);
    int status = set_trace_here(func, obj);
    Py_XDECREF(obj);
    lw_err_restore(pending);
    return status;
}

/* Walks the frames of thread `ts`'s stack setting their line events: on in all of them
 * (they may have been switched off while no other tracer wanted them), or with
 * `quiet_only` (this thread) off again in the running profiled frames where the tracer
 * behind linewise had switched them off (LW_REC_CHAIN_QUIET), as that tracer is about to
 * get the thread back. Records are matched by address against live frames only. */
static void
set_stack_lines(lw_state *st, PyThreadState *ts, int quiet_only)
{
    ThreadStack *stack = &lw_tstack;
    if (quiet_only && (stack->epoch != st->epoch || stack->size == 0)) {
        return;
    }
    PyObject *pending = lw_err_save();              /* owned */
    PyFrameObject *f = PyThreadState_GetFrame(ts);  /* owned */
    while (f != NULL) {
        if (!quiet_only) {
            lw_frame_set_lines(f, st->lines_offset, st->str_f_trace_lines, 1);
        }
        for (int i = 0; quiet_only && i < stack->size; i++) {
            if (stack->recs[i].key == (void *)f && (stack->recs[i].flags & LW_REC_CHAIN_QUIET)) {
                lw_frame_set_lines(f, st->lines_offset, st->str_f_trace_lines, 0);
            }
        }
        PyFrameObject *back = PyFrame_GetBack(f);  /* owned */
        Py_DECREF(f);
        f = back;
    }
    lw_err_restore(pending);
}

static void
lines_back_on(lw_state *st, PyThreadState *ts)
{
    set_stack_lines(st, ts, 0);
}

static void
lines_back_off(lw_state *st)
{
    set_stack_lines(st, PyThreadState_Get(), 1);
}

/* This thread's profiled frames forget what the tracer behind linewise wanted of their
 * line events: the tracer changed. */
static void
forget_quiet(lw_state *st)
{
    ThreadStack *ts = &lw_tstack;
    if (ts->epoch == st->epoch) {
        for (int i = 0; i < ts->size; i++) {
            ts->recs[i].flags &= ~LW_REC_CHAIN_QUIET;
        }
    }
}

/* Whether `frame` is a running profiled frame of this thread whose line events the tracer
 * behind linewise switched off. */
static int
is_quiet(lw_state *st, PyFrameObject *frame)
{
    ThreadStack *ts = &lw_tstack;
    if (ts->epoch != st->epoch) {
        return 0;
    }
    for (int i = ts->size - 1; i >= 0; i--) {
        if (ts->recs[i].key == (void *)frame) {
            return (ts->recs[i].flags & LW_REC_CHAIN_QUIET) != 0;
        }
    }
    return 0;
}

/* Puts linewise's hook back in this thread, in front of whatever tracer it has now (which
 * someone installed over the hook). `had_other` says whether a tracer other than
 * linewise was there before: if not, line events turned off meanwhile go back on. */
static void
adopt(lw_state *st, PyObject *module, PyThreadState *tstate, int had_other)
{
    Tracer now = {tstate->c_tracefunc, tstate->c_traceobj};
    PyObject *pending = lw_err_save();            /* owned */
    PyObject *hook = hook_for(st, module, now);   /* owned */
    if (hook == NULL || install_here(trace, hook) < 0) {
        st->dropped++;  /* leave theirs in place: linewise stops seeing this thread */
    }
    else if (now.func != NULL && !had_other) {
        lines_back_on(st, tstate);
    }
    forget_quiet(st);
    Py_XDECREF(hook);
    lw_err_restore(pending);
}

static void clear_saved(lw_state *st);

/* Drops thread `ts`'s saved tracer (it has it back); frees the table with the last one. */
static void
forget_saved(lw_state *st, PyThreadState *ts)
{
    SavedTrace *s = saved_for(st, ts);
    if (s == NULL) {
        return;
    }
    s->tstate = NULL;
    int last = st->n_unresolved > 0 && --st->n_unresolved == 0;
    uint64_t generation = st->saved_generation;
    Py_CLEAR(s->obj);  /* may run Python code (even a new start): s is not used after */
    if (last && st->saved_generation == generation) {
        clear_saved(st);
    }
}

/* Gives this thread back the tracer behind hook `h` (the backend stopped since the hook was
 * installed) and passes it the event. */
static int
retire(lw_state *st, HookObject *h, PyThreadState *tstate, PyFrameObject *frame, int what,
       PyObject *arg)
{
    Tracer t = behind(st, h, tstate);
    Py_INCREF(h);        /* the thread's reference goes at the swap */
    Py_XINCREF(t.obj);
    int status = 0;
    int quiet = what == PyTrace_LINE && is_quiet(st, frame);
    if (h->stuck || install_here(t.func, t.obj) < 0) {
        h->stuck = 1;  /* refused: stay, passing events on */
    }
    else {
        if (t.func == NULL) {
            lines_back_on(st, tstate);
        }
        else {
            lines_back_off(st);
        }
        if (h->kind == HOOK_BOOTSTRAP) {
            forget_saved(st, tstate);
        }
    }
    if (t.func != NULL && !quiet) {
        status = t.func(t.obj, frame, what, arg);
    }
    Py_XDECREF(t.obj);
    Py_DECREF(h);
    return status;
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
        lw_frame_set_lines(frame, st->lines_offset, st->str_f_trace_lines, 0);
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
            if (!lw_frame_lines(frame, st->lines_offset, st->str_f_trace_lines)) {
                lw_frame_set_lines(frame, st->lines_offset, st->str_f_trace_lines, 1);
                ts->recs[top].flags |= LW_REC_CHAIN_QUIET;  /* kept across yields */
            }
        }
    }
    if (LW_UNLIKELY(tstate->c_tracefunc != trace) && st->legacy_on) {
        /* It replaced the thread's tracer (coverage's tracer stopping or swapping itself,
         * a Python tracer failing): go back in front of the new one. */
        adopt(st, module, tstate, 1);
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
    if (!st->legacy_on) {
        return retire(st, h, tstate, frame, what, arg);
    }
    PyObject *module = h->module;  /* borrowed: h is alive for the whole call */
    Py_INCREF(h);
    int status = 0;
    Tracer next = behind(st, h, tstate);
    Py_XINCREF(next.obj);  /* may be borrowed from st->saved, and hook_for allocates */
    if (h->kind == HOOK_BOOTSTRAP) {
        /* This thread's first event since start: give it a hook of its own. */
        PyObject *own = hook_for(st, module, next);  /* owned */
        if (own != NULL && install_here(trace, own) == 0) {
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
static int
trace(PyObject *hook, PyFrameObject *frame, int what, PyObject *arg)
{
#ifdef LINEWISE_NULL_HOOK
    lw_legacy_null_sink = lw_timer_now();
    (void)hook, (void)frame, (void)what, (void)arg, (void)trace_slow;
    return 0;
#else
    int64_t now = lw_timer_now();
    HookObject *h = (HookObject *)hook;
    lw_state *st = h->st;
    if (LW_UNLIKELY(h->kind != HOOK_PLAIN || !st->legacy_on)) {
        return trace_slow(h, frame, what, arg, now);
    }
    trace_plain(st, frame, what, arg, now);
    return 0;
#endif
}

/* -- sys.settrace while the hook is installed ---------------------------------------- */

/* Set while this thread is inside linewise's sys.settrace/gettrace: re-entered (through a
 * tool that wrapped them), they call the ones sys had at import instead of looping. */
static _Thread_local int in_sys_hook;

static PyObject *
call_settrace(lw_state *st, PyObject *f)
{
    PyObject *target = in_sys_hook ? st->builtin_settrace : st->orig_settrace;  /* borrowed */
    if (target == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: sys.settrace is gone");
        return NULL;
    }
    in_sys_hook++;
    PyObject *result = PyObject_CallOneArg(target, f);
    in_sys_hook--;
    return result;
}

/* Makes `f` this thread's tracer behind linewise's hook. Returns 0, or -1 with an
 * exception (from the original sys.settrace). */
static int
settrace_behind(lw_state *st, PyObject *module, PyObject *f)
{
    PyThreadState *tstate = PyThreadState_Get();
    int had_other = thread_tracer(st, tstate).func != NULL;
    if (is_hook(st, f)) {
        HookObject *h = (HookObject *)f;
        SavedTrace *s = saved_for(st, tstate);
        if (h->kind == HOOK_BOOTSTRAP && (s == NULL || s->func == NULL)) {
            /* threading's hook on a new thread (or on one started just before enable():
             * it may read threading's hook after start() returned): what threading had
             * before linewise goes behind it, as it would have been the thread's tracer. */
            PyObject *prev = st->saved_threading_trace;
            if (prev != NULL && prev != Py_None) {
                return settrace_behind(st, module, prev);
            }
            (void)install_here(trace, st->plain);
            return 0;
        }
        (void)install_here(trace, f);
        return 0;
    }
    PyObject *result = call_settrace(st, f);  /* owned */
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    if (tstate->c_tracefunc != trace && st->legacy_on) {
        adopt(st, module, tstate, had_other);
    }
    forget_quiet(st);
    return 0;
}

static PyObject *
my_settrace(PyObject *module, PyObject *f)
{
    lw_state *st = lw_get_state(module);
    if (!st->legacy_on || in_sys_hook) {
        return call_settrace(st, f);
    }
    if (settrace_behind(st, module, f) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
my_gettrace(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    lw_state *st = lw_get_state(module);
    PyThreadState *tstate = PyThreadState_Get();
    if (!st->legacy_on || tstate->c_tracefunc != trace || in_sys_hook) {
        PyObject *target = in_sys_hook ? st->builtin_gettrace : st->orig_gettrace;
        if (target == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "linewise: sys.gettrace is gone");
            return NULL;
        }
        in_sys_hook++;
        PyObject *result = PyObject_CallNoArgs(target);
        in_sys_hook--;
        return result;
    }
    Tracer t = thread_tracer(st, tstate);
    if (t.func == NULL || t.obj == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(t.obj);
}

PyDoc_STRVAR(my_settrace_doc,
"settrace($module, function, /)\n--\n\n"
"sys.settrace while linewise's legacy backend is enabled: sets this thread's trace\n"
"function behind linewise's hook, which passes every event on to it.");

PyDoc_STRVAR(my_gettrace_doc,
"gettrace($module, /)\n--\n\n"
"sys.gettrace while linewise's legacy backend is enabled: the trace function behind\n"
"linewise's hook in this thread.");

static PyMethodDef my_settrace_def = {"settrace", my_settrace, METH_O, my_settrace_doc};
static PyMethodDef my_gettrace_def = {"gettrace", my_gettrace, METH_NOARGS, my_gettrace_doc};

/* -- the hook as a Python trace function --------------------------------------------- */

/* hook(frame, event, arg): the hook called the Python way, because it was given to
 * sys.settrace around linewise's replacement (by threading for a new thread, or by a
 * program that saved an old sys.gettrace()). Only 'call' events reach a global trace
 * function. */
static PyObject *
hook_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    HookObject *h = (HookObject *)self;
    lw_state *st = h->st;
    PyObject *frame, *event, *arg;  /* borrowed */
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) ||
        !PyArg_UnpackTuple(args, "trace", 3, 3, &frame, &event, &arg)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "trace() takes no keyword arguments");
        }
        return NULL;
    }
    if (!PyFrame_Check(frame)) {
        PyErr_SetString(PyExc_TypeError, "trace(): the first argument must be a frame");
        return NULL;
    }
    if (!PyUnicode_Check(event) || PyUnicode_CompareWithASCIIString(event, "call") != 0) {
        Py_RETURN_NONE;
    }
    PyThreadState *tstate = PyThreadState_Get();
    int status;
    Py_INCREF(self);
    if (st->legacy_on) {
        /* Take the C way back, then serve this event from there. */
        if (settrace_behind(st, h->module, self) < 0) {
            Py_DECREF(self);
            return NULL;
        }
        if (tstate->c_tracefunc == trace) {
            status = trace(tstate->c_traceobj, (PyFrameObject *)frame, PyTrace_CALL, Py_None);
        }
        else {
            status = 0;
        }
    }
    else if (h->kind == HOOK_BOOTSTRAP && saved_for(st, tstate) == NULL) {
        /* A thread started just before stop: do what threading's old hook would have. */
        PyObject *prev = st->saved_threading_trace;
        Py_DECREF(self);
        if (prev == NULL || prev == Py_None) {
            (void)install_here(NULL, NULL);
            Py_RETURN_NONE;
        }
        PyObject *settrace = st->orig_settrace ? st->orig_settrace : PySys_GetObject("settrace");
        if (settrace == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "linewise: sys.settrace is missing");
            return NULL;
        }
        Py_INCREF(prev);
        PyObject *result = PyObject_CallOneArg(settrace, prev);  /* owned */
        if (result != NULL) {
            Py_DECREF(result);
            result = PyObject_CallFunctionObjArgs(prev, frame, event, arg, NULL);
        }
        Py_DECREF(prev);
        return result;
    }
    else {
        status = retire(st, h, tstate, (PyFrameObject *)frame, PyTrace_CALL, Py_None);
    }
    Py_DECREF(self);
    if (status < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
hook_repr(PyObject *self)
{
    static const char *kinds[] = {"plain", "chained", "bootstrap"};
    return PyUnicode_FromFormat("<linewise trace hook (%s)>", kinds[((HookObject *)self)->kind]);
}

static int
hook_traverse(PyObject *self, visitproc visit, void *arg)
{
    HookObject *h = (HookObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(h->module);
    Py_VISIT(h->obj);
    return 0;
}

static int
hook_clear(PyObject *self)
{
    HookObject *h = (HookObject *)self;
    Py_CLEAR(h->module);
    Py_CLEAR(h->obj);
    h->func = NULL;
    return 0;
}

static void
hook_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)hook_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot hook_slots[] = {
    {Py_tp_call, hook_call},
    {Py_tp_repr, hook_repr},
    {Py_tp_traverse, hook_traverse},
    {Py_tp_clear, hook_clear},
    {Py_tp_dealloc, hook_dealloc},
    {Py_tp_doc, (void *)"linewise's C trace hook for one thread (legacy backend)."},
    {0, NULL},
};

static PyType_Spec hook_spec = {
    .name = "linewise._engine.TraceHook",
    .basicsize = sizeof(HookObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = hook_slots,
};

/* -- start and stop ------------------------------------------------------------------ */

int
lw_legacy_init(PyObject *module, lw_state *st)
{
    Tracer none = {NULL, NULL};
    st->str_f_trace_lines = PyUnicode_InternFromString("f_trace_lines");
    if (st->str_f_trace_lines == NULL) {
        return -1;
    }
    st->lines_offset = lw_frame_lines_offset();
    st->builtin_settrace = Py_XNewRef(PySys_GetObject("settrace"));
    st->builtin_gettrace = Py_XNewRef(PySys_GetObject("gettrace"));
    st->hook_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &hook_spec, NULL);
    if (st->hook_type == NULL) {
        return -1;
    }
    st->bootstrap = new_hook(st, module, HOOK_BOOTSTRAP, none);
    st->plain = new_hook(st, module, HOOK_PLAIN, none);
    st->my_settrace = PyCFunction_NewEx(&my_settrace_def, module, NULL);
    st->my_gettrace = PyCFunction_NewEx(&my_gettrace_def, module, NULL);
    if (st->bootstrap == NULL || st->plain == NULL || st->my_settrace == NULL ||
        st->my_gettrace == NULL) {
        return -1;
    }
    return 0;
}

static void
free_saved(SavedTrace *saved, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(saved[i].obj);
    }
    PyMem_RawFree(saved);
}

/* Takes the table off the state before releasing its tracers: a tracer's finalizer may
 * run Python code that starts the backend again, which installs a table of its own. */
static void
clear_saved(lw_state *st)
{
    SavedTrace *old = st->saved;
    Py_ssize_t n = st->n_saved;
    st->saved = NULL;
    st->n_saved = 0;
    free_saved(old, n);
}

int
lw_legacy_traverse(lw_state *st, visitproc visit, void *arg)
{
    Py_VISIT(st->hook_type);
    Py_VISIT(st->bootstrap);
    Py_VISIT(st->plain);
    Py_VISIT(st->saved_threading_trace);
    Py_VISIT(st->orig_settrace);
    Py_VISIT(st->orig_gettrace);
    Py_VISIT(st->builtin_settrace);
    Py_VISIT(st->builtin_gettrace);
    Py_VISIT(st->my_settrace);
    Py_VISIT(st->my_gettrace);
    for (Py_ssize_t i = 0; i < st->n_saved; i++) {
        Py_VISIT(st->saved[i].obj);
    }
    return 0;
}

void
lw_legacy_clear(lw_state *st)
{
    Py_CLEAR(st->bootstrap);
    Py_CLEAR(st->plain);
    Py_CLEAR(st->saved_threading_trace);
    Py_CLEAR(st->orig_settrace);
    Py_CLEAR(st->orig_gettrace);
    Py_CLEAR(st->builtin_settrace);
    Py_CLEAR(st->builtin_gettrace);
    Py_CLEAR(st->my_settrace);
    Py_CLEAR(st->my_gettrace);
    Py_CLEAR(st->hook_type);
    Py_CLEAR(st->str_f_trace_lines);
    clear_saved(st);
}

/* Calls threading.<name>(arg) and returns its result (new reference), or NULL with an
 * exception set. */
static PyObject *
call_threading(const char *name, PyObject *arg)
{
    PyObject *threading = PyImport_ImportModule("threading");  /* owned */
    PyObject *result = NULL;                                    /* owned */
    if (threading == NULL) {
        return NULL;
    }
    if (arg == NULL) {
        result = PyObject_CallMethod(threading, name, NULL);
    }
    else {
        result = PyObject_CallMethod(threading, name, "O", arg);
    }
    Py_DECREF(threading);
    return result;
}

/* Puts `mine` in sys under `name` in place of the current one, kept in *orig. */
static int
swap_into_sys(const char *name, PyObject *mine, PyObject **orig)
{
    PyObject *current = PySys_GetObject(name);  /* borrowed */
    if (current == NULL) {
        PyErr_Format(PyExc_RuntimeError, "linewise: sys.%s is missing", name);
        return -1;
    }
    if (current != mine) {
        Py_XSETREF(*orig, Py_NewRef(current));
    }
    return PySys_SetObject(name, mine);
}

/* Gives sys back its own `name`, unless someone replaced ours meanwhile. */
static void
swap_out_of_sys(const char *name, PyObject *mine, PyObject *orig)
{
    if (orig != NULL && PySys_GetObject(name) == mine && PySys_SetObject(name, orig) < 0) {
        PyErr_Clear();
    }
}

/* A thread state and its id, as listed before running anything that may run Python code
 * (audit hooks, a collection's finalizers), during which a thread may end: each is looked
 * up again before use. */
typedef struct {
    PyThreadState *ts;
    uint64_t id;
} ThreadRef;

/* The interpreter's threads now (owned array, *n long), or NULL with an exception. */
static ThreadRef *
list_threads(PyInterpreterState *interp, Py_ssize_t *n)
{
    Py_ssize_t count = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        count++;
    }
    ThreadRef *refs = PyMem_RawCalloc((size_t)(count ? count : 1), sizeof(ThreadRef));
    if (refs == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *n = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts && *n < count;
         ts = PyThreadState_Next(ts)) {
        refs[*n].ts = ts;
        refs[(*n)++].id = ts->id;
    }
    return refs;
}

static int
thread_alive(PyInterpreterState *interp, ThreadRef r)
{
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        if (ts == r.ts && ts->id == r.id) {
            return 1;
        }
    }
    return 0;
}

int
lw_legacy_start(lw_state *st)
{
    if (st->bootstrap == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: the engine module was torn down");
        return -1;
    }
    PyThreadState *me = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
    ThreadRef *threads = NULL;  /* owned */
    Py_ssize_t n = 0;
    int gc_was_on = 0;
    ((HookObject *)st->bootstrap)->stuck = 0;
    ((HookObject *)st->plain)->stuck = 0;
    if (swap_into_sys("settrace", st->my_settrace, &st->orig_settrace) < 0 ||
        swap_into_sys("gettrace", st->my_gettrace, &st->orig_gettrace) < 0) {
        goto error;
    }
    PyObject *threading_trace = call_threading("gettrace", NULL);  /* owned */
    if (threading_trace == NULL) {
        goto error;
    }
    if (threading_trace == st->bootstrap) {
        Py_DECREF(threading_trace);  /* ours, left by an earlier run: keep what it saved */
    }
    else {
        Py_XSETREF(st->saved_threading_trace, threading_trace);
    }
    PyObject *result = call_threading("settrace", st->bootstrap);  /* owned */
    if (result == NULL) {
        goto error;
    }
    Py_DECREF(result);

    /* What each thread runs now, looking through a hook left from an earlier run (threads
     * that have not had an event since). Taken last, with no Python code run between it
     * and the hook's installation, where another thread could change its own; no
     * collection either (its finalizers are Python code). */
    gc_was_on = PyGC_Disable();
    threads = list_threads(interp, &n);
    if (threads == NULL) {
        goto error;
    }
    SavedTrace *saved = PyMem_RawCalloc((size_t)(n ? n : 1), sizeof(SavedTrace));
    if (saved == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyThreadState *ts = threads[i].ts;
        Tracer t = thread_tracer(st, ts);
        saved[i].tstate = ts;
        saved[i].thread_id = ts->id;
        saved[i].func = t.func;
        saved[i].obj = Py_XNewRef(t.obj);
    }
    clear_saved(st);
    st->saved = saved;
    st->n_saved = n;
    st->saved_generation++;
    st->n_unresolved = 0;
    st->legacy_on = 1;
#if !LW_HAVE_SETTRACE_TSTATE
    /* 3.13 has only CPython's own walk, which runs the audit hooks once per thread and
     * may crash if one lets a thread end meanwhile (CPython gh-137400, fixed in 3.14). */
    if (PySys_Audit("sys.settrace", NULL) < 0) {
        goto error;
    }
    PyEval_SetTraceAllThreads(trace, st->bootstrap);
#else
    /* Each call runs the audit hooks (Python code, which may let a thread end). */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (thread_alive(interp, threads[i]) &&
            _PyEval_SetTrace(threads[i].ts, trace, st->bootstrap) < 0) {
            goto error;
        }
    }
#endif
    PyMem_RawFree(threads);
    if (gc_was_on) {
        PyGC_Enable();
    }
    return 0;
error:
    PyMem_RawFree(threads);
    if (gc_was_on) {
        PyGC_Enable();
    }
    {
        PyObject *pending = lw_err_save();  /* owned */
        (void)lw_legacy_stop(st);
        lw_err_restore(pending);
    }
    return -1;
}

/* Stopping. This thread gets its tracer back now; every other thread gives itself back its
 * own at its next event (retire()): 3.13 cannot set another thread's trace function, and
 * through 3.12 doing so runs the audit hooks once per thread, during which a thread may
 * end under the call. Line events linewise switched off go back on in threads left with no
 * tracer, so each has an event soon. */
int
lw_legacy_stop(lw_state *st)
{
    PyThreadState *me = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
    int status = 0;
    /* At shutdown (an engine still enabled when its profiler is collected) there is
     * nothing left to restore for, and importing threading would fail: just unhook. */
    int finalizing = lw_is_finalizing();
    int was_on = st->legacy_on;  /* else a start failed before installing anything */
    st->legacy_on = 0;
    st->hooks_lost = 0;
    st->n_unresolved = 0;
    swap_out_of_sys("settrace", st->my_settrace, st->orig_settrace);
    swap_out_of_sys("gettrace", st->my_gettrace, st->orig_gettrace);
    int gc_was_on = PyGC_Disable();  /* no finalizer runs while threads are walked */
    Py_ssize_t n = 0;
    ThreadRef *threads = list_threads(interp, &n);  /* owned */
    if (threads == NULL) {
        PyErr_Clear();
        n = 0;
        status = -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyThreadState *ts = threads[i].ts;
        if (!thread_alive(interp, threads[i])) {
            continue;
        }
        if (ts->c_tracefunc != trace) {
            /* Replaced by a tool that set its C trace function directly (not through
             * sys.settrace), and maybe removed since: it missed nothing, linewise missed
             * the rest of this thread. (Counted for the threads hooked at start; one
             * started since may never have been hooked.) */
            if (was_on && saved_for(st, ts) != NULL) {
                st->hooks_lost++;
                if (ts->c_tracefunc == NULL && !finalizing) {
                    lines_back_on(st, ts);
                }
            }
            continue;
        }
        PyObject *hook = ts->c_traceobj;  /* borrowed; the thread's reference */
        Tracer t = thread_tracer(st, ts);
        if (ts != me) {
            st->n_unresolved += hook == st->bootstrap;
            if (t.func == NULL && !finalizing) {
                lines_back_on(st, ts);
            }
            continue;
        }
        Py_INCREF(hook);    /* keeps t.obj alive through the swap */
        if (t.func != NULL) {
            lines_back_off(st);
        }
        if (ts->c_traceobj == hook && install_here(t.func, t.obj) < 0) {
            status = finalizing ? 0 : -1;
        }
        else if (t.func == NULL && !finalizing) {
            lines_back_on(st, ts);
        }
        Py_DECREF(hook);
    }
    PyMem_RawFree(threads);
    if (gc_was_on) {
        PyGC_Enable();
    }
    if (st->n_unresolved == 0) {
        clear_saved(st);  /* no thread will look its tracer up there any more */
    }
    if (st->saved_threading_trace != NULL && !finalizing) {
        PyObject *current = call_threading("gettrace", NULL);  /* owned */
        if (current == NULL) {
            PyErr_Clear();
            status = -1;
        }
        else if (current == st->bootstrap) {  /* else someone set theirs since: keep it */
            PyObject *result = call_threading("settrace", st->saved_threading_trace);
            if (result == NULL) {
                PyErr_Clear();
                status = -1;
            }
            Py_XDECREF(result);
        }
        Py_XDECREF(current);
    }
    /* saved_threading_trace is kept: a thread started just before this may still be on
     * its way to calling the bootstrap hook (hook_call). */
    if (status < 0) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: could not restore every thread's trace function");
    }
    else if (st->hooks_lost > 0 && !finalizing &&
             PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                              "another tool replaced linewise's trace hook in %zd thread(s) "
                              "while profiling (with PyEval_SetTrace, as coverage.py's C "
                              "tracer does when started): lines run there after that are "
                              "not counted", st->hooks_lost) < 0) {
        status = -1;
    }
    return status;
}
