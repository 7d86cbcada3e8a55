/* legacy_hook.c: the legacy backend's TraceHook type (legacy.h), what a hook has behind
 * it, and sys.settrace / sys.gettrace as they are while the hook is installed.
 */
#include "legacy.h"

/* The tracer behind hook `h` in thread `ts` (never linewise's own). */
Tracer
lw_legacy_behind(lw_state *st, HookObject *h, PyThreadState *ts)
{
    Tracer t = {NULL, NULL};
    if (h->kind == HOOK_CHAIN) {
        t.func = h->func;
        t.obj = h->obj;
    }
    else if (h->kind == HOOK_BOOTSTRAP) {
        SavedTrace *s = lw_legacy_saved_for(st, ts);
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
    if (lw_legacy_is_hook(st, t.obj)) {
        return lw_legacy_behind(st, (HookObject *)t.obj, ts);  /* never a hook itself */
    }
    return t;
}

/* The tracer a thread runs, looking through linewise's hook. */
Tracer
lw_legacy_thread_tracer(lw_state *st, PyThreadState *ts)
{
    Tracer t = {ts->c_tracefunc, ts->c_traceobj};
    return look_through(st, t, ts);
}

/* A new hook (owned), or NULL with an exception. */
static PyObject *
new_hook(lw_state *st, PyObject *module, int kind, Tracer behind_it)
{
    HookObject *h = PyObject_GC_New(HookObject, st->legacy.hook_type);
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
PyObject *
lw_legacy_hook_for(lw_state *st, PyObject *module, Tracer t)
{
    t = look_through(st, t, PyThreadState_Get());
    if (t.func == NULL || t.func == lw_legacy_trace) {
        return Py_NewRef(st->legacy.plain);
    }
    return new_hook(st, module, HOOK_CHAIN, t);
}

/* Puts linewise's hook back in this thread, in front of whatever tracer it has now (which
 * someone installed over the hook). `had_other` says whether a tracer other than
 * linewise was there before: if not, line events turned off meanwhile go back on. */
void
lw_legacy_adopt(lw_state *st, PyObject *module, PyThreadState *tstate, int had_other)
{
    Tracer now = {tstate->c_tracefunc, tstate->c_traceobj};
    PyObject *pending = lw_err_save();            /* owned */
    PyObject *hook = lw_legacy_hook_for(st, module, now);   /* owned */
    if (hook == NULL || lw_legacy_install_here(lw_legacy_trace, hook) < 0) {
        st->dropped++;  /* leave theirs in place: linewise stops seeing this thread */
    }
    else if (now.func != NULL && !had_other) {
        lw_legacy_lines_back_on(st, tstate);
    }
    lw_legacy_forget_quiet(st);
    Py_XDECREF(hook);
    lw_err_restore(pending);
}


/* -- sys.settrace while the hook is installed ---------------------------------------- */

/* Set while this thread is inside linewise's sys.settrace/gettrace: re-entered (through a
 * tool that wrapped them), they call the ones sys had at import instead of looping.
 * Outside module state on purpose: it is a fact about a thread's C stack, whichever module
 * instance's shim is on it; the module state is shared by every thread. */
static _Thread_local int in_sys_hook;

static PyObject *
call_settrace(lw_state *st, PyObject *f)
{
    PyObject *target = in_sys_hook ? st->legacy.builtin_settrace : st->legacy.orig_settrace;  /* borrowed */
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
    int had_other = lw_legacy_thread_tracer(st, tstate).func != NULL;
    if (lw_legacy_is_hook(st, f)) {
        HookObject *h = (HookObject *)f;
        SavedTrace *s = lw_legacy_saved_for(st, tstate);
        if (h->kind == HOOK_BOOTSTRAP && (s == NULL || s->func == NULL)) {
            /* threading's hook on a new thread (or on one started just before enable():
             * it may read threading's hook after start() returned): what threading had
             * before linewise goes behind it, as it would have been the thread's tracer. */
            PyObject *prev = st->legacy.saved_threading_trace;
            if (prev != NULL && prev != Py_None) {
                return settrace_behind(st, module, prev);
            }
            (void)lw_legacy_install_here(lw_legacy_trace, st->legacy.plain);
            return 0;
        }
        (void)lw_legacy_install_here(lw_legacy_trace, f);
        return 0;
    }
    PyObject *result = call_settrace(st, f);  /* owned */
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    if (tstate->c_tracefunc != lw_legacy_trace && st->legacy.on) {
        lw_legacy_adopt(st, module, tstate, had_other);
    }
    lw_legacy_forget_quiet(st);
    return 0;
}

static PyObject *
my_settrace(PyObject *module, PyObject *f)
{
    lw_state *st = lw_get_state(module);
    if (!st->legacy.on || in_sys_hook) {
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
    if (!st->legacy.on || tstate->c_tracefunc != lw_legacy_trace || in_sys_hook) {
        PyObject *target = in_sys_hook ? st->legacy.builtin_gettrace : st->legacy.orig_gettrace;
        if (target == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "linewise: sys.gettrace is gone");
            return NULL;
        }
        in_sys_hook++;
        PyObject *result = PyObject_CallNoArgs(target);
        in_sys_hook--;
        return result;
    }
    Tracer t = lw_legacy_thread_tracer(st, tstate);
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
    if (st->legacy.on) {
        /* Take the C way back, then serve this event from there. */
        if (settrace_behind(st, h->module, self) < 0) {
            Py_DECREF(self);
            return NULL;
        }
        if (tstate->c_tracefunc == lw_legacy_trace) {
            status = lw_legacy_trace(tstate->c_traceobj, (PyFrameObject *)frame, PyTrace_CALL, Py_None);
        }
        else {
            status = 0;
        }
    }
    else if (h->kind == HOOK_BOOTSTRAP && lw_legacy_saved_for(st, tstate) == NULL) {
        /* A thread started just before stop: do what threading's old hook would have. */
        PyObject *prev = st->legacy.saved_threading_trace;
        Py_DECREF(self);
        if (prev == NULL || prev == Py_None) {
            (void)lw_legacy_install_here(NULL, NULL);
            Py_RETURN_NONE;
        }
        PyObject *settrace = st->legacy.orig_settrace ? st->legacy.orig_settrace : PySys_GetObject("settrace");
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
        status = lw_legacy_retire(st, h, tstate, (PyFrameObject *)frame, PyTrace_CALL, Py_None);
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

/* -- set-up -------------------------------------------------------------------------- */

int
lw_legacy_hook_init(PyObject *module, lw_state *st)
{
    Tracer none = {NULL, NULL};
    st->legacy.builtin_settrace = Py_XNewRef(PySys_GetObject("settrace"));
    st->legacy.builtin_gettrace = Py_XNewRef(PySys_GetObject("gettrace"));
    st->legacy.hook_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &hook_spec, NULL);
    if (st->legacy.hook_type == NULL) {
        return -1;
    }
    st->legacy.bootstrap = new_hook(st, module, HOOK_BOOTSTRAP, none);
    st->legacy.plain = new_hook(st, module, HOOK_PLAIN, none);
    st->legacy.my_settrace = PyCFunction_NewEx(&my_settrace_def, module, NULL);
    st->legacy.my_gettrace = PyCFunction_NewEx(&my_gettrace_def, module, NULL);
    if (st->legacy.bootstrap == NULL || st->legacy.plain == NULL || st->legacy.my_settrace == NULL ||
        st->legacy.my_gettrace == NULL) {
        return -1;
    }
    return 0;
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

int
lw_legacy_shims_on(lw_state *st)
{
    if (swap_into_sys("settrace", st->legacy.my_settrace, &st->legacy.orig_settrace) < 0 ||
        swap_into_sys("gettrace", st->legacy.my_gettrace, &st->legacy.orig_gettrace) < 0) {
        return -1;
    }
    return 0;
}

void
lw_legacy_shims_off(lw_state *st)
{
    swap_out_of_sys("settrace", st->legacy.my_settrace, st->legacy.orig_settrace);
    swap_out_of_sys("gettrace", st->legacy.my_gettrace, st->legacy.orig_gettrace);
}
