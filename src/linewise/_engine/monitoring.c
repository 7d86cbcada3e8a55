/* monitoring.c: the Python 3.12+ backend, PEP 669 sys.monitoring with C callables.
 *
 * PY_START, PY_RESUME, LINE, PY_RETURN and PY_YIELD are enabled locally on the profiled
 * code objects only, so the rest of the program runs uninstrumented. PY_UNWIND and
 * PY_THROW can only be enabled globally; their callbacks drop unprofiled code at the
 * first check. We hold one tool id while any engine is enabled and never touch others.
 */
#include <stdarg.h>
#include <string.h>

#include "events.h"

#if LW_HAVE_MONITORING

#ifdef LINEWISE_NULL_HOOK
/* Benchmark floor: every callback reads the timer and returns (compiled out otherwise;
 * the sink keeps the reading from being optimised away). */
volatile int64_t lw_null_sink;
#define NULL_HOOK_RETURN()          \
    do {                            \
        lw_null_sink = lw_timer_now(); \
        Py_RETURN_NONE;             \
    } while (0)
#else
#define NULL_HOOK_RETURN() ((void)0)
#endif

/* What the callbacks are bound to (their `self`): the module's state at one load, where
 * PyModule_GetState would be a call into libpython on every event. It keeps the module,
 * and so the state, alive for as long as sys.monitoring holds a callback. */
typedef struct {
    PyObject_HEAD
    lw_state *st;       /* the module's state */
    PyObject *module;   /* owned */
} CallbackSelf;

static int
callback_self_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((CallbackSelf *)self)->module);
    return 0;
}

static int
callback_self_clear(PyObject *self)
{
    Py_CLEAR(((CallbackSelf *)self)->module);
    return 0;
}

static void
callback_self_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)callback_self_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot callback_self_slots[] = {
    {Py_tp_traverse, callback_self_traverse},
    {Py_tp_clear, callback_self_clear},
    {Py_tp_dealloc, callback_self_dealloc},
    {Py_tp_doc, (void *)"What linewise's sys.monitoring callbacks are bound to."},
    {0, NULL},
};

static PyType_Spec callback_self_spec = {
    .name = "linewise._engine.MonitoringCallbacks",
    .basicsize = sizeof(CallbackSelf),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = callback_self_slots,
};

/* A new CallbackSelf for `module`, or NULL with an exception. */
static PyObject *
callback_self_new(PyObject *module, lw_state *st)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &callback_self_spec, NULL);  /* owned */
    if (type == NULL) {
        return NULL;
    }
    CallbackSelf *self = PyObject_GC_New(CallbackSelf, (PyTypeObject *)type);  /* owns a ref to type */
    Py_DECREF(type);
    if (self == NULL) {
        return NULL;
    }
    self->st = st;
    self->module = Py_NewRef(module);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static inline lw_state *
callback_state(PyObject *self)
{
    return ((CallbackSelf *)self)->st;
}

/* The entry of an active profiled code object, or NULL. */
static inline CodeEntry *
active_entry(lw_state *st, PyObject *code)
{
    if (LW_UNLIKELY(!PyCode_Check(code))) {
        return NULL;  /* only a caller other than sys.monitoring passes anything else */
    }
    CodeEntry *e = lw_code_entry(st->extra_index, code);
    return (e != NULL && e->active) ? e : NULL;
}

static PyObject *
on_line_event(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    NULL_HOOK_RETURN();
    int64_t now = lw_timer_now();
    lw_state *st = callback_state(self);
    CodeEntry *e;
    if (LW_LIKELY(nargs >= 2) && (e = active_entry(st, args[0])) != NULL) {
        lw_mem_forget_event_args(st, args, nargs);
        PyThreadState *tstate = PyThreadState_GET();
        lw_on_line(st, tstate, lw_current_frame_key(tstate), e, lw_small_int(args[1]), now);
    }
    Py_RETURN_NONE;
}

static PyObject *
on_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    NULL_HOOK_RETURN();
    int64_t now = lw_timer_now();
    lw_state *st = callback_state(self);
    CodeEntry *e;
    if (LW_LIKELY(nargs >= 1) && (e = active_entry(st, args[0])) != NULL) {
        lw_mem_forget_event_args(st, args, nargs);
        PyThreadState *tstate = PyThreadState_GET();
        lw_on_start(st, tstate, lw_current_frame_key(tstate), e, now);
    }
    Py_RETURN_NONE;
}

/* PY_RESUME and PY_THROW (a generator entered through throw() or close()). */
static PyObject *
on_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    NULL_HOOK_RETURN();
    int64_t now = lw_timer_now();
    lw_state *st = callback_state(self);
    CodeEntry *e;
    if (LW_LIKELY(nargs >= 1) && (e = active_entry(st, args[0])) != NULL) {
        lw_mem_forget_event_args(st, args, nargs);
        PyThreadState *tstate = PyThreadState_GET();
        lw_on_resume(st, tstate, lw_current_frame_key(tstate), e, now);
    }
    Py_RETURN_NONE;
}

/* PY_RETURN and PY_UNWIND. */
static PyObject *
on_leave(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    NULL_HOOK_RETURN();
    int64_t now = lw_timer_now();
    lw_state *st = callback_state(self);
    CodeEntry *e;
    if (LW_LIKELY(nargs >= 1) && (e = active_entry(st, args[0])) != NULL) {
        lw_mem_forget_event_args(st, args, nargs);
        PyThreadState *tstate = PyThreadState_GET();
        lw_on_exit(st, tstate, lw_current_frame_key(tstate), e, now);
    }
    Py_RETURN_NONE;
}

static PyObject *
on_yield(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    NULL_HOOK_RETURN();
    int64_t now = lw_timer_now();
    lw_state *st = callback_state(self);
    CodeEntry *e;
    if (LW_LIKELY(nargs >= 3) && (e = active_entry(st, args[0])) != NULL) {
        lw_mem_forget_event_args(st, args, nargs);
        PyThreadState *tstate = PyThreadState_GET();
        lw_on_yield(st, tstate, lw_current_frame_key(tstate), e, lw_is_await(e, args[2]), now);
    }
    Py_RETURN_NONE;
}

static PyMethodDef callback_defs[] = {
    {"_on_line", (PyCFunction)(void (*)(void))on_line_event, METH_FASTCALL, NULL},
    {"_on_start", (PyCFunction)(void (*)(void))on_start, METH_FASTCALL, NULL},
    {"_on_resume", (PyCFunction)(void (*)(void))on_resume, METH_FASTCALL, NULL},
    {"_on_exit", (PyCFunction)(void (*)(void))on_leave, METH_FASTCALL, NULL},
    {"_on_yield", (PyCFunction)(void (*)(void))on_yield, METH_FASTCALL, NULL},
};

/* Event name in sys.monitoring.events -> index into callback_defs. */
static const struct {
    const char *event;
    int callback;
} event_map[] = {
    {"LINE", 0},      {"PY_START", 1},  {"PY_RESUME", 2}, {"PY_THROW", 2},
    {"PY_RETURN", 3}, {"PY_UNWIND", 3}, {"PY_YIELD", 4},
};
#define N_EVENTS (sizeof(event_map) / sizeof(event_map[0]))

static int lw_monitoring_stop(lw_state *st);

/* Reads sys.monitoring and builds the callables. Returns 0, or -1 with an exception. */
static int
lw_monitoring_init(PyObject *module, lw_state *st)
{
    PyObject *sys = NULL;     /* owned */
    PyObject *events = NULL;  /* owned */
    PyObject *pairs = NULL;   /* owned */
    PyObject *bit = NULL;     /* owned */
    PyObject *callable = NULL;  /* owned */
    PyObject *self = NULL;    /* owned: the callables' self */
    st->mon.tool_id = -1;
    sys = PyImport_ImportModule("sys");
    if (sys == NULL) {
        goto error;
    }
    st->mon.sys_monitoring = PyObject_GetAttrString(sys, "monitoring");
    if (st->mon.sys_monitoring == NULL) {
        goto error;
    }
    events = PyObject_GetAttrString(st->mon.sys_monitoring, "events");
    if (events == NULL) {
        goto error;
    }
    pairs = PyTuple_New(N_EVENTS);
    if (pairs == NULL) {
        goto error;
    }
    self = callback_self_new(module, st);
    if (self == NULL) {
        goto error;
    }
    st->mon.local_events = st->mon.global_events = 0;
    for (size_t i = 0; i < N_EVENTS; i++) {
        bit = PyObject_GetAttrString(events, event_map[i].event);
        if (bit == NULL) {
            goto error;
        }
        long value = PyLong_AsLong(bit);
        if (value == -1 && PyErr_Occurred()) {
            goto error;
        }
        int is_global = strcmp(event_map[i].event, "PY_UNWIND") == 0 ||
                        strcmp(event_map[i].event, "PY_THROW") == 0;
        if (is_global) {
            st->mon.global_events |= value;
        }
        else {
            st->mon.local_events |= value;
        }
        callable = PyCFunction_NewEx(&callback_defs[event_map[i].callback], self, NULL);
        if (callable == NULL) {
            goto error;
        }
        PyObject *pair = PyTuple_Pack(2, bit, callable);
        if (pair == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(pairs, (Py_ssize_t)i, pair);
        Py_CLEAR(bit);
        Py_CLEAR(callable);
    }
    st->mon.callbacks = pairs;
    Py_DECREF(sys);
    Py_DECREF(events);
    Py_DECREF(self);
    return 0;
error:
    Py_XDECREF(self);
    Py_XDECREF(sys);
    Py_XDECREF(events);
    Py_XDECREF(pairs);
    Py_XDECREF(bit);
    Py_XDECREF(callable);
    return -1;
}

/* Calls sys.monitoring.<name>(*args) and drops the result. Returns 0, or -1 with an
 * exception set. */
static int
call_monitoring(lw_state *st, const char *name, const char *format, ...)
{
    PyObject *func = NULL;    /* owned */
    PyObject *args = NULL;    /* owned */
    PyObject *result = NULL;  /* owned */
    va_list va;
    func = PyObject_GetAttrString(st->mon.sys_monitoring, name);
    if (func == NULL) {
        goto error;
    }
    va_start(va, format);
    args = Py_VaBuildValue(format, va);
    va_end(va);
    if (args == NULL) {
        goto error;
    }
    result = PyObject_Call(func, args, NULL);
    if (result == NULL) {
        goto error;
    }
    Py_DECREF(func);
    Py_DECREF(args);
    Py_DECREF(result);
    return 0;
error:
    Py_XDECREF(func);
    Py_XDECREF(args);
    return -1;
}

/* Whether tool `id` is free (sys.monitoring.get_tool(id) is None): 1, 0, or -1 with an
 * exception set. */
static int
tool_is_free(lw_state *st, int id)
{
    PyObject *name = PyObject_CallMethod(st->mon.sys_monitoring, "get_tool", "i", id);  /* owned */
    if (name == NULL) {
        return -1;
    }
    int is_free = (name == Py_None);
    Py_DECREF(name);
    return is_free;
}

/* Undoes our register_callback calls on tool `id`, leaving alone any callback that is
 * not ours (another tool has the id now). Never raises. */
static void
drop_our_callbacks(lw_state *st, int id)
{
    PyObject *pending = lw_err_save();  /* owned */
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(st->mon.callbacks); i++) {
        PyObject *pair = PyTuple_GET_ITEM(st->mon.callbacks, i);
        PyObject *old = PyObject_CallMethod(st->mon.sys_monitoring, "register_callback", "iOO", id,
                                            PyTuple_GET_ITEM(pair, 0), Py_None);  /* owned */
        if (old == NULL) {
            PyErr_Clear();
            continue;
        }
        if (old != Py_None && old != PyTuple_GET_ITEM(pair, 1)) {
            PyObject *back = PyObject_CallMethod(st->mon.sys_monitoring, "register_callback", "iOO",
                                                 id, PyTuple_GET_ITEM(pair, 0), old);
            if (back == NULL) {
                PyErr_Clear();
            }
            Py_XDECREF(back);
        }
        Py_DECREF(old);
    }
    lw_err_restore(pending);
}

/* Whether our tool id is still ours: profiled code may have called free_tool_id() on it
 * (and another tool may have taken it since). A freed id is taken back, so that its
 * events can be switched off and it freed again properly; one taken by another tool is
 * left to it, our callbacks removed from it. Either way one RuntimeWarning. Returns 1
 * (still or again ours), 0 (lost: tool_id is -1 now), or -1 with an exception (the
 * warning raised). */
static int
check_tool(lw_state *st)
{
    int id = st->mon.tool_id;
    PyObject *name = PyObject_CallMethod(st->mon.sys_monitoring, "get_tool", "i", id);  /* owned */
    if (name == NULL) {
        return -1;
    }
    int ours = PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "linewise") == 0;
    if (ours) {
        Py_DECREF(name);
        return 1;
    }
    int status = 1;
    if (name == Py_None) {
        if (call_monitoring(st, "use_tool_id", "(is)", id, "linewise") < 0) {
            PyErr_Clear();
            drop_our_callbacks(st, id);
            st->mon.tool_id = -1;
            status = 0;
        }
        if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "linewise: profiled code freed linewise's sys.monitoring tool id "
                             "%d (sys.monitoring.free_tool_id) while profiling; linewise took it "
                             "back to switch its events off. Lines run meanwhile may be "
                             "missing from the results.", id) < 0) {
            status = -1;
        }
    }
    else {
        drop_our_callbacks(st, id);
        st->mon.tool_id = -1;
        status = 0;
        if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "linewise: profiled code freed linewise's sys.monitoring tool id "
                             "%d while profiling, and %R took it; left to that tool. Lines run "
                             "after that may be missing from the results.", id, name) < 0) {
            status = -1;
        }
    }
    Py_DECREF(name);
    return status;
}

static int
lw_monitoring_start(lw_state *st)
{
    /* Ids PEP 669 leaves unassigned first: cProfile (3.12+) insists on PROFILER_ID (2) and
     * fails if it is taken, and an engine stays armed between decorated calls, so holding
     * 2 would break cProfile after any use of linewise. Then 2, then the debugger's,
     * coverage's and the optimizer's, as a last resort. */
    static const int preference[] = {3, 4, 2, 5, 0, 1};
    int id = -1;
    if (st->mon.sys_monitoring == NULL || st->mon.callbacks == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: the engine module was torn down");
        return -1;
    }
    for (size_t i = 0; i < sizeof(preference) / sizeof(preference[0]); i++) {
        int is_free = tool_is_free(st, preference[i]);
        if (is_free < 0) {
            return -1;
        }
        if (is_free) {
            id = preference[i];
            break;
        }
    }
    if (id < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "linewise: every sys.monitoring tool id is in use by other tools");
        return -1;
    }
    if (call_monitoring(st, "use_tool_id", "(is)", id, "linewise") < 0) {
        return -1;
    }
    st->mon.tool_id = id;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(st->mon.callbacks); i++) {
        PyObject *pair = PyTuple_GET_ITEM(st->mon.callbacks, i);
        if (call_monitoring(st, "register_callback", "(iOO)", id, PyTuple_GET_ITEM(pair, 0),
                            PyTuple_GET_ITEM(pair, 1)) < 0) {
            goto error;
        }
    }
    if (call_monitoring(st, "set_events", "(il)", id, st->mon.global_events) < 0) {
        goto error;
    }
    return 0;
error:
    {
        PyObject *exc = PyErr_GetRaisedException();  /* owned */
        (void)lw_monitoring_stop(st);
        PyErr_Clear();
        PyErr_SetRaisedException(exc);
    }
    return -1;
}

static int
lw_monitoring_stop(lw_state *st)
{
    int id = st->mon.tool_id;
    PyObject *first_exc = NULL;  /* owned: the first failure, raised at the end */
    if (id < 0 || st->mon.sys_monitoring == NULL || st->mon.callbacks == NULL) {
        return 0;  /* never started, lost (check_tool), or the module is being torn down */
    }
    /* Undo every step even if one fails, so the tool id is never left half set up. */
#define STEP(call)                                          \
    if ((call) < 0 && first_exc == NULL) {                  \
        first_exc = PyErr_GetRaisedException();             \
    }                                                       \
    PyErr_Clear();
    STEP(check_tool(st));  /* a warning turned into an error still lets the rest run */
    if (st->mon.tool_id < 0) {
        goto done;  /* lost to another tool: nothing of ours left to undo */
    }
    STEP(call_monitoring(st, "set_events", "(ii)", id, 0));
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(st->mon.callbacks); i++) {
        PyObject *pair = PyTuple_GET_ITEM(st->mon.callbacks, i);
        STEP(call_monitoring(st, "register_callback", "(iOO)", id, PyTuple_GET_ITEM(pair, 0),
                             Py_None));
    }
    STEP(call_monitoring(st, "free_tool_id", "(i)", id));
#undef STEP
done:
    st->mon.tool_id = -1;
    if (first_exc != NULL) {
        PyErr_SetRaisedException(first_exc);
        return -1;
    }
    return 0;
}

static int
lw_monitoring_set_code(lw_state *st, PyObject *code, int on)
{
    if (st->mon.tool_id < 0 || st->mon.sys_monitoring == NULL) {
        return 0;
    }
    int ours = check_tool(st);
    if (ours <= 0) {
        return ours;
    }
    return call_monitoring(st, "set_local_events", "(iOl)", st->mon.tool_id, code,
                           on ? st->mon.local_events : 0L);
}

static int
lw_monitoring_arm_code(lw_state *st, PyObject *code)
{
    return lw_monitoring_set_code(st, code, 1);
}

static int
lw_monitoring_disarm_code(lw_state *st, PyObject *code)
{
    return lw_monitoring_set_code(st, code, 0);
}

static int
lw_monitoring_traverse(lw_state *st, visitproc visit, void *arg)
{
    Py_VISIT(st->mon.sys_monitoring);
    Py_VISIT(st->mon.callbacks);
    return 0;
}

static void
lw_monitoring_clear(lw_state *st)
{
    Py_CLEAR(st->mon.sys_monitoring);
    Py_CLEAR(st->mon.callbacks);
}

const lw_backend_ops lw_monitoring_ops = {
    .name = "monitoring",
    .keeps_armed = 1,
    .init = lw_monitoring_init,
    .start = lw_monitoring_start,
    .stop = lw_monitoring_stop,
    .arm_code = lw_monitoring_arm_code,
    .disarm_code = lw_monitoring_disarm_code,
    .traverse = lw_monitoring_traverse,
    .clear = lw_monitoring_clear,
};

#endif /* LW_HAVE_MONITORING */
