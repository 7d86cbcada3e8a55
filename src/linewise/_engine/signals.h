/* signals.h: fatal signals sent again until their Python handler runs (signals.c). */
#ifndef LINEWISE_SIGNALS_H
#define LINEWISE_SIGNALS_H

#include "compat.h"

/* resend_until_handled(signum) -> None; ValueError out of range, OSError from the system. */
PyObject *lw_resend_until_handled(PyObject *module, PyObject *arg);
/* signal_handled() -> None: the Python handler runs; the repeats stop. */
PyObject *lw_signal_handled(PyObject *module, PyObject *ignored);

#define LW_SIGNAL_METHODS                                                               \
    {"resend_until_handled", lw_resend_until_handled, METH_O,                           \
     "Puts a C handler in front of CPython's for this signal (handled in Python): until " \
     "signal_handled(), it is sent again to this thread every 50 ms."},                  \
    {"signal_handled", lw_signal_handled, METH_NOARGS,                                  \
     "The Python handler of a fatal signal runs: no more repeats."},

#endif
