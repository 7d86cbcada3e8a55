/* fuzz_results.c: libFuzzer harness for the results-file reader (lw_parse_results in
 * src/linewise/_engine/results.c), built by scripts/fuzz.sh with clang
 * -fsanitize=fuzzer,address,undefined together with results.c and an embedded CPython.
 *
 * Each input is parsed twice:
 *   1. as it is, which exercises the header checks (magic, version, length, CRC);
 *   2. with a valid header written over its first 24 bytes (magic, the input's version if it
 *      is 1 and else 2, the true body length and CRC-32), so that mutations reach the body
 *      parsers of both versions instead of dying at the checksum.
 *      tests/engine/test_fuzz_regressions.py applies the same fix-up.
 *
 * Beyond the sanitizers, the harness aborts when the reader breaks its contract:
 *   - NULL without an exception, or a result with an exception still set;
 *   - an exception other than ValueError or MemoryError;
 *   - a payload whose shape is not the documented one;
 *   - a version 2 payload that the writer does not turn back into exactly the bytes it came
 *     from (the format is canonical: every valid file is the writer's output for its
 *     payload); a version 1 payload that does not read back equal from the (version 2)
 *     file the writer makes of it;
 *   - memory allocated during the parse and never freed (Python objects included: the
 *     interpreter allocates with malloc here, so LeakSanitizer sees leaked references).
 *
 * Then the same input is parsed once more with one allocation failing (the k-th of the
 * parse, k picked from the input's CRC), which drives the reader's out-of-memory paths:
 * it must fail with MemoryError (or succeed, if the allocation was optional), without
 * leaking or touching freed memory.
 */
#include "results.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = {0x89, 'L', 'W', 'R', '\r', '\n', 0x1A, '\n'};

static uint32_t crc_table[256];

/* Allocation failure injection: the real allocators of the three domains, wrapped. */
static PyMemAllocatorEx real_alloc[3];
static long alloc_count;     /* allocations seen since the counter was reset */
static long alloc_fail_at = -1;  /* the allocation (by count) that fails, or -1 */

static int
alloc_should_fail(void)
{
    return alloc_fail_at >= 0 && alloc_count++ == alloc_fail_at;
}

static void *
hook_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (alloc_fail_at < 0) {
        alloc_count++;
    }
    else if (alloc_should_fail()) {
        return NULL;
    }
    return a->malloc(a->ctx, size);
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *a = ctx;
    if (alloc_fail_at < 0) {
        alloc_count++;
    }
    else if (alloc_should_fail()) {
        return NULL;
    }
    return a->calloc(a->ctx, nelem, elsize);
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (alloc_fail_at < 0) {
        alloc_count++;
    }
    else if (alloc_should_fail()) {
        return NULL;
    }
    return a->realloc(a->ctx, ptr, size);
}

static void
hook_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *a = ctx;
    a->free(a->ctx, ptr);
}

static void
install_alloc_hooks(void)
{
    static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                    PYMEM_DOMAIN_OBJ};
    for (int i = 0; i < 3; i++) {
        PyMemAllocatorEx hooked = {&real_alloc[i], hook_malloc, hook_calloc, hook_realloc,
                                   hook_free};
        PyMem_GetAllocator(domains[i], &real_alloc[i]);
        PyMem_SetAllocator(domains[i], &hooked);
    }
}
static char roundtrip_path[256];
static PyObject *path_obj;  /* owned: roundtrip_path as a str */

static uint32_t
crc32_bytes(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    }
    return crc ^ 0xFFFFFFFFu;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void
fail(const char *why)
{
    fprintf(stderr, "fuzz_results: %s\n", why);
    if (PyErr_Occurred()) {
        PyErr_Print();
    }
    abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    PyPreConfig preconfig;
    PyConfig config;
    PyStatus status;
    (void)argc, (void)argv;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
    /* malloc for every Python object: ASan sees overruns of them, LeakSanitizer leaks. */
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.allocator = PYMEM_ALLOCATOR_MALLOC;
    status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
    PyConfig_InitIsolatedConfig(&config);
    config.install_signal_handlers = 0;  /* libFuzzer's handlers stay in place */
    config.site_import = 0;
    status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(roundtrip_path, sizeof roundtrip_path, "%s/lw-fuzz-%ld.lw", dir, (long)getpid());
    path_obj = PyUnicode_FromString(roundtrip_path);
    if (path_obj == NULL) {
        fail("cannot make the round-trip path");
    }
    install_alloc_hooks();
    return 0;
}

/* Aborts unless the dict d maps str to str. */
static void
check_str_table(PyObject *d, const char *what)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    if (d == NULL || !PyDict_CheckExact(d)) {
        fail(what);
    }
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !PyUnicode_CheckExact(v)) {
            fail(what);
        }
    }
}

/* Aborts unless payload has the documented shape. */
static void
check_shape(PyObject *payload)
{
    PyObject *unit, *meta, *runs, *columns, *functions;
    if (!PyDict_CheckExact(payload) || PyDict_GET_SIZE(payload) != 5) {
        fail("payload is not a dict of 5 items");
    }
    unit = PyDict_GetItemString(payload, "unit");
    meta = PyDict_GetItemString(payload, "meta");
    runs = PyDict_GetItemString(payload, "runs");
    columns = PyDict_GetItemString(payload, "columns");
    functions = PyDict_GetItemString(payload, "functions");
    if (unit == NULL || !PyFloat_CheckExact(unit) || !(PyFloat_AS_DOUBLE(unit) > 0)) {
        fail("bad unit");
    }
    check_str_table(meta, "bad meta");
    if (runs == NULL || !PyList_CheckExact(runs)) {
        fail("bad runs");
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(runs); i++) {
        check_str_table(PyList_GET_ITEM(runs, i), "bad run");
    }
    if (columns == NULL || !PyList_CheckExact(columns) || PyList_GET_SIZE(columns) < 3 ||
        PyList_GET_SIZE(columns) > 64) {
        fail("bad columns");
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(columns); i++) {
        PyObject *c = PyList_GET_ITEM(columns, i);
        if (!PyTuple_CheckExact(c) || PyTuple_GET_SIZE(c) != 3 ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(c, 0)) ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(c, 1)) ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(c, 2))) {
            fail("column is not a (str, str, str) tuple");
        }
    }
    if (functions == NULL || !PyList_CheckExact(functions)) {
        fail("bad functions");
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(functions); i++) {
        PyObject *f = PyList_GET_ITEM(functions, i);
        if (f == NULL || !PyDict_CheckExact(f) || PyDict_GET_SIZE(f) != 5) {
            fail("function is not a dict of 5 items");
        }
        PyObject *lines = PyDict_GetItemString(f, "lines");
        PyObject *source = PyDict_GetItemString(f, "source");
        PyObject *first = PyDict_GetItemString(f, "first_lineno");
        if (lines == NULL || !PyList_CheckExact(lines) || source == NULL ||
            (source != Py_None && !PyList_CheckExact(source)) || first == NULL ||
            !PyLong_CheckExact(first)) {
            fail("bad function fields");
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(lines); j++) {
            PyObject *line = PyList_GET_ITEM(lines, j);
            if (line == NULL || !PyTuple_CheckExact(line) ||
                PyTuple_GET_SIZE(line) != PyList_GET_SIZE(columns)) {
                fail("line is not a tuple of one value per column");
            }
            for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(line); k++) {
                if (!PyLong_CheckExact(PyTuple_GET_ITEM(line, k))) {
                    fail("line value is not an int");
                }
            }
        }
        for (Py_ssize_t j = 0; source != Py_None && j < PyList_GET_SIZE(source); j++) {
            PyObject *text = PyList_GET_ITEM(source, j);
            if (text == NULL || !PyUnicode_CheckExact(text)) {
                fail("source line is not a str");
            }
        }
    }
}

/* Writes payload with the C writer and aborts unless the file is exactly data[0..size)
 * (version 2), or reads back as an equal payload (version 1, which the writer turns into
 * version 2). */
static void
check_roundtrip(PyObject *payload, const unsigned char *data, size_t size)
{
    PyObject *args[2] = {path_obj, payload};
    PyObject *none = lw_write_results(NULL, args, 2);
    int v1 = size >= 12 && data[8] == 1 && data[9] == 0 && data[10] == 0 && data[11] == 0;
    unsigned char *back;
    size_t cap = size * 2 + 4096;  /* a version 1 file grows by its column declarations */
    FILE *f;
    size_t got;
    if (none == NULL) {
        fail("the writer refused a payload the reader accepted");
    }
    Py_DECREF(none);
    f = fopen(roundtrip_path, "rb");
    if (f == NULL) {
        fail("cannot reopen the round-trip file");
    }
    back = malloc(cap);
    if (back == NULL) {
        fail("out of memory");
    }
    got = fread(back, 1, cap, f);
    fclose(f);
    unlink(roundtrip_path);
    if (v1) {
        PyObject *again = lw_parse_results(back, got);
        if (again == NULL) {
            fail("the version 2 file written from a version 1 payload does not read");
        }
        if (PyObject_RichCompareBool(again, payload, Py_EQ) != 1) {
            fail("read(write(v1 payload)) differs from the v1 payload");
        }
        Py_DECREF(again);
    }
    else if (got != size || memcmp(back, data, size) != 0) {
        fail("write(read(file)) differs from file");
    }
    free(back);
}

/* Parses data with its k-th allocation failing, k chosen from the data among the
 * allocations a normal parse makes. Aborts on a broken contract. */
static void
parse_failing(const unsigned char *data, size_t size)
{
    PyObject *payload;
    long n;
    alloc_count = 0;
    payload = lw_parse_results(data, size);
    n = alloc_count;
    Py_XDECREF(payload);
    PyErr_Clear();
    if (n == 0) {
        return;
    }
    alloc_count = 0;
    alloc_fail_at = (long)(crc32_bytes(data, size) % (uint32_t)n);
    payload = lw_parse_results(data, size);
    alloc_fail_at = -1;
    if (payload == NULL) {
        if (!PyErr_Occurred()) {
            fail("NULL without an exception (allocation failure)");
        }
        if (!PyErr_ExceptionMatches(PyExc_MemoryError) &&
            !PyErr_ExceptionMatches(PyExc_ValueError)) {
            fail("an exception other than MemoryError or ValueError (allocation failure)");
        }
        PyErr_Clear();
        return;
    }
    if (PyErr_Occurred()) {
        fail("a result with an exception set (allocation failure)");
    }
    check_shape(payload);
    Py_DECREF(payload);
}

/* Parses data; returns 1 if it was accepted. Aborts on a broken contract. */
static int
parse_one(const unsigned char *data, size_t size, int roundtrip)
{
    PyObject *payload = lw_parse_results(data, size);
    if (payload == NULL) {
        if (!PyErr_Occurred()) {
            fail("NULL without an exception");
        }
        if (!PyErr_ExceptionMatches(PyExc_ValueError) &&
            !PyErr_ExceptionMatches(PyExc_MemoryError)) {
            fail("an exception other than ValueError or MemoryError");
        }
        PyErr_Clear();
        return 0;
    }
    if (PyErr_Occurred()) {
        fail("a result with an exception set");
    }
    check_shape(payload);
    if (roundtrip) {
        check_roundtrip(payload, data, size);
    }
    Py_DECREF(payload);
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *fixed;
    if (parse_one(data, size, 1) || size < 24) {
        /* accepted as it is (the fix-up would change nothing), or no header */
        parse_failing(data, size);
        return 0;
    }
    /* malloc'ed, exactly size bytes: ASan flags any read past the end. */
    fixed = malloc(size);
    if (fixed == NULL) {
        return 0;
    }
    memcpy(fixed, data, size);
    memcpy(fixed, MAGIC, sizeof MAGIC);
    /* Keep version 1 for version 1 inputs, so both body layouts get fuzzed. */
    put_le(fixed + 8, size >= 12 && data[8] == 1 && !data[9] && !data[10] && !data[11]
                          ? 1 : LW_RESULTS_VERSION, 4);
    put_le(fixed + 12, (uint64_t)(size - 24), 8);
    put_le(fixed + 20, crc32_bytes(fixed + 24, size - 24), 4);
    parse_one(fixed, size, 1);
    parse_failing(fixed, size);
    free(fixed);
    return 0;
}
