/* linetable.c: creating, finding and freeing the per-code line tables. */
#include "linetable.h"

#include <string.h>

/* Called by CPython when a code object holding an entry is freed. Engines keep strong
 * references to their code objects, so by then every slot has been removed. */
static void
free_entry(void *extra)
{
    CodeEntry *entry = (CodeEntry *)extra;
    if (entry == NULL) {
        return;
    }
    for (int i = 0; i < entry->n_slots; i++) {
        PyMem_RawFree(entry->slots[i].lines);
        PyMem_RawFree(entry->slots[i].mem);
    }
    PyMem_RawFree(entry->slots);
    PyMem_RawFree(entry->yield_map);
    PyMem_RawFree(entry);
}

int
lw_linetable_init(Py_ssize_t *index)
{
    *index = LW_RequestCodeExtraIndex(free_entry);
    if (*index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "linewise: no code-object extra slot left");
        return -1;
    }
    return 0;
}

static int
kind_of(PyCodeObject *code)
{
    int flags = code->co_flags;
    if (flags & CO_ASYNC_GENERATOR) {
        return LW_KIND_ASYNCGEN;
    }
    if (flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE)) {
        return LW_KIND_COROUTINE;
    }
    if (flags & CO_GENERATOR) {
        return LW_KIND_GENERATOR;
    }
    return LW_KIND_PLAIN;
}

/* Fills entry->yield_map from a sequence of byte offsets. Returns 0, or -1 with an exception. */
static int
fill_yield_map(CodeEntry *entry, PyObject *offsets)
{
    PyObject *seq = NULL;  /* owned */
    if (offsets == NULL || offsets == Py_None) {
        return 0;
    }
    seq = PySequence_Fast(offsets, "yield offsets must be a sequence");
    if (seq == NULL) {
        goto error;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    long max_offset = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long off = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (off == -1 && PyErr_Occurred()) {
            goto error;
        }
        if (off < 0 || off > (1L << 28)) {
            PyErr_SetString(PyExc_ValueError, "yield offset out of range");
            goto error;
        }
        if (off > max_offset) {
            max_offset = off;
        }
    }
    if (max_offset >= 0) {
        entry->n_yield_map = max_offset / 2 + 1;
        entry->yield_map = PyMem_RawCalloc((size_t)entry->n_yield_map, 1);
        if (entry->yield_map == NULL) {
            entry->n_yield_map = 0;
            PyErr_NoMemory();
            goto error;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            long off = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
            entry->yield_map[off / 2] = 1;
        }
    }
    Py_DECREF(seq);
    return 0;
error:
    Py_XDECREF(seq);
    return -1;
}

CodeEntry *
lw_code_entry_ensure(Py_ssize_t index, PyObject *code, int first_line, int last_line,
                     PyObject *yield_offsets)
{
    CodeEntry *entry = NULL;  /* owned until stored in the code object */
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "expected a code object");
        return NULL;
    }
    entry = lw_code_entry(index, code);
    if (entry != NULL) {
        return entry;
    }
    /* In 64 bits: the difference of two ints can overflow an int. */
    if (first_line < 0 || last_line < first_line ||
        (long long)last_line - (long long)first_line >= LW_MAX_LINE_SPAN) {
        PyErr_Format(PyExc_ValueError, "bad line range %d..%d", first_line, last_line);
        return NULL;
    }
    if (first_line == 0) {
        /* Line 0 (co_firstlineno 0, from code.replace) is never counted: a frame's record
         * says "no line yet" with it, and the time before the first line would go there. */
        first_line = 1;
        last_line = last_line < 1 ? 1 : last_line;
    }
    entry = PyMem_RawCalloc(1, sizeof(CodeEntry));
    if (entry == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    entry->code = code;
    entry->first_line = first_line;
    entry->n_lines = last_line - first_line + 1;
    entry->kind = kind_of((PyCodeObject *)code);
    if (fill_yield_map(entry, yield_offsets) < 0) {
        goto error;
    }
    if (LW_Code_SetExtra(code, index, entry) < 0) {
        goto error;
    }
    return entry;
error:
    free_entry(entry);
    return NULL;
}

LineSlot *
lw_entry_slot(CodeEntry *entry, struct EngineObject *engine)
{
    for (int i = 0; i < entry->n_slots; i++) {
        if (entry->slots[i].engine == engine) {
            return &entry->slots[i];
        }
    }
    return NULL;
}

int
lw_entry_add_slot(CodeEntry *entry, struct EngineObject *engine)
{
    LineStat *lines = NULL;  /* owned until stored in the slot */
    if (lw_entry_slot(entry, engine) != NULL) {
        return 0;
    }
    if (entry->n_slots == entry->cap_slots) {
        int cap = entry->cap_slots ? entry->cap_slots * 2 : 2;
        LineSlot *slots = PyMem_RawRealloc(entry->slots, (size_t)cap * sizeof(LineSlot));
        if (slots == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        entry->slots = slots;
        entry->cap_slots = cap;
    }
    lines = PyMem_RawCalloc((size_t)entry->n_lines, sizeof(LineStat));
    if (lines == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    entry->slots[entry->n_slots].engine = engine;
    entry->slots[entry->n_slots].lines = lines;
    entry->slots[entry->n_slots].mem = NULL;
    entry->slots[entry->n_slots].counts = 0;
    entry->n_slots++;
    return 0;
error:
    PyMem_RawFree(lines);
    return -1;
}

void
lw_entry_remove_slot(CodeEntry *entry, struct EngineObject *engine)
{
    for (int i = 0; i < entry->n_slots; i++) {
        if (entry->slots[i].engine == engine) {
            PyMem_RawFree(entry->slots[i].lines);
            PyMem_RawFree(entry->slots[i].mem);
            if (entry->slots[i].counts) {
                entry->counting--;
            }
            entry->slots[i] = entry->slots[entry->n_slots - 1];
            entry->n_slots--;
            return;
        }
    }
}
