/* snapshot.h: Engine.snapshot_into (snapshot.c), the counters copied for a live view. */
#ifndef LINEWISE_SNAPSHOT_H
#define LINEWISE_SNAPSHOT_H

#include "state.h"

#define LW_SNAPSHOT_INTO_DOC \
"snapshot_into(buffer) -> (codes, nbytes)\n\n" \
"Copies every watched code's counters into the writable buffer (a bytearray), as 64-bit\n" \
"integers: per code first_line, n_lines, its hits and ticks summed, its line with the most\n" \
"ticks (0: none ran) and those ticks, then (hits, ticks) per line. Returns how many\n" \
"codes and how many bytes that takes; if nbytes is more than len(buffer) nothing is\n" \
"copied (grow the buffer and call again). The copy runs no Python code: no other thread\n" \
"runs during it (the sums are made afterwards, without the GIL). The buffer must be\n" \
"8-byte aligned (a bytearray's is)."

/* Engine.snapshot_into(buffer) (METH_O). Returns (codes, nbytes), or NULL with an
 * exception set. */
PyObject *lw_engine_snapshot_into(PyObject *self, PyObject *buffer);

#endif /* LINEWISE_SNAPSHOT_H */
