/* snapshot.c: Engine.snapshot_into, the counters so far copied into a caller's buffer.
 *
 * What `linewise run --live` reads once a second while the program runs. get_stats builds
 * a Python tuple per line that ran, and each allocation may start the garbage collector,
 * whose finalizers run Python code and may hand the GIL to another thread half-way through
 * the table; here the copy is a loop of memcpy under the GIL that calls no Python API, so
 * no other thread runs during it (the snapshot is consistent across threads) and the
 * program waits only as long as the copy takes. The caller keeps the buffer from one
 * snapshot to the next, so nothing is allocated either, and the hot path is not touched.
 *
 * The layout, in native-endian 64-bit integers, for each code of Engine.codes in order
 * (append-only, so record i is codes[i]): first_line, n_lines, then n_lines pairs
 * (hits, ticks) for first_line, first_line + 1, ... A code with no table has n_lines 0.
 * Ticks become nanoseconds with _engine.ns_per_tick().
 *
 * Free-threaded builds (no GIL) would need more: the hot path writes the counters from
 * several threads at once, so the copy would have to read them with relaxed atomic loads
 * (and the hot path write them atomically or per thread), and the slot arrays, which
 * lw_entry_add_slot reallocates, would need a lock or a stop-the-world pause to be read.
 */
#include "snapshot.h"
#include "linetable.h"

#include <string.h>

_Static_assert(sizeof(LineStat) == 2 * sizeof(int64_t), "LineStat is two 64-bit counters");

/* The bytes the snapshot of `self` takes (no exception). */
static Py_ssize_t
snapshot_size(EngineObject *self, lw_state *st)
{
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
        CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
        LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
        size += 2 * (Py_ssize_t)sizeof(int64_t);
        if (slot != NULL) {
            size += (Py_ssize_t)e->n_lines * (Py_ssize_t)sizeof(LineStat);
        }
    }
    return size;
}

PyObject *
lw_engine_snapshot_into(PyObject *op, PyObject *buffer)
{
    EngineObject *self = (EngineObject *)op;
    lw_state *st = lw_get_state(self->module);
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        return NULL;
    }
    /* From here to the end of the copy no Python API that could run code is called. */
    Py_ssize_t ncodes = PyList_GET_SIZE(self->codes);
    Py_ssize_t size = snapshot_size(self, st);
    if (size <= view.len) {
        char *out = (char *)view.buf;
        for (Py_ssize_t i = 0; i < ncodes; i++) {
            CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
            LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
            int64_t header[2] = {e ? e->first_line : 0, slot ? e->n_lines : 0};
            memcpy(out, header, sizeof(header));
            out += sizeof(header);
            if (slot != NULL) {
                size_t n = (size_t)e->n_lines * sizeof(LineStat);
                memcpy(out, slot->lines, n);
                out += n;
            }
        }
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nn)", ncodes, size);
}
