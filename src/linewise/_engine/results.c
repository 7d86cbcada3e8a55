/* results.c: placeholder until the results format lands. */
#include "results.h"

PyObject *
lw_write_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module, (void)args, (void)nargs;
    PyErr_SetString(PyExc_NotImplementedError, "write_results");
    return NULL;
}

PyObject *
lw_read_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module, (void)args, (void)nargs;
    PyErr_SetString(PyExc_NotImplementedError, "read_results");
    return NULL;
}
