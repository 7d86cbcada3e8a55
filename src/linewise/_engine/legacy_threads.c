/* legacy_threads.c: the legacy backend's side of threads (legacy.h): what each thread
 * had before start, installing a trace function, line events of a thread's frames, and
 * starting and stopping the backend.
 */
#include "legacy.h"

/* What thread `ts` had before start, or NULL. */
SavedTrace *
lw_legacy_saved_for(lw_state *st, PyThreadState *ts)
{
    for (Py_ssize_t i = 0; i < st->legacy.n_saved; i++) {
        if (st->legacy.saved[i].tstate == ts && st->legacy.saved[i].thread_id == ts->id) {
            return &st->legacy.saved[i];
        }
    }
    return NULL;
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
int
lw_legacy_install_here(Py_tracefunc func, PyObject *obj)
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
            lw_frame_set_lines(f, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 1);
        }
        for (int i = 0; quiet_only && i < stack->size; i++) {
            if (stack->recs[i].key == (void *)f && (stack->recs[i].flags & LW_REC_CHAIN_QUIET)) {
                lw_frame_set_lines(f, st->legacy.lines_offset, st->legacy.str_f_trace_lines, 0);
            }
        }
        PyFrameObject *back = PyFrame_GetBack(f);  /* owned */
        Py_DECREF(f);
        f = back;
    }
    lw_err_restore(pending);
}

void
lw_legacy_lines_back_on(lw_state *st, PyThreadState *ts)
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
void
lw_legacy_forget_quiet(lw_state *st)
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

static void clear_saved(lw_state *st);
static int lw_legacy_stop(lw_state *st);

/* Drops thread `ts`'s saved tracer (it has it back); frees the table with the last one. */
static void
forget_saved(lw_state *st, PyThreadState *ts)
{
    SavedTrace *s = lw_legacy_saved_for(st, ts);
    if (s == NULL) {
        return;
    }
    s->tstate = NULL;
    int last = st->legacy.n_unresolved > 0 && --st->legacy.n_unresolved == 0;
    uint64_t generation = st->legacy.saved_generation;
    Py_CLEAR(s->obj);  /* may run Python code (even a new start): s is not used after */
    if (last && st->legacy.saved_generation == generation) {
        clear_saved(st);
    }
}

/* Gives this thread back the tracer behind hook `h` (the backend stopped since the hook was
 * installed) and passes it the event. */
int
lw_legacy_retire(lw_state *st, HookObject *h, PyThreadState *tstate, PyFrameObject *frame, int what,
       PyObject *arg)
{
    Tracer t = lw_legacy_behind(st, h, tstate);
    Py_INCREF(h);        /* the thread's reference goes at the swap */
    Py_XINCREF(t.obj);
    int status = 0;
    int quiet = what == PyTrace_LINE && is_quiet(st, frame);
    if (h->stuck || lw_legacy_install_here(t.func, t.obj) < 0) {
        h->stuck = 1;  /* refused: stay, passing events on */
    }
    else {
        if (t.func == NULL) {
            lw_legacy_lines_back_on(st, tstate);
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

static int
lw_legacy_init(PyObject *module, lw_state *st)
{
    st->legacy.str_f_trace_lines = PyUnicode_InternFromString("f_trace_lines");
    if (st->legacy.str_f_trace_lines == NULL) {
        return -1;
    }
    st->legacy.lines_offset = lw_frame_lines_offset();
    return lw_legacy_hook_init(module, st);
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
    SavedTrace *old = st->legacy.saved;
    Py_ssize_t n = st->legacy.n_saved;
    st->legacy.saved = NULL;
    st->legacy.n_saved = 0;
    free_saved(old, n);
}

static int
lw_legacy_traverse(lw_state *st, visitproc visit, void *arg)
{
    Py_VISIT(st->legacy.hook_type);
    Py_VISIT(st->legacy.bootstrap);
    Py_VISIT(st->legacy.plain);
    Py_VISIT(st->legacy.saved_threading_trace);
    Py_VISIT(st->legacy.orig_settrace);
    Py_VISIT(st->legacy.orig_gettrace);
    Py_VISIT(st->legacy.builtin_settrace);
    Py_VISIT(st->legacy.builtin_gettrace);
    Py_VISIT(st->legacy.my_settrace);
    Py_VISIT(st->legacy.my_gettrace);
    for (Py_ssize_t i = 0; i < st->legacy.n_saved; i++) {
        Py_VISIT(st->legacy.saved[i].obj);
    }
    return 0;
}

static void
lw_legacy_clear(lw_state *st)
{
    Py_CLEAR(st->legacy.bootstrap);
    Py_CLEAR(st->legacy.plain);
    Py_CLEAR(st->legacy.saved_threading_trace);
    Py_CLEAR(st->legacy.orig_settrace);
    Py_CLEAR(st->legacy.orig_gettrace);
    Py_CLEAR(st->legacy.builtin_settrace);
    Py_CLEAR(st->legacy.builtin_gettrace);
    Py_CLEAR(st->legacy.my_settrace);
    Py_CLEAR(st->legacy.my_gettrace);
    Py_CLEAR(st->legacy.hook_type);
    Py_CLEAR(st->legacy.str_f_trace_lines);
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

static int
lw_legacy_start(lw_state *st)
{
    if (st->legacy.bootstrap == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: the engine module was torn down");
        return -1;
    }
    PyThreadState *me = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
    ThreadRef *threads = NULL;  /* owned */
    Py_ssize_t n = 0;
    int gc_was_on = 0;
    ((HookObject *)st->legacy.bootstrap)->stuck = 0;
    ((HookObject *)st->legacy.plain)->stuck = 0;
    if (lw_legacy_shims_on(st) < 0) {
        goto error;
    }
    PyObject *threading_trace = call_threading("gettrace", NULL);  /* owned */
    if (threading_trace == NULL) {
        goto error;
    }
    if (threading_trace == st->legacy.bootstrap) {
        Py_DECREF(threading_trace);  /* ours, left by an earlier run: keep what it saved */
    }
    else {
        Py_XSETREF(st->legacy.saved_threading_trace, threading_trace);
    }
    PyObject *result = call_threading("settrace", st->legacy.bootstrap);  /* owned */
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
        Tracer t = lw_legacy_thread_tracer(st, ts);
        saved[i].tstate = ts;
        saved[i].thread_id = ts->id;
        saved[i].func = t.func;
        saved[i].obj = Py_XNewRef(t.obj);
    }
    clear_saved(st);
    st->legacy.saved = saved;
    st->legacy.n_saved = n;
    st->legacy.saved_generation++;
    st->legacy.n_unresolved = 0;
    st->legacy.on = 1;
#if !LW_HAVE_SETTRACE_TSTATE
    /* 3.13 has only CPython's own walk, which runs the audit hooks once per thread and
     * may crash if one lets a thread end meanwhile (CPython gh-137400, fixed in 3.14). */
    if (PySys_Audit("sys.settrace", NULL) < 0) {
        goto error;
    }
    PyEval_SetTraceAllThreads(lw_legacy_trace, st->legacy.bootstrap);
#else
    /* Each call runs the audit hooks (Python code, which may let a thread end). */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (thread_alive(interp, threads[i]) &&
            _PyEval_SetTrace(threads[i].ts, lw_legacy_trace, st->legacy.bootstrap) < 0) {
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
 * own at its next event (lw_legacy_retire()): 3.13 cannot set another thread's trace function, and
 * through 3.12 doing so runs the audit hooks once per thread, during which a thread may
 * end under the call. Line events linewise switched off go back on in threads left with no
 * tracer, so each has an event soon. */
static int
lw_legacy_stop(lw_state *st)
{
    PyThreadState *me = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(me);
    int status = 0;
    /* At shutdown (an engine still enabled when its profiler is collected) there is
     * nothing left to restore for, and importing threading would fail: just unhook. */
    int finalizing = lw_is_finalizing();
    int was_on = st->legacy.on;  /* else a start failed before installing anything */
    int restored_me = 0;         /* this thread got its tracer back */
    st->legacy.on = 0;
    st->legacy.hooks_lost = 0;
    st->legacy.n_unresolved = 0;
    lw_legacy_shims_off(st);
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
        if (ts->c_tracefunc != lw_legacy_trace) {
            /* Replaced by a tool that set its C trace function directly (not through
             * sys.settrace), and maybe removed since: it missed nothing, linewise missed
             * the rest of this thread. (Counted for the threads hooked at start; one
             * started since may never have been hooked.) */
            if (was_on && lw_legacy_saved_for(st, ts) != NULL) {
                st->legacy.hooks_lost++;
                if (ts->c_tracefunc == NULL && !finalizing) {
                    lw_legacy_lines_back_on(st, ts);
                }
            }
            continue;
        }
        PyObject *hook = ts->c_traceobj;  /* borrowed; the thread's reference */
        Tracer t = lw_legacy_thread_tracer(st, ts);
        if (ts != me) {
            st->legacy.n_unresolved += hook == st->legacy.bootstrap;
            if (t.func == NULL && !finalizing) {
                lw_legacy_lines_back_on(st, ts);
            }
            continue;
        }
        Py_INCREF(hook);    /* keeps t.obj alive through the swap */
        if (t.func != NULL) {
            lines_back_off(st);
        }
        if (ts->c_traceobj == hook && lw_legacy_install_here(t.func, t.obj) < 0) {
            status = finalizing ? 0 : -1;
        }
        else {
            restored_me = 1;
            if (t.func == NULL && !finalizing) {
                lw_legacy_lines_back_on(st, ts);
            }
        }
        Py_DECREF(hook);
    }
    PyMem_RawFree(threads);
    if (gc_was_on) {
        PyGC_Enable();
    }
    if (st->legacy.n_unresolved == 0) {
        clear_saved(st);  /* no thread will look its tracer up there any more */
    }
    else if (restored_me) {
        /* This thread has its tracer back; the table stays for the others (until their
         * next event) but must not keep this one's alive meanwhile. */
        SavedTrace *mine = lw_legacy_saved_for(st, me);
        if (mine != NULL) {
            mine->tstate = NULL;
            Py_CLEAR(mine->obj);  /* may run Python code: mine is not used after */
        }
    }
    if (st->legacy.saved_threading_trace != NULL && !finalizing) {
        PyObject *current = call_threading("gettrace", NULL);  /* owned */
        if (current == NULL) {
            PyErr_Clear();
            status = -1;
        }
        else if (current == st->legacy.bootstrap) {  /* else someone set theirs since: keep it */
            PyObject *result = call_threading("settrace", st->legacy.saved_threading_trace);
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
    else if (st->legacy.hooks_lost > 0 && !finalizing &&
             PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                              "another tool replaced linewise's trace hook in %zd thread(s) "
                              "while profiling (with PyEval_SetTrace, as coverage.py's C "
                              "tracer does when started): lines run there after that are "
                              "not counted", st->legacy.hooks_lost) < 0) {
        status = -1;
    }
    return status;
}

/* A code needs nothing of its own: the hook sees every frame and looks up its code's entry. */
static int
lw_legacy_code_noop(lw_state *st, PyObject *code)
{
    (void)st, (void)code;
    return 0;
}

const lw_backend_ops lw_legacy_ops = {
    .name = "legacy",
    .keeps_armed = 0,
    .init = lw_legacy_init,
    .start = lw_legacy_start,
    .stop = lw_legacy_stop,
    .arm_code = lw_legacy_code_noop,
    .disarm_code = lw_legacy_code_noop,
    .traverse = lw_legacy_traverse,
    .clear = lw_legacy_clear,
};
