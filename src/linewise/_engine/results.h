/* results.h: the results file (.lw) reader and writer, exposed to Python. */
#ifndef LINEWISE_RESULTS_H
#define LINEWISE_RESULTS_H

#include "compat.h"

PyObject *lw_write_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *lw_read_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#define LW_RESULTS_METHODS                                                              \
    {"write_results", (PyCFunction)(void (*)(void))lw_write_results, METH_FASTCALL,     \
     "write_results(path, payload): write a results file atomically."},                 \
    {"read_results", (PyCFunction)(void (*)(void))lw_read_results, METH_FASTCALL,       \
     "read_results(path) -> payload: read and validate a results file."},

#endif /* LINEWISE_RESULTS_H */
