/* snapshot.c: Engine.snapshot_into, the counters so far copied into a caller's buffer.
 *
 * What `linewise run --live` reads once a second while the program runs. get_stats builds
 * a Python tuple per line that ran, and each allocation may start the garbage collector,
 * whose finalizers run Python code and may hand the GIL to another thread half-way through
 * the table; here the copy is a loop of code-extra lookups and memcpy under the GIL that
 * runs no Python code, so no other thread runs during it (the snapshot is one moment of
 * every thread's counts) and the program waits only as long as the copy takes. The
 * caller keeps the buffer from one snapshot to the next, so nothing is allocated either,
 * and the hot path is not touched.
 *
 * The layout, in native-endian 64-bit integers: first a header of LW_SNAPSHOT_HEADER
 * words for each code of Engine.codes in order (append-only, so header i is codes[i]):
 * first_line, n_lines, the hits and ticks of all its lines, the line with the most ticks
 * (0: none ran) and its ticks; then, code after code, n_lines pairs (hits, ticks) for
 * first_line, first_line + 1, ... A code with no table has n_lines 0. Ticks become
 * nanoseconds with _engine.ns_per_tick(). The headers' sums are made from the copy with
 * the GIL released; with them all in one table a reader gets per-function figures by
 * slicing (10^4 functions a second) and walks the lines of a few functions only. One
 * reader per buffer: while the sums are made another thread could call in with it.
 *
 * Free-threaded builds (no GIL) would need more: the hot path writes the counters from
 * several threads at once, so the copy would have to read them with relaxed atomic loads
 * (and the hot path write them atomically or per thread), and the slot arrays, which
 * lw_entry_add_slot reallocates, would need a lock or a stop-the-world pause to be read.
 */
#include "snapshot.h"
#include "linetable.h"

#include <string.h>

#include <stddef.h>

/* A line's counters go out as they are: whole 64-bit words, hits and ticks first (the
 * reader steps over the rest: SNAPSHOT_LINE_WORDS). */
_Static_assert(sizeof(LineStat) % sizeof(int64_t) == 0 && offsetof(LineStat, hits) == 0 &&
               offsetof(LineStat, ticks) == sizeof(int64_t),
               "LineStat is 64-bit counters, hits and ticks first");

enum { LW_SNAPSHOT_HEADER = 6 };

/* The bytes the snapshot of `self` takes (no exception). */
static Py_ssize_t
snapshot_size(EngineObject *self, lw_state *st)
{
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
        CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
        LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
        size += LW_SNAPSHOT_HEADER * (Py_ssize_t)sizeof(int64_t);
        if (slot != NULL) {
            size += (Py_ssize_t)e->n_lines * (Py_ssize_t)sizeof(LineStat);
        }
    }
    return size;
}

/* Fills in the sums of the `ncodes` headers of the copied snapshot `words`; touches only
 * the caller's buffer, so it runs without the GIL. */
static void
summarize(int64_t *words, Py_ssize_t ncodes)
{
    const LineStat *lines = (const LineStat *)&words[ncodes * LW_SNAPSHOT_HEADER];
    for (Py_ssize_t i = 0; i < ncodes; i++) {
        int64_t *header = &words[i * LW_SNAPSHOT_HEADER];
        uint64_t hits = 0;
        int64_t ticks = 0, best = -1, best_ticks = 0;
        for (int64_t j = 0; j < header[1]; j++) {
            hits += lines[j].hits;
            ticks += lines[j].ticks;
            if ((lines[j].hits || lines[j].ticks) && (best < 0 || lines[j].ticks > best_ticks)) {
                best = j;
                best_ticks = lines[j].ticks;
            }
        }
        header[2] = (int64_t)hits;
        header[3] = ticks;
        header[4] = best < 0 ? 0 : header[0] + best;
        header[5] = best_ticks;
        lines += header[1];
    }
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
    if (size <= view.len && (uintptr_t)view.buf % _Alignof(int64_t) != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "snapshot_into: the buffer is not 8-byte aligned");
        return NULL;
    }
    if (size <= view.len) {
        int64_t *header = (int64_t *)view.buf;
        char *out = (char *)&header[ncodes * LW_SNAPSHOT_HEADER];
        for (Py_ssize_t i = 0; i < ncodes; i++, header += LW_SNAPSHOT_HEADER) {
            CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
            LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
            memset(header, 0, LW_SNAPSHOT_HEADER * sizeof(int64_t));
            header[0] = e ? e->first_line : 0;
            header[1] = slot ? e->n_lines : 0;
            if (slot != NULL) {
                size_t n = (size_t)e->n_lines * sizeof(LineStat);
                memcpy(out, slot->lines, n);
                out += n;
            }
        }
        /* The copy is done: the program's threads may run while it is summed. */
        Py_BEGIN_ALLOW_THREADS
        summarize((int64_t *)view.buf, ncodes);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nn)", ncodes, size);
}
