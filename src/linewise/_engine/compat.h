/* compat.h: every CPython version shim the engine needs, each with why.
 *
 * The rest of the engine calls these names and reads as if there were one Python.
 * Supported: 3.10 and 3.11 (legacy trace hooks only), 3.12+ (sys.monitoring or legacy).
 */
#ifndef LINEWISE_COMPAT_H
#define LINEWISE_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>  /* T_BOOL, READONLY (lw_frame_lines_offset) */
/* 3.12 renamed the structmember.h constants (the Wrapper type's members). */
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY READONLY
#endif
#include <frameobject.h>

#if PY_VERSION_HEX < 0x030A0000
#error "linewise needs Python 3.10 or newer"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LW_LIKELY(x) __builtin_expect(!!(x), 1)
#define LW_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For a hot-path helper whose inlining the compiler's budget would otherwise decide. */
#define LW_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LW_LIKELY(x) (x)
#define LW_UNLIKELY(x) (x)
#define LW_ALWAYS_INLINE inline
#endif

/* PEP 669 (sys.monitoring) arrived in 3.12. */
#define LW_HAVE_MONITORING (PY_VERSION_HEX >= 0x030C0000)

/* Code-object extra slots: the underscore names were renamed PyUnstable_* in 3.12
 * (gh-101101); the old names remain only as deprecated aliases. */
#if PY_VERSION_HEX >= 0x030C0000
#define LW_Code_GetExtra PyUnstable_Code_GetExtra
#define LW_Code_SetExtra PyUnstable_Code_SetExtra
#define LW_RequestCodeExtraIndex PyUnstable_Eval_RequestCodeExtraIndex
#else
#define LW_Code_GetExtra _PyCode_GetExtra
#define LW_Code_SetExtra _PyCode_SetExtra
#define LW_RequestCodeExtraIndex _PyEval_RequestCodeExtraIndex
#endif

/* The code object a frame runs, borrowed. 3.11 made PyFrameObject opaque (bpo-46836);
 * PyFrame_GetCode returns a new reference, which the frame keeps alive anyway. */
static inline PyCodeObject *
lw_frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code);
    return code;
#else
    return frame->f_code;
#endif
}

/* The line a legacy trace event is for. During a trace call CPython stores the line in
 * f_lineno; on 3.10 PyFrame_GetLineNumber ignores it when no Python-level trace function
 * is set and rescans the line table (O(code size)), so read the field directly there. */
static inline int
lw_frame_line(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLineNumber(frame);
#else
    return frame->f_lineno;
#endif
}

/* Byte offset of the frame's last instruction (-1 before the first). 3.10 stores it in
 * code units; PyFrame_GetLasti (3.11+, bpo-40421) returns bytes. */
static inline int
lw_frame_lasti(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame);
#else
    return frame->f_lasti < 0 ? -1 : frame->f_lasti * 2;
#endif
}

#if LW_HAVE_MONITORING
/* Identity of the running Python frame, for sys.monitoring callbacks, which get no frame.
 * The interpreter frame lives in the generator object for generators, so the key is
 * stable across yields; asking for a PyFrameObject would allocate one. 3.13 moved
 * current_frame from the _PyCFrame onto the thread state (gh-112529). */
static inline void *
lw_current_frame_key(PyThreadState *tstate)
{
#if PY_VERSION_HEX >= 0x030D0000
    return (void *)tstate->current_frame;
#else
    return (void *)tstate->cframe->current_frame;
#endif
}
#endif


/* Legacy backend, telling a yield from a return and a resume from a start. 3.10 has the
 * frame state in the public struct (f_state, and f_lasti == -1 before the first
 * instruction); 3.11 hid it (bpo-44032), so there the engine checks the last instruction's
 * offset against the code's YIELD_VALUE / RESUME offsets instead (linetable.h). */
#if PY_VERSION_HEX < 0x030B0000
#define LW_FRAME_STATE_KNOWN 1
static inline int lw_frame_is_suspended(PyFrameObject *f) { return f->f_state == FRAME_SUSPENDED; }
static inline int lw_frame_has_started(PyFrameObject *f) { return f->f_lasti >= 0; }
#else
#define LW_FRAME_STATE_KNOWN 0
#endif

/* Setting another thread's C trace function: _PyEval_SetTrace is exported through 3.12;
 * 3.13 moved it to the internal API (gh-105603) and offers only
 * PyEval_SetTraceAllThreads (3.12+). */
#define LW_HAVE_SETTRACE_TSTATE (PY_VERSION_HEX < 0x030D0000)

/* Line events on or off for one frame (legacy backend: off in unprofiled code, back on
 * where a tracer may want them). The field is public on 3.10. 3.11 made PyFrameObject
 * opaque, but the field is still a plain bool member (what `frame.f_trace_lines = x`
 * writes), so its offset comes from the member descriptor (lw_frame_lines_offset(), read
 * at import); the attribute is the fallback when that is not so. Never raises. */
static inline void
lw_frame_set_lines(PyFrameObject *frame, Py_ssize_t offset, PyObject *attr_name, int on)
{
#if PY_VERSION_HEX >= 0x030B0000
    if (LW_LIKELY(offset > 0)) {
        ((char *)frame)[offset] = (char)(on != 0);
        return;
    }
    if (attr_name != NULL &&
        PyObject_SetAttr((PyObject *)frame, attr_name, on ? Py_True : Py_False) < 0) {
        PyErr_Clear();
    }
#else
    (void)offset, (void)attr_name;
    frame->f_trace_lines = (char)(on != 0);
#endif
}

/* Whether line events are on for the frame (1 when it cannot be read). */
static inline int
lw_frame_lines(PyFrameObject *frame, Py_ssize_t offset, PyObject *attr_name)
{
#if PY_VERSION_HEX >= 0x030B0000
    if (LW_LIKELY(offset > 0)) {
        return ((char *)frame)[offset] != 0;
    }
    PyObject *value = attr_name ? PyObject_GetAttr((PyObject *)frame, attr_name) : NULL;
    if (value == NULL) {
        PyErr_Clear();
        return 1;
    }
    int on = value != Py_False;
    Py_DECREF(value);
    return on;
#else
    (void)offset, (void)attr_name;
    return frame->f_trace_lines != 0;
#endif
}

/* The byte offset of f_trace_lines in a frame object, or -1 when its descriptor is not a
 * writable bool member. Clears any error. */
static inline Py_ssize_t
lw_frame_lines_offset(void)
{
#ifndef Py_T_BOOL  /* 3.12 renamed the structmember.h constants */
#define Py_T_BOOL T_BOOL
#define Py_READONLY READONLY
#endif
    Py_ssize_t offset = -1;
    PyObject *descr = PyObject_GetAttrString((PyObject *)&PyFrame_Type, "f_trace_lines");
    if (descr == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == Py_T_BOOL && !(m->flags & Py_READONLY) && m->offset > 0 &&
            m->offset < PyFrame_Type.tp_basicsize) {
            offset = m->offset;
        }
    }
    Py_DECREF(descr);
    return offset;
}

/* A line number from a sys.monitoring callback. 3.12 made small ints' layout public
 * through PyUnstable_Long_* inlines (gh-101291), sparing a PyLong_AsLong call per event. */
static inline int
lw_small_int(PyObject *value)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (LW_LIKELY(PyLong_CheckExact(value) && PyUnstable_Long_IsCompact((PyLongObject *)value))) {
        return (int)PyUnstable_Long_CompactValue((PyLongObject *)value);
    }
#endif
    long line = PyLong_AsLong(value);
    if (line == -1 && PyErr_Occurred()) {
        PyErr_Clear();  /* not a line number: 0 is never charged */
        return 0;
    }
    return line < 0 || line > INT_MAX ? 0 : (int)line;
}

/* Setting the current exception aside and back. PyErr_Fetch/PyErr_Restore are deprecated
 * from 3.12 (gh-101578) in favour of the single-object PyErr_GetRaisedException. Returns
 * the saved exception (owned, may be NULL). */
static inline PyObject *
lw_err_save(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* Raises `saved` again (consuming the reference); any exception set since is dropped. */
static inline void
lw_err_restore(PyObject *saved)
{
    PyErr_Clear();
    if (saved == NULL) {
        return;
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(saved);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(saved)), saved, PyException_GetTraceback(saved));
#endif
}

/* Whether the interpreter is shutting down: public from 3.13 (gh-110850). */
#if PY_VERSION_HEX >= 0x030D0000
#define lw_is_finalizing() Py_IsFinalizing()
#else
#define lw_is_finalizing() _Py_IsFinalizing()
#endif

/* co_qualname exists from 3.11 (bpo-44530); before that the function's __qualname__
 * is passed in from Python at registration. */
#define LW_HAVE_CO_QUALNAME (PY_VERSION_HEX >= 0x030B0000)


#endif /* LINEWISE_COMPAT_H */
