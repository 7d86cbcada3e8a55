/* results.h: the results file (.lw) reader and writer, exposed to Python.
 *
 * The format is described byte by byte in docs/results-format.md. The reader treats its
 * input as hostile: lw_parse_results is the whole of it, over a memory buffer, so a fuzz
 * harness can drive it without touching the file system.
 */
#ifndef LINEWISE_RESULTS_H
#define LINEWISE_RESULTS_H

#include "compat.h"

/* The format version this build writes, and the newest it reads (it reads 1 too). */
#define LW_RESULTS_VERSION 2

/* Files (and payloads) larger than this are refused: results are kilobytes to megabytes,
 * and the reader holds the whole file in memory. */
#define LW_RESULTS_MAX_BYTES ((size_t)1 << 30)

/* write_results(path, payload) -> None, or NULL with TypeError/ValueError (bad payload)
 * or OSError naming path (the target is then untouched). */
PyObject *lw_write_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* write_file(path, data) -> None: writes the bytes data to path by the output-file rules
 * of results.c (atomic replace, symlinks followed, devices and FIFOs written through), or
 * NULL with OSError naming path. */
PyObject *lw_write_file(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* output_target(path) -> (target, kind): where a write to path would go and how ("new",
 * "file", "device", "fifo"), or NULL with the OSError the write would raise. */
PyObject *lw_output_target(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* read_results(path) -> payload dict, or NULL with OSError (cannot read path) or
 * ValueError (not a valid results file). */
PyObject *lw_read_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* encode_results(payload) -> bytes: the file write_results would write, in memory; or
 * NULL with TypeError/ValueError (bad payload). */
PyObject *lw_encode_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* decode_results(data) -> payload dict from a bytes-like object, or NULL with TypeError
 * (not bytes-like) or ValueError (not a valid results file). */
PyObject *lw_decode_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* Parses the len bytes at buf as a results file. Returns a new payload dict, or NULL with
 * ValueError saying what is wrong (MemoryError if memory runs out). Never reads outside
 * buf[0..len), and every allocation is bounded by len. */
PyObject *lw_parse_results(const unsigned char *buf, size_t len);

#define LW_RESULTS_METHODS                                                              \
    {"write_results", (PyCFunction)(void (*)(void))lw_write_results, METH_FASTCALL,     \
     "write_results(path, payload): write a results file atomically."},                 \
    {"write_file", (PyCFunction)(void (*)(void))lw_write_file, METH_FASTCALL,           \
     "write_file(path, data): write bytes to path as linewise writes every file."},     \
    {"output_target", (PyCFunction)(void (*)(void))lw_output_target, METH_FASTCALL,     \
     "output_target(path) -> (target, kind): where and how a write to path goes."},     \
    {"read_results", (PyCFunction)(void (*)(void))lw_read_results, METH_FASTCALL,       \
     "read_results(path) -> payload: read and validate a results file."},               \
    {"encode_results", (PyCFunction)(void (*)(void))lw_encode_results, METH_FASTCALL,   \
     "encode_results(payload) -> bytes: a results file in memory."},                    \
    {"decode_results", (PyCFunction)(void (*)(void))lw_decode_results, METH_FASTCALL,   \
     "decode_results(data) -> payload: validate results file bytes."},

#endif /* LINEWISE_RESULTS_H */
