/* wrapper.c: the Wrapper type, what LineProfiler's decorator returns for a plain function.
 *
 * A call counts the engine up, calls the function and counts it down again, all in C
 * (vectorcall in, vectorcall out), so a decorated function called a million times pays
 * two counter updates per call rather than a Python-level wrapper's frame, argument
 * packing and two method calls. The rest of what a functools.wraps wrapper offers comes
 * from the instance __dict__ (linewise.profiler fills it with functools.update_wrapper:
 * __wrapped__, __name__, __qualname__, __doc__, __module__, the function's own __dict__),
 * __get__ (a method binds like a function) and __reduce__ (pickled by reference, as a
 * function is). Generator, coroutine and async-generator functions keep their Python
 * wrappers: those must be such functions themselves for inspect to say so. */
#include <stddef.h>  /* offsetof */

#include "state.h"

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *func;          /* owned: the wrapped callable */
    EngineObject *engine;    /* owned: counted up and down around each call */
    PyObject *profiler;      /* owned: the LineProfiler, kept alive as the Python wrapper's
                                closure kept it */
    PyObject *dict;          /* owned, or NULL until first needed: the attributes */
    PyObject *weakreflist;   /* weak references (functools.lru_cache, registries) */
} WrapperObject;

/* Calls the wrapped function with the engine counted up. Returns its result, or NULL with
 * an exception: the function's, or counting's (the function's then being its context, as
 * a raise in a `finally:` would leave it). */
static PyObject *
Wrapper_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    WrapperObject *self = (WrapperObject *)op;
    EngineObject *engine = self->engine;
    PyObject *result = NULL;  /* owned */
    Py_INCREF(engine);  /* the call may drop every other reference to this wrapper */
    if (lw_engine_count_up(engine) < 0) {
        goto done;
    }
    result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    if (result == NULL) {
        PyObject *raised = lw_err_save();  /* owned */
        if (lw_engine_count_down(engine, 1) < 0) {
            PyObject *counting = lw_err_save();  /* owned */
            if (counting != NULL && raised != NULL) {
                PyException_SetContext(counting, raised);  /* steals raised */
                raised = NULL;
            }
            Py_XDECREF(raised);
            raised = counting;
        }
        lw_err_restore(raised);
    }
    else if (lw_engine_count_down(engine, 1) < 0) {
        Py_CLEAR(result);
    }
done:
    Py_DECREF(engine);
    return result;
}

static PyObject *
Wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"func", "engine", "profiler", NULL};
    PyObject *func, *engine, *profiler = Py_None;  /* borrowed */
    WrapperObject *self = NULL;  /* owned */
    PyObject *module = PyType_GetModule(type);  /* borrowed */
    if (module == NULL) {
        return NULL;
    }
    lw_state *st = lw_get_state(module);
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO!|O:Wrapper", kwlist, &func,
                                     st->engine_type, &engine, &profiler)) {
        return NULL;
    }
    /* A non-callable is taken: calling the wrapper raises what calling it raises, as
     * the Python wrapper did. */
    self = (WrapperObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = Wrapper_vectorcall;
    self->func = Py_NewRef(func);
    self->engine = (EngineObject *)Py_NewRef(engine);
    self->profiler = Py_NewRef(profiler);
    return (PyObject *)self;
}

static int
Wrapper_traverse(WrapperObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->engine);
    Py_VISIT(self->profiler);
    Py_VISIT(self->dict);
    return 0;
}

static int
Wrapper_clear(WrapperObject *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->engine);
    Py_CLEAR(self->profiler);
    Py_CLEAR(self->dict);
    return 0;
}

static void
Wrapper_dealloc(WrapperObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    (void)Wrapper_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* Binds to an instance as a function does; from the class, the wrapper itself. */
static PyObject *
Wrapper_descr_get(PyObject *self, PyObject *obj, PyObject *Py_UNUSED(type))
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

/* The wrapped function's qualified name (as functools.wraps left it in __dict__), for
 * repr and pickling; NULL with an exception if there is none. */
static PyObject *
wrapper_qualname(WrapperObject *self)
{
    return PyObject_GetAttrString((PyObject *)self, "__qualname__");
}

static PyObject *
Wrapper_repr(WrapperObject *self)
{
    PyObject *name = wrapper_qualname(self);  /* owned */
    PyObject *repr;
    if (name == NULL) {
        PyErr_Clear();
        return PyUnicode_FromFormat("<linewise wrapper of %R>", self->func);
    }
    repr = PyUnicode_FromFormat("<function %S at %p, profiled by linewise>", name, self);
    Py_DECREF(name);
    return repr;
}

/* Pickled by reference, as a function is: the name pickle looks up in __module__. */
static PyObject *
Wrapper_reduce(WrapperObject *self, PyObject *Py_UNUSED(ignored))
{
    return wrapper_qualname(self);
}

static PyObject *
Wrapper_get_func(WrapperObject *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->func);
}

static PyObject *
Wrapper_get_profiler(WrapperObject *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->profiler);
}

static PyMethodDef Wrapper_methods[] = {
    {"__reduce__", (PyCFunction)Wrapper_reduce, METH_NOARGS, "Pickled by reference."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"__linewise_func__", (getter)Wrapper_get_func, NULL,
     "The callable this calls (fixed; __wrapped__ is only metadata).", NULL},
    {"__linewise_profiler__", (getter)Wrapper_get_profiler, NULL,
     "The LineProfiler enabled around each call.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef Wrapper_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(WrapperObject, vectorcall), Py_READONLY,
     NULL},
    {"__dictoffset__", Py_T_PYSSIZET, offsetof(WrapperObject, dict), Py_READONLY, NULL},
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(WrapperObject, weakreflist), Py_READONLY,
     NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot Wrapper_slots[] = {
    {Py_tp_new, Wrapper_new},
    {Py_tp_dealloc, Wrapper_dealloc},
    {Py_tp_traverse, Wrapper_traverse},
    {Py_tp_clear, Wrapper_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, Wrapper_descr_get},
    {Py_tp_repr, Wrapper_repr},
    {Py_tp_methods, Wrapper_methods},
    {Py_tp_getset, Wrapper_getset},
    {Py_tp_members, Wrapper_members},
    {Py_tp_doc, "Wrapper(func, engine, profiler=None): calls func with engine enabled "
                "(counted), as LineProfiler's decorator does."},
    {0, NULL},
};

PyType_Spec lw_wrapper_spec = {
    .name = "linewise._engine.Wrapper",
    .basicsize = sizeof(WrapperObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .slots = Wrapper_slots,
};
