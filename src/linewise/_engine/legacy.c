/* legacy.c: the C trace-hook backend (PyEval_SetTrace), for 3.10 and 3.11, and for 3.12+
 * when LINEWISE_BACKEND=legacy.
 *
 * The hook is installed in every thread: the existing ones directly, new ones through
 * threading.settrace with a C callable that swaps itself for the hook on the thread's
 * first call. A frame of unprofiled code has its line events turned off at its call
 * event, so it pays one call per function entry and nothing per line. Whatever C trace
 * function a thread had before is restored at stop.
 */
#include "events.h"

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

/* The trace function. Its object is the bootstrap callable (whose self is the module):
 * that is what sys.gettrace() shows, so a program that saves and re-sets the trace
 * function re-installs linewise rather than calling a module. Never fails: a failing C
 * trace function would switch tracing off. */
static int
trace(PyObject *hook, PyFrameObject *frame, int what, PyObject *arg)
{
#ifdef LINEWISE_NULL_HOOK
    lw_legacy_null_sink = lw_timer_now();
    (void)hook, (void)frame, (void)what, (void)arg;
    return 0;
#else
    int64_t now = lw_timer_now();
    lw_state *st = lw_get_state(PyCFunction_GET_SELF(hook));
    CodeEntry *e = lw_code_entry(st->extra_index, (PyObject *)lw_frame_code(frame));
    if (e == NULL || !e->active) {
        if (what == PyTrace_CALL) {
            lw_frame_no_lines(frame, st->str_f_trace_lines);
        }
        return 0;
    }
    PyThreadState *tstate = PyThreadState_Get();
    switch (what) {
    case PyTrace_LINE:
        lw_on_line(st, tstate, frame, e, lw_frame_line(frame), now);
        break;
    case PyTrace_CALL:
        if (e->kind != LW_KIND_PLAIN && is_resume(frame, e)) {
            lw_on_resume(st, tstate, frame, e, now);
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
    return 0;
#endif
}

/* threading.settrace hook: runs as a Python trace function on a new thread's first call,
 * installs the C hook for that thread and hands it this first event. */
static PyObject *
bootstrap(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs == 3 && PyFrame_Check(args[0])) {
        lw_state *st = lw_get_state(module);
        if (st->n_armed > 0 && st->bootstrap != NULL) {
            PyEval_SetTrace(trace, st->bootstrap);
            (void)trace(st->bootstrap, (PyFrameObject *)args[0], PyTrace_CALL, Py_None);
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef bootstrap_def = {
    "_thread_bootstrap", (PyCFunction)(void (*)(void))bootstrap, METH_FASTCALL, NULL};

int
lw_legacy_init(PyObject *module, lw_state *st)
{
    st->str_f_trace_lines = PyUnicode_InternFromString("f_trace_lines");
    if (st->str_f_trace_lines == NULL) {
        return -1;
    }
    st->bootstrap = PyCFunction_NewEx(&bootstrap_def, module, NULL);
    if (st->bootstrap == NULL) {
        return -1;
    }
    return 0;
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

static void
clear_saved(lw_state *st)
{
    for (Py_ssize_t i = 0; i < st->n_saved; i++) {
        Py_CLEAR(st->saved[i].obj);
    }
    PyMem_RawFree(st->saved);
    st->saved = NULL;
    st->n_saved = 0;
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
    Py_ssize_t n = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        n++;
    }
    clear_saved(st);
    st->saved = PyMem_RawCalloc((size_t)n, sizeof(SavedTrace));
    if (st->saved == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        SavedTrace *s = &st->saved[st->n_saved++];
        s->tstate = ts;
        s->func = ts->c_tracefunc;
        s->obj = Py_XNewRef(ts->c_traceobj);
    }
#if LW_HAVE_SETTRACE_TSTATE
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        if (_PyEval_SetTrace(ts, trace, st->bootstrap) < 0) {
            goto error;
        }
    }
#else
    PyEval_SetTraceAllThreads(trace, st->bootstrap);
#endif
    Py_CLEAR(st->saved_threading_trace);
    st->saved_threading_trace = call_threading("gettrace", NULL);
    if (st->saved_threading_trace == NULL) {
        goto error;
    }
    PyObject *result = call_threading("settrace", st->bootstrap);
    if (result == NULL) {
        goto error;
    }
    Py_DECREF(result);
    return 0;
error:
    {
        PyObject *saved = lw_err_save();  /* owned */
        (void)lw_legacy_stop(st);
        lw_err_restore(saved);
    }
    return -1;
}

/* What thread `ts` had before start, or NULL. */
static SavedTrace *
saved_for(lw_state *st, PyThreadState *ts)
{
    for (Py_ssize_t i = 0; i < st->n_saved; i++) {
        if (st->saved[i].tstate == ts) {
            return &st->saved[i];
        }
    }
    return NULL;
}

int
lw_legacy_stop(lw_state *st)
{
    PyThreadState *me = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
    int status = 0;
    /* At shutdown (an engine still enabled when its profiler is collected) there is
     * nothing left to restore for, and importing threading would fail: just unhook. */
    int finalizing = lw_is_finalizing();
#if LW_HAVE_SETTRACE_TSTATE
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        if (ts->c_tracefunc != trace) {
            continue;  /* someone replaced us since: leave theirs */
        }
        SavedTrace *s = saved_for(st, ts);
        if (_PyEval_SetTrace(ts, s ? s->func : NULL, s ? s->obj : NULL) < 0) {
            PyErr_Clear();
            status = finalizing ? 0 : -1;
        }
    }
#else
    /* No per-thread setter on 3.13+: clear every thread, then give this one back its own. */
    (void)interp;
    PyEval_SetTraceAllThreads(NULL, NULL);
    SavedTrace *s = saved_for(st, me);
    if (s != NULL && s->func != NULL) {
        PyEval_SetTrace(s->func, s->obj);
    }
#endif
    clear_saved(st);
    if (st->saved_threading_trace != NULL && !finalizing) {
        PyObject *result = call_threading("settrace", st->saved_threading_trace);
        if (result == NULL) {
            PyErr_Clear();
            status = -1;
        }
        Py_XDECREF(result);
    }
    Py_CLEAR(st->saved_threading_trace);
    if (status < 0) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: could not restore every thread's trace function");
    }
    return status;
}
