/* module.c: the linewise._engine module: its state and its functions. */
#include "results.h"
#include "signals.h"
#include "state.h"
#include "timer.h"

static int
engine_exec(PyObject *module)
{
    lw_state *st = lw_get_state(module);
    PyObject *type = NULL;  /* owned */
    st->mon.tool_id = -1;
    st->switch_lock = PyThread_allocate_lock();
    if (st->switch_lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    lw_timer_init();
    if (lw_linetable_init(&st->extra_index) < 0 || lw_backend_choose(st) < 0 ||
        st->ops->init(module, st) < 0) {
        return -1;
    }
    type = PyType_FromModuleAndSpec(module, &lw_engine_spec, NULL);
    if (type == NULL) {
        goto error;
    }
    st->engine_type = (PyTypeObject *)Py_NewRef(type);
    if (PyModule_AddObjectRef(module, "Engine", type) < 0) {
        goto error;
    }
    Py_CLEAR(type);
    type = PyType_FromModuleAndSpec(module, &lw_wrapper_spec, NULL);
    if (type == NULL) {
        goto error;
    }
    st->wrapper_type = (PyTypeObject *)Py_NewRef(type);
    if (PyModule_AddObjectRef(module, "Wrapper", type) < 0) {
        goto error;
    }
    Py_CLEAR(type);
    if (PyModule_AddStringConstant(module, "backend", st->ops->name) < 0 ||
        PyModule_AddStringConstant(module, "timer", lw_timer_name()) < 0) {
        goto error;
    }
    if (PyModule_AddIntConstant(module, "MAX_LINE_SPAN", LW_MAX_LINE_SPAN) < 0 ||
        PyModule_AddIntConstant(module, "SNAPSHOT_LINE_WORDS",
                                (long)(sizeof(LineStat) / sizeof(int64_t))) < 0) {
        goto error;
    }
#ifdef LINEWISE_NULL_HOOK
    if (PyModule_AddIntConstant(module, "null_hook", 1) < 0) {
        goto error;
    }
#else
    if (PyModule_AddIntConstant(module, "null_hook", 0) < 0) {
        goto error;
    }
#endif
    return 0;
error:
    Py_XDECREF(type);
    return -1;
}

static PyObject *
timer_now(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLongLong(lw_timer_now());
}

static PyObject *
ns_per_tick(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyFloat_FromDouble(lw_timer_ns_per_tick());
}

static PyObject *
diagnostics(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    lw_state *st = lw_get_state(module);
    return Py_BuildValue("{sisisKsnsisnsn}", "armed_engines", st->n_armed, "tool_id",
                         st->mon.tool_id, "dropped_events", (unsigned long long)st->dropped,
                         "trace_hooks_lost", st->legacy.hooks_lost,
                         "thread_stack_depth", lw_tstack.epoch == st->epoch ? lw_tstack.size : 0,
                         "suspended_frames", (Py_ssize_t)st->suspended.used,
                         "suspended_cap", (Py_ssize_t)lw_suspend_cap());
}

static PyObject *
memory_numpy_check(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    if (lw_mem_numpy_check() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"timer_now", timer_now, METH_NOARGS, "The current timer reading, in ticks."},
    {"ns_per_tick", ns_per_tick, METH_NOARGS, "Nanoseconds per timer tick (calibrated)."},
    {"diagnostics", diagnostics, METH_NOARGS, "Internal counters, for tests."},
    {"memory_diagnostics", lw_mem_diagnostics, METH_NOARGS,
     "Memory tracing's state: the allocators in place, this thread's counters (tests)."},
    {"memory_numpy_check", memory_numpy_check, METH_NOARGS,
     "numpy was imported: wrap its allocation handler if memory is being traced."},
    LW_RESULTS_METHODS
    LW_SIGNAL_METHODS
    {NULL, NULL, 0, NULL},
};

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    lw_state *st = lw_get_state(module);
    Py_VISIT(st->engine_type);
    Py_VISIT(st->wrapper_type);
    return st->ops != NULL ? st->ops->traverse(st, visit, arg) : 0;
}

static int
module_clear(PyObject *module)
{
    lw_state *st = lw_get_state(module);
    Py_CLEAR(st->engine_type);
    Py_CLEAR(st->wrapper_type);
    if (st->ops != NULL) {
        st->ops->clear(st);
    }
    lw_suspend_clear(&st->suspended);
    return 0;
}

static void
module_free(void *module)
{
    lw_state *st = lw_get_state((PyObject *)module);
    (void)module_clear((PyObject *)module);
    if (st != NULL && st->switch_lock != NULL) {
        PyThread_free_lock(st->switch_lock);
        st->switch_lock = NULL;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, engine_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Thread stacks are C thread-locals and the hooks are process-wide. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef engine_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "linewise._engine",
    .m_doc = "The C engine of linewise: event hooks, timer, line tables, results files.",
    .m_size = sizeof(lw_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__engine(void)
{
    return PyModuleDef_Init(&engine_module);
}
