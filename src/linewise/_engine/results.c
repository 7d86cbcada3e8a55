/* results.c: the results file (.lw) and the writer of every output file (atomic, never
 * clobbering a device or a symlink), and a parser that trusts nothing in the bytes it is
 * given.
 *
 * docs/results-format.md describes the layout byte by byte; keep the two in step, and bump
 * LW_RESULTS_VERSION for any change a reader of the current version would misread. A new
 * per-line column of a known type needs no new version: files declare their columns. The CRC-32 guards
 * against accidents (truncation, bit rot, a text-mode transfer); it is no defence against
 * a crafted file, so the body is parsed as strictly as if it had none.
 */
#include "results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(double) == 8, "the unit is stored as an IEEE 754 binary64");

/* The first 8 bytes of every results file. As in PNG: a high-bit byte first (no text file
 * starts so), then CR LF, ^Z and LF, which text-mode transfers and `type` mangle or stop at,
 * so such damage shows as a bad magic instead of an odd checksum failure. */
static const unsigned char MAGIC[8] = {0x89, 'L', 'W', 'R', '\r', '\n', 0x1A, '\n'};

enum {
    HEADER_SIZE = 24,     /* magic, version u32, body length u64, body CRC-32 u32 */
    MIN_META = 8,         /* an entry with empty key and value: two length prefixes */
    MIN_FUNCTION = 17,    /* filename and name length prefixes, first_lineno, line count,
                             source flag */
    MIN_SOURCE_LINE = 4,  /* an empty string: its length prefix */
    MIN_RUN = 4,          /* a run with no fields: its field count */
    MIN_COLUMN = 6,       /* an empty name's length prefix, type, merge */
    NAME_SIZE = 96,       /* room for a field name like "functions[12].lines[345].hits" */
};

/* Line numbers are C ints in CPython; anything above this is not a line number. */
#define MAX_LINENO INT32_MAX

/* --- per-line columns ------------------------------------------------------------------- */

/* Column value types (the u8 in a declaration) and how merging combines two values. */
enum { COL_U32 = 1, COL_I32 = 2, COL_U64 = 3, COL_I64 = 4, N_TYPES };
enum { MERGE_KEY = 0, MERGE_SUM = 1, MERGE_MAX = 2, N_MERGES };

static const char *const TYPE_NAMES[N_TYPES] = {NULL, "u32", "i32", "u64", "i64"};
static const char *const MERGE_NAMES[N_MERGES] = {"key", "sum", "max"};
static const size_t TYPE_SIZES[N_TYPES] = {0, 4, 4, 8, 8};
/* Value ranges by type. u64 stops at 2^63-1 so that every value is also an i64 (sums are
 * checked in 64-bit signed arithmetic, and most languages have no unsigned 64-bit type). */
static const long long TYPE_MIN[N_TYPES] = {0, 0, INT32_MIN, 0, INT64_MIN};
static const long long TYPE_MAX[N_TYPES] = {0, UINT32_MAX, INT32_MAX, INT64_MAX, INT64_MAX};

/* The columns every file starts with, in this order; version 1 files have exactly these. */
static const struct {
    const char *name;
    int type, merge;
} FIXED_COLUMNS[] = {{"lineno", COL_U32, MERGE_KEY}, {"hits", COL_U64, MERGE_SUM},
                     {"time", COL_I64, MERGE_SUM}};
enum { N_FIXED = 3, MAX_COLUMNS = 64 };

/* The per-line record a file declares. */
typedef struct {
    int n;
    unsigned char type[MAX_COLUMNS];
    const char *name[MAX_COLUMNS];  /* borrowed: UTF-8 of the declaration's str */
    size_t record;                  /* bytes per line */
} Layout;

/* Checks column i of a declaration (name, type code, merge code) against the rules of
 * docs/results-format.md, given columns 0..i-1 in names[]. Returns 0, or -1 with
 * ValueError saying which rule. Shared by reader and writer, so both refuse the same. */
static int
check_column(int i, PyObject *name, int type, int merge, PyObject *const *names)
{
    if (i < N_FIXED) {
        if (PyUnicode_CompareWithASCIIString(name, FIXED_COLUMNS[i].name) != 0 ||
            type != FIXED_COLUMNS[i].type || merge != FIXED_COLUMNS[i].merge) {
            PyErr_Format(PyExc_ValueError, "columns[%d] must be ('%s', '%s', '%s')", i,
                         FIXED_COLUMNS[i].name, TYPE_NAMES[FIXED_COLUMNS[i].type],
                         MERGE_NAMES[FIXED_COLUMNS[i].merge]);
            return -1;
        }
        return 0;
    }
    if (PyUnicode_GET_LENGTH(name) == 0) {
        PyErr_Format(PyExc_ValueError, "columns[%d] has an empty name", i);
        return -1;
    }
    if (type <= 0 || type >= N_TYPES) {
        PyErr_Format(PyExc_ValueError,
                     "columns[%d].type %d is unknown (1 u32, 2 i32, 3 u64, 4 i64)", i, type);
        return -1;
    }
    if (merge != MERGE_SUM && merge != MERGE_MAX) {
        PyErr_Format(PyExc_ValueError, "columns[%d].merge %d is unknown (1 sum, 2 max)", i,
                     merge);
        return -1;
    }
    for (int j = 0; j < i; j++) {
        int same = PyUnicode_Compare(names[j], name);
        if (same == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (same == 0) {
            PyErr_Format(PyExc_ValueError, "columns[%d] repeats the name %R", i, name);
            return -1;
        }
    }
    return 0;
}

/* Fills in column i of layout from its checked declaration. Returns 0, or -1 with an
 * exception (the name's UTF-8 cannot be made). */
static int
add_column(Layout *layout, int i, PyObject *name, int type)
{
    const char *utf8 = PyUnicode_AsUTF8(name);
    if (utf8 == NULL) {
        return -1;
    }
    layout->name[i] = utf8;
    layout->type[i] = (unsigned char)type;
    layout->record += TYPE_SIZES[type];
    layout->n = i + 1;
    return 0;
}

/* --- CRC-32 --------------------------------------------------------------------------- */

/* CRC-32 (the zlib / PNG one: reflected polynomial 0xEDB88320) of each 4-bit value.
 * Half-byte steps keep the table small enough to write out, so nothing is computed at
 * import and no state is shared; two lookups a byte are plenty for files this size. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
    0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
    0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

/* The CRC-32 of the n bytes at p: the same value as Python's zlib.crc32. Cannot fail. */
static uint32_t
crc32_of(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* --- little-endian integers, byte by byte: no alignment or host byte order assumed ----- */

/* The u32 stored at p. Cannot fail. */
static uint32_t
load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The u64 stored at p. Cannot fail. */
static uint64_t
load_u64(const unsigned char *p)
{
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

/* Stores v at p. Cannot fail. */
static void
store_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* Stores v at p. Cannot fail. */
static void
store_u64(unsigned char *p, uint64_t v)
{
    store_u32(p, (uint32_t)v);
    store_u32(p + 4, (uint32_t)(v >> 32));
}

/* The two's complement reading of u, spelled out: converting an out-of-range value to a
 * signed type is implementation-defined in C. Cannot fail. */
static int64_t
as_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* --- naming fields in messages ----------------------------------------------------------- */

/* Where the reader or writer is in a payload. */
typedef struct {
    Py_ssize_t func;   /* index into functions, or -1 outside them */
    const char *list;  /* "meta", "lines", "source"... while inside that list, else NULL */
    Py_ssize_t item;   /* index into that list; -1: list names one thing ("runs[2]") */
} Where;

/* Writes the name of `field` at w (e.g. "functions[2].lines[5].hits") into out; field NULL
 * names the list item itself. Cannot fail: a name too long for out is cut short. */
static void
field_name(const Where *w, const char *field, char *out, size_t size)
{
    size_t used = 0;
    int n;
    out[0] = '\0';
    if (w->func >= 0) {
        n = snprintf(out, size, "functions[%zd]", w->func);
        used = n < 0 ? size : (size_t)n;
    }
    if (w->list != NULL && used < size) {
        n = w->item < 0 ? snprintf(out + used, size - used, "%s%s", used ? "." : "", w->list)
                        : snprintf(out + used, size - used, "%s%s[%zd]", used ? "." : "", w->list,
                                   w->item);
        used = n < 0 ? size : used + (size_t)n;
    }
    if (field != NULL && used < size) {
        (void)snprintf(out + used, size - used, "%s%s", used ? "." : "", field);
    }
}

/* ========================================================================================
 * Reading
 * ======================================================================================== */

/* The reader's position: bytes p..end are unread. */
typedef struct {
    const unsigned char *p;
    const unsigned char *end;
    Where at;
} Cursor;

/* The next n bytes, consumed. Returns their address, or NULL with ValueError naming
 * `field` when fewer than n remain. */
static const unsigned char *
take(Cursor *c, size_t n, const char *field)
{
    size_t left = (size_t)(c->end - c->p);
    const unsigned char *start = c->p;
    if (n > left) {
        char name[NAME_SIZE];
        field_name(&c->at, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "truncated: expected %zu more bytes for %s",
                     n - left, name);
        return NULL;
    }
    c->p += n;
    return start;
}

/* Reads a u32 into *out. Returns 0, or -1 with ValueError (truncated). */
static int
read_u32(Cursor *c, const char *field, uint32_t *out)
{
    const unsigned char *p = take(c, 4, field);
    if (p == NULL) {
        return -1;
    }
    *out = load_u32(p);
    return 0;
}

/* Reads the count of a list whose items take at least min_size bytes each. Returns 0, or
 * -1 with ValueError when the rest of the body cannot hold that many: a hostile count
 * must not size an allocation. */
static int
read_count(Cursor *c, const char *field, size_t min_size, uint32_t *out)
{
    size_t left;
    if (read_u32(c, field, out) < 0) {
        return -1;
    }
    left = (size_t)(c->end - c->p);
    if (*out > left / min_size) {
        char name[NAME_SIZE];
        field_name(&c->at, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "absurd %s %lu: only %zu bytes remain", name,
                     (unsigned long)*out, left);
        return -1;
    }
    return 0;
}

/* Reads a line number or first line (u32, at most MAX_LINENO). Returns 0, or -1 with
 * ValueError. */
static int
read_lineno(Cursor *c, const char *field, int *out)
{
    uint32_t v;
    if (read_u32(c, field, &v) < 0) {
        return -1;
    }
    if (v > MAX_LINENO) {
        char name[NAME_SIZE];
        field_name(&c->at, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s %lu is out of range (at most %d)", name,
                     (unsigned long)v, MAX_LINENO);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The next length-prefixed string as a new str. Returns it, or NULL with ValueError if it
 * runs past the body or is not valid UTF-8 (overlong forms and surrogates included). */
static PyObject *
read_str(Cursor *c, const char *field)
{
    uint32_t n;
    const unsigned char *s;
    PyObject *str;  /* owned */
    if (read_u32(c, field, &n) < 0 || (s = take(c, n, field)) == NULL) {
        return NULL;
    }
    str = PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "strict");
    if (str == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        /* The decoder's message (byte offsets, codec name) is noise here. */
        char name[NAME_SIZE];
        PyErr_Clear();
        field_name(&c->at, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "invalid UTF-8 in %s", name);
    }
    return str;
}

/* Stores value under key in dict, consuming value (a new reference, or NULL after a
 * failure to make it). Returns 0, or -1 with an exception. */
static int
put_item(PyObject *dict, const char *key, PyObject *value)
{
    int rc;
    if (value == NULL) {
        return -1;
    }
    rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* qsort order of two int32_t. */
static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A value that occurs more than once among the n in v (sorted in place), or -1 if none
 * does. The values must be >= 0. Cannot fail. */
static int32_t
find_repeat(int32_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i32);
    for (size_t i = 1; i < n; i++) {
        if (v[i] == v[i - 1]) {
            return v[i];
        }
    }
    return -1;
}

/* A table of str to str (the meta table, or a run's fields) whose count is called
 * count_field and whose entries are list[i] in messages; `what` names it in the message
 * for a repeated key ("meta", "runs[2]"). Returns a new dict, or NULL with ValueError
 * (bad string, repeated key, truncated). */
static PyObject *
read_table(Cursor *c, const char *count_field, const char *list, const char *what)
{
    uint32_t count;
    PyObject *table = NULL;  /* owned */
    PyObject *key = NULL;    /* owned */
    PyObject *value = NULL;  /* owned */
    if (read_count(c, count_field, MIN_META, &count) < 0) {
        return NULL;
    }
    table = PyDict_New();
    if (table == NULL) {
        return NULL;
    }
    c->at.list = list;
    for (uint32_t i = 0; i < count; i++) {
        c->at.item = (Py_ssize_t)i;
        key = read_str(c, "key");
        if (key == NULL || (value = read_str(c, "value")) == NULL) {
            goto error;
        }
        int known = PyDict_Contains(table, key);
        if (known != 0) {
            if (known > 0) {
                PyErr_Format(PyExc_ValueError, "%s key %R appears twice", what, key);
            }
            goto error;
        }
        if (PyDict_SetItem(table, key, value) < 0) {
            goto error;
        }
        Py_CLEAR(key);
        Py_CLEAR(value);
    }
    c->at.list = NULL;
    return table;
error:
    Py_XDECREF(key);
    Py_XDECREF(value);
    Py_XDECREF(table);
    return NULL;
}

/* The meta table: a new dict of str to str, or NULL with ValueError. */
static PyObject *
read_meta(Cursor *c)
{
    return read_table(c, "meta count", "meta", "meta");
}

/* The runs (version 2): a new list of dicts of str to str, or NULL with ValueError. */
static PyObject *
read_runs(Cursor *c)
{
    uint32_t count;
    PyObject *runs;  /* owned */
    if (read_count(c, "run count", MIN_RUN, &count) < 0 ||
        (runs = PyList_New((Py_ssize_t)count)) == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        char what[32], list[48];
        (void)snprintf(what, sizeof what, "runs[%lu]", (unsigned long)i);
        (void)snprintf(list, sizeof list, "%s.fields", what);
        c->at.list = what;
        c->at.item = -1;
        PyObject *run = read_table(c, "field count", list, what);  /* owned until stored */
        if (run == NULL) {
            Py_DECREF(runs);
            return NULL;
        }
        PyList_SET_ITEM(runs, (Py_ssize_t)i, run);
    }
    c->at.list = NULL;
    return runs;
}

/* The column declarations (version 2) into layout. Returns a new list of (name, type,
 * merge) tuples of str, which layout's names borrow from, or NULL with ValueError. */
static PyObject *
read_columns(Cursor *c, Layout *layout)
{
    uint32_t count;
    PyObject *columns;  /* owned */
    PyObject *names[MAX_COLUMNS];  /* borrowed from columns */
    if (read_count(c, "column count", MIN_COLUMN, &count) < 0) {
        return NULL;
    }
    if (count < N_FIXED || count > MAX_COLUMNS) {
        PyErr_Format(PyExc_ValueError, "column count %lu must be %d to %d",
                     (unsigned long)count, N_FIXED, MAX_COLUMNS);
        return NULL;
    }
    columns = PyList_New((Py_ssize_t)count);
    if (columns == NULL) {
        return NULL;
    }
    layout->n = 0;
    layout->record = 0;
    c->at.list = "columns";
    for (int i = 0; i < (int)count; i++) {
        const unsigned char *codes;
        PyObject *name, *column;  /* owned until stored */
        c->at.item = i;
        if ((name = read_str(c, "name")) == NULL) {
            goto error;
        }
        if ((codes = take(c, 2, "type")) == NULL ||
            check_column(i, name, codes[0], codes[1], names) < 0) {
            Py_DECREF(name);
            goto error;
        }
        column = Py_BuildValue("(Oss)", name, TYPE_NAMES[codes[0]], MERGE_NAMES[codes[1]]);
        Py_DECREF(name);
        if (column == NULL) {
            goto error;
        }
        PyList_SET_ITEM(columns, i, column);
        names[i] = PyTuple_GET_ITEM(column, 0);
        if (add_column(layout, i, names[i], codes[0]) < 0) {
            goto error;
        }
    }
    c->at.list = NULL;
    return columns;
error:
    Py_DECREF(columns);
    return NULL;
}

/* The value of a column of type `type` stored at p, as a new int. Returns NULL with
 * ValueError naming field when it is out of the type's range (u64 above 2^63-1). */
static PyObject *
load_value(const Cursor *c, const unsigned char *p, int type, const char *field)
{
    uint64_t u;
    switch (type) {
    case COL_U32:
        return PyLong_FromUnsignedLong(load_u32(p));
    case COL_I32:
        return PyLong_FromLongLong(as_i64(load_u32(p) ^ 0x80000000u) - INT64_C(0x80000000));
    case COL_U64:
        u = load_u64(p);
        if (u > (uint64_t)INT64_MAX) {
            char name[NAME_SIZE];
            field_name(&c->at, field, name, sizeof name);
            PyErr_Format(PyExc_ValueError, "%s %llu is out of range (at most %lld)", name,
                         (unsigned long long)u, (long long)INT64_MAX);
            return NULL;
        }
        return PyLong_FromLongLong((long long)u);
    default:
        return PyLong_FromLongLong(as_i64(load_u64(p)));
    }
}

/* A function's lines, one record of layout each. Returns a new list of tuples, one value
 * per column, or NULL with ValueError (line number out of range or repeated, a value out
 * of range, truncated). */
static PyObject *
read_lines(Cursor *c, const Layout *layout)
{
    uint32_t count;
    PyObject *lines = NULL;   /* owned */
    int32_t *linenos = NULL;  /* owned (PyMem): sorted afterwards to find repeats */
    int32_t repeat;
    if (read_count(c, "line count", layout->record, &count) < 0) {
        return NULL;
    }
    lines = PyList_New((Py_ssize_t)count);
    linenos = PyMem_Malloc(count ? count * sizeof *linenos : 1);
    if (lines == NULL || linenos == NULL) {
        if (linenos == NULL) {
            PyErr_NoMemory();
        }
        goto error;
    }
    c->at.list = "lines";
    for (uint32_t i = 0; i < count; i++) {
        int lineno;
        const unsigned char *p;
        PyObject *line;  /* owned until stored */
        c->at.item = (Py_ssize_t)i;
        if (read_lineno(c, "lineno", &lineno) < 0 ||
            (p = take(c, layout->record - 4, layout->name[1])) == NULL) {
            goto error;
        }
        line = PyTuple_New(layout->n);
        if (line == NULL) {
            goto error;
        }
        PyList_SET_ITEM(lines, (Py_ssize_t)i, line);
        PyObject *first = PyLong_FromLong(lineno);  /* owned until stored */
        if (first == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(line, 0, first);
        for (int k = 1; k < layout->n; k++) {
            PyObject *value = load_value(c, p, layout->type[k], layout->name[k]);
            if (value == NULL) {
                goto error;
            }
            PyTuple_SET_ITEM(line, k, value);
            p += TYPE_SIZES[layout->type[k]];
        }
        linenos[i] = lineno;
    }
    c->at.list = NULL;
    repeat = find_repeat(linenos, count);
    if (repeat >= 0) {
        char name[NAME_SIZE];
        field_name(&c->at, "lines", name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s has line %ld twice", name, (long)repeat);
        goto error;
    }
    PyMem_Free(linenos);
    return lines;
error:
    PyMem_Free(linenos);
    Py_XDECREF(lines);
    return NULL;
}

/* A function's source. Returns a new reference to None or a new list of str, or NULL
 * with ValueError (a flag other than 0 or 1, bad strings, truncated). */
static PyObject *
read_source(Cursor *c)
{
    const unsigned char *flag = take(c, 1, "source flag");
    uint32_t count;
    PyObject *source = NULL;  /* owned */
    if (flag == NULL) {
        return NULL;
    }
    if (*flag == 0) {
        return Py_NewRef(Py_None);
    }
    if (*flag != 1) {
        char name[NAME_SIZE];
        field_name(&c->at, "source flag", name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s must be 0 or 1, not %d", name, (int)*flag);
        return NULL;
    }
    if (read_count(c, "source line count", MIN_SOURCE_LINE, &count) < 0) {
        return NULL;
    }
    source = PyList_New((Py_ssize_t)count);
    if (source == NULL) {
        return NULL;
    }
    c->at.list = "source";
    for (uint32_t i = 0; i < count; i++) {
        c->at.item = (Py_ssize_t)i;
        PyObject *text = read_str(c, NULL);  /* owned until stored */
        if (text == NULL) {
            goto error;
        }
        PyList_SET_ITEM(source, (Py_ssize_t)i, text);
    }
    c->at.list = NULL;
    return source;
error:
    Py_XDECREF(source);
    return NULL;
}

/* The next function record. Returns a new dict with the keys filename, first_lineno,
 * name, lines and source, or NULL with ValueError (see read_lines and read_source). */
static PyObject *
read_function(Cursor *c, const Layout *layout)
{
    int first_lineno;
    PyObject *func = PyDict_New();  /* owned */
    if (func == NULL) {
        return NULL;
    }
    if (put_item(func, "filename", read_str(c, "filename")) < 0 ||
        read_lineno(c, "first_lineno", &first_lineno) < 0 ||
        put_item(func, "first_lineno", PyLong_FromLong(first_lineno)) < 0 ||
        put_item(func, "name", read_str(c, "name")) < 0 ||
        put_item(func, "lines", read_lines(c, layout)) < 0 ||
        put_item(func, "source", read_source(c)) < 0) {
        goto error;
    }
    return func;
error:
    Py_XDECREF(func);
    return NULL;
}

/* Checks the header and the checksum; on success c covers exactly the body and *version
 * is the file's (1 or 2). Returns 0, or -1 with ValueError. */
static int
read_header(Cursor *c, uint32_t *version_out)
{
    size_t len = (size_t)(c->end - c->p);
    size_t left;
    const unsigned char *p;
    uint32_t version;
    uint64_t body_len;
    uint32_t crc;
    if (len == 0) {
        PyErr_SetString(PyExc_ValueError, "not a linewise results file (empty file)");
        return -1;
    }
    /* The magic first, on however much of it there is: a short foreign file is foreign,
     * not truncated. */
    if (memcmp(c->p, MAGIC, len < sizeof MAGIC ? len : sizeof MAGIC) != 0) {
        /* line_profiler's .lprof files are pickles (protocol 2+: 0x80, protocol). */
        if (len >= 2 && c->p[0] == 0x80 && c->p[1] >= 2 && c->p[1] <= 5) {
            PyErr_SetString(PyExc_ValueError,
                            "not a linewise results file (bad magic; it looks like a pickle, "
                            "such as a line_profiler .lprof file)");
        }
        else {
            PyErr_SetString(PyExc_ValueError, "not a linewise results file (bad magic)");
        }
        return -1;
    }
    if (take(c, sizeof MAGIC, "magic") == NULL || read_u32(c, "format version", &version) < 0) {
        return -1;
    }
    /* Before anything else: a later version may lay out even the rest of the header
     * differently. */
    if (version < 1 || version > LW_RESULTS_VERSION) {
        PyErr_Format(PyExc_ValueError,
                     "unsupported format version %lu (this linewise reads versions 1 to %d)",
                     (unsigned long)version, LW_RESULTS_VERSION);
        return -1;
    }
    *version_out = version;
    if ((p = take(c, 12, "body length and checksum")) == NULL) {
        return -1;
    }
    body_len = load_u64(p);
    crc = load_u32(p + 8);
    left = (size_t)(c->end - c->p);
    if (body_len > left) {
        PyErr_Format(PyExc_ValueError, "truncated: expected %llu more bytes for the body",
                     (unsigned long long)(body_len - left));
        return -1;
    }
    if (body_len < left) {
        PyErr_Format(PyExc_ValueError, "trailing garbage: %llu bytes after the body",
                     (unsigned long long)(left - body_len));
        return -1;
    }
    if (crc32_of(c->p, left) != crc) {
        PyErr_SetString(PyExc_ValueError, "checksum mismatch: file is corrupt");
        return -1;
    }
    return 0;
}

/* The version 1 column declarations, (name, type, merge) tuples, into layout: a new list,
 * or NULL with an exception. */
static PyObject *
fixed_columns(Layout *layout)
{
    PyObject *columns = PyList_New(N_FIXED);  /* owned */
    if (columns == NULL) {
        return NULL;
    }
    layout->n = 0;
    layout->record = 0;
    for (int i = 0; i < N_FIXED; i++) {
        PyObject *column = Py_BuildValue("(sss)", FIXED_COLUMNS[i].name,
                                         TYPE_NAMES[FIXED_COLUMNS[i].type],
                                         MERGE_NAMES[FIXED_COLUMNS[i].merge]);
        if (column == NULL) {
            Py_DECREF(columns);
            return NULL;
        }
        PyList_SET_ITEM(columns, i, column);
        if (add_column(layout, i, PyTuple_GET_ITEM(column, 0), FIXED_COLUMNS[i].type) < 0) {
            Py_DECREF(columns);
            return NULL;
        }
    }
    return columns;
}

/* The payload parsed from buf[0..len): a new dict, or NULL with ValueError (see results.h). */
PyObject *
lw_parse_results(const unsigned char *buf, size_t len)
{
    Cursor c = {buf, buf + len, {-1, NULL, 0}};
    const unsigned char *p;
    uint64_t bits;
    double unit;
    uint32_t version, count;
    Layout layout;
    PyObject *payload = NULL;    /* owned */
    PyObject *columns = NULL;    /* owned; layout's names borrow from it */
    PyObject *functions = NULL;  /* owned */
    if (len > LW_RESULTS_MAX_BYTES) {
        PyErr_Format(PyExc_ValueError, "file too large: %zu bytes (the limit is %zu)", len,
                     LW_RESULTS_MAX_BYTES);
        return NULL;
    }
    if (read_header(&c, &version) < 0 || (p = take(&c, 8, "unit")) == NULL) {
        return NULL;
    }
    bits = load_u64(p);
    memcpy(&unit, &bits, sizeof unit);
    if (!isfinite(unit) || !(unit > 0)) {
        PyObject *shown = PyFloat_FromDouble(unit);  /* owned */
        if (shown != NULL) {
            PyErr_Format(PyExc_ValueError, "unit must be finite and > 0, not %R", shown);
            Py_DECREF(shown);
        }
        return NULL;
    }
    payload = PyDict_New();
    if (payload == NULL || put_item(payload, "unit", PyFloat_FromDouble(unit)) < 0 ||
        put_item(payload, "meta", read_meta(&c)) < 0 ||
        put_item(payload, "runs", version == 1 ? PyList_New(0) : read_runs(&c)) < 0) {
        goto error;
    }
    columns = version == 1 ? fixed_columns(&layout) : read_columns(&c, &layout);
    if (columns == NULL || PyDict_SetItemString(payload, "columns", columns) < 0 ||
        read_count(&c, "function count", MIN_FUNCTION, &count) < 0) {
        goto error;
    }
    functions = PyList_New((Py_ssize_t)count);
    if (functions == NULL) {
        goto error;
    }
    for (uint32_t i = 0; i < count; i++) {
        c.at.func = (Py_ssize_t)i;
        PyObject *func = read_function(&c, &layout);  /* owned until stored */
        if (func == NULL) {
            goto error;
        }
        PyList_SET_ITEM(functions, (Py_ssize_t)i, func);
    }
    c.at.func = -1;
    if (c.p != c.end) {
        PyErr_Format(PyExc_ValueError, "trailing garbage: %zu bytes after the last function",
                     (size_t)(c.end - c.p));
        goto error;
    }
    if (PyDict_SetItemString(payload, "functions", functions) < 0) {
        goto error;
    }
    Py_DECREF(functions);
    Py_DECREF(columns);
    return payload;
error:
    Py_XDECREF(functions);
    Py_XDECREF(columns);
    Py_XDECREF(payload);
    return NULL;
}

/* ========================================================================================
 * Writing
 * ======================================================================================== */

/* The file being built in memory: header, then body. */
typedef struct {
    unsigned char *data;  /* owned (PyMem_Raw: written out with the GIL released) */
    size_t len;
    size_t cap;
} Buf;

/* Makes room for n more bytes at the end of b and counts them in. Returns their address,
 * or NULL with MemoryError, or ValueError when the file would exceed the size the reader
 * accepts (a file we cannot read back is worse than none). */
static unsigned char *
buf_extend(Buf *b, size_t n)
{
    unsigned char *start;
    if (n > LW_RESULTS_MAX_BYTES - b->len) {
        PyErr_Format(PyExc_ValueError, "payload too large: the file would exceed %zu bytes",
                     LW_RESULTS_MAX_BYTES);
        return NULL;
    }
    if (b->len + n > b->cap) {
        /* len + n <= LW_RESULTS_MAX_BYTES, so doubling stays far from overflow. */
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *data;
        while (cap < b->len + n) {
            cap *= 2;
        }
        data = PyMem_RawRealloc(b->data, cap);
        if (data == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    start = b->data + b->len;
    b->len += n;
    return start;
}

/* Appends v. Returns 0, or -1 with an exception (see buf_extend). */
static int
put_u32(Buf *b, uint32_t v)
{
    unsigned char *p = buf_extend(b, 4);
    if (p == NULL) {
        return -1;
    }
    store_u32(p, v);
    return 0;
}

/* Appends v. Returns 0, or -1 with an exception (see buf_extend). */
static int
put_u64(Buf *b, uint64_t v)
{
    unsigned char *p = buf_extend(b, 8);
    if (p == NULL) {
        return -1;
    }
    store_u64(p, v);
    return 0;
}

/* Appends the count of a list or dict. Returns 0, or -1 with ValueError if it does not
 * fit in a u32 (or an exception from buf_extend). */
static int
put_count(Buf *b, Py_ssize_t n, const Where *w, const char *field)
{
    if ((size_t)n > UINT32_MAX) {
        char name[NAME_SIZE];
        field_name(w, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s has too many items (%zd)", name, n);
        return -1;
    }
    return put_u32(b, (uint32_t)n);
}

/* Appends obj as a length-prefixed UTF-8 string. Returns 0, or -1 with TypeError (not a
 * str) or ValueError (lone surrogates, which UTF-8 cannot carry) naming the field. */
static int
put_str(Buf *b, PyObject *obj, const Where *w, const char *field)
{
    char name[NAME_SIZE];
    Py_ssize_t n;
    const char *utf8;
    unsigned char *p;
    if (!PyUnicode_Check(obj)) {
        field_name(w, field, name, sizeof name);
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    utf8 = PyUnicode_AsUTF8AndSize(obj, &n);
    if (utf8 == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            field_name(w, field, name, sizeof name);
            PyErr_Format(PyExc_ValueError, "%s cannot be encoded as UTF-8 (lone surrogate)",
                         name);
        }
        return -1;
    }
    if (put_count(b, n, w, field) < 0 || (p = buf_extend(b, (size_t)n)) == NULL) {
        return -1;
    }
    memcpy(p, utf8, (size_t)n);
    return 0;
}

/* Converts the int obj (the field `field` at w) to *out, requiring lo <= value <= hi.
 * Returns 0, or -1 with TypeError (not an int) or ValueError (out of range) naming it. */
static int
get_int(PyObject *obj, const Where *w, const char *field, long long lo, long long hi,
        long long *out)
{
    char name[NAME_SIZE];
    int overflow;
    long long v;
    if (!PyLong_Check(obj)) {
        field_name(w, field, name, sizeof name);
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || v < lo || v > hi) {
        field_name(w, field, name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s must be in [%lld, %lld], not %R", name, lo, hi, obj);
        return -1;
    }
    *out = v;
    return 0;
}

/* Checks that obj (the field `field` at w) is a list or a tuple. Returns 0, or -1 with
 * TypeError naming the field. Tuples are taken too: the reader gives lists either way. */
static int
check_list(PyObject *obj, const Where *w, const char *field)
{
    if (!PyList_Check(obj) && !PyTuple_Check(obj)) {
        char name[NAME_SIZE];
        field_name(w, field, name, sizeof name);
        PyErr_Format(PyExc_TypeError, "%s must be a list, not %.100s", name,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

/* Looks up the str keys `names` in the dict d (called `what` in messages), storing each
 * value, borrowed, in found[i] (NULL when absent). Returns 0, or -1 with ValueError for a
 * key not among names. Walks the dict instead of looking keys up, so no key's __eq__ or
 * __hash__ runs and nothing can change the payload under the writer's feet. */
static int
pick_fields(PyObject *d, const char *what, const char *const *names, int n_names,
            PyObject **found)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;  /* borrowed */
    for (int i = 0; i < n_names; i++) {
        found[i] = NULL;
    }
    while (PyDict_Next(d, &pos, &key, &value)) {
        int i = 0;
        while (i < n_names &&
               !(PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, names[i]) == 0)) {
            i++;
        }
        if (i == n_names) {
            PyErr_Format(PyExc_ValueError, "%s has an unknown key %R", what, key);
            return -1;
        }
        found[i] = value;
    }
    return 0;
}

/* Appends a table of str to str (meta, or a run's fields), called `what` in messages
 * ("meta", "runs[2]") and its entries list[i] ("meta[0]", "runs[2].fields[0]"). Returns
 * 0, or -1 with TypeError/ValueError naming the entry. */
static int
put_table(Buf *b, PyObject *table, const char *list, const char *what)
{
    Where whole = {-1, what, -1};
    Where w = {-1, list, 0};
    Py_ssize_t pos = 0;
    PyObject *key, *value;  /* borrowed */
    if (!PyDict_Check(table)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", what,
                     Py_TYPE(table)->tp_name);
        return -1;
    }
    if (put_count(b, PyDict_GET_SIZE(table), &whole, NULL) < 0) {
        return -1;
    }
    while (PyDict_Next(table, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "%s keys must be str, not %.100s", what,
                         Py_TYPE(key)->tp_name);
            return -1;
        }
        if (!PyUnicode_Check(value)) {
            PyErr_Format(PyExc_TypeError, "%s[%R] must be str, not %.100s", what, key,
                         Py_TYPE(value)->tp_name);
            return -1;
        }
        if (put_str(b, key, &w, "key") < 0 || put_str(b, value, &w, "value") < 0) {
            return -1;
        }
        w.item++;
    }
    return 0;
}

/* Appends the runs (absent: none), a list of dicts of str to str. Returns 0, or -1 with
 * TypeError/ValueError naming the run. */
static int
put_runs(Buf *b, PyObject *runs)
{
    Where w = {-1, NULL, 0};
    if (runs == NULL) {
        return put_u32(b, 0);
    }
    if (check_list(runs, &w, "runs") < 0 ||
        put_count(b, PySequence_Fast_GET_SIZE(runs), &w, "runs") < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(runs); i++) {
        char what[32], list[48];
        (void)snprintf(what, sizeof what, "runs[%zd]", i);
        (void)snprintf(list, sizeof list, "%s.fields", what);
        if (put_table(b, PySequence_Fast_GET_ITEM(runs, i), list, what) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The index of the str obj among the n names, or -1 (obj not a str, or none of them). */
static int
name_index(PyObject *obj, const char *const *names, int n)
{
    for (int i = 0; PyUnicode_Check(obj) && i < n; i++) {
        if (names[i] != NULL && PyUnicode_CompareWithASCIIString(obj, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* Appends the column declarations (absent: the three fixed ones), a list of (name, type,
 * merge) tuples of str, and fills in layout, whose names borrow from columns. Returns 0, or
 * -1 with TypeError/ValueError naming the column. */
static int
put_columns(Buf *b, PyObject *columns, Layout *layout)
{
    Where w = {-1, NULL, 0};
    PyObject *names[MAX_COLUMNS];  /* borrowed */
    Py_ssize_t n;
    layout->n = 0;
    layout->record = 0;
    if (columns == NULL) {
        if (put_u32(b, N_FIXED) < 0) {
            return -1;
        }
        for (int i = 0; i < N_FIXED; i++) {
            unsigned char *p;
            PyObject *name = PyUnicode_FromString(FIXED_COLUMNS[i].name);  /* owned */
            if (name == NULL) {
                return -1;
            }
            int rc = put_str(b, name, &w, "name");
            Py_DECREF(name);
            if (rc < 0 || (p = buf_extend(b, 2)) == NULL) {
                return -1;
            }
            p[0] = (unsigned char)FIXED_COLUMNS[i].type;
            p[1] = (unsigned char)FIXED_COLUMNS[i].merge;
            layout->name[i] = FIXED_COLUMNS[i].name;
            layout->type[i] = (unsigned char)FIXED_COLUMNS[i].type;
            layout->record += TYPE_SIZES[FIXED_COLUMNS[i].type];
            layout->n = i + 1;
        }
        return 0;
    }
    if (check_list(columns, &w, "columns") < 0) {
        return -1;
    }
    n = PySequence_Fast_GET_SIZE(columns);
    if (n < N_FIXED || n > MAX_COLUMNS) {
        PyErr_Format(PyExc_ValueError, "columns must have %d to %d items, not %zd", N_FIXED,
                     MAX_COLUMNS, n);
        return -1;
    }
    if (put_u32(b, (uint32_t)n) < 0) {
        return -1;
    }
    w.list = "columns";
    for (int i = 0; i < (int)n; i++) {
        PyObject *column = PySequence_Fast_GET_ITEM(columns, i);  /* borrowed */
        PyObject **items;                                          /* borrowed */
        unsigned char *p;
        int type, merge;
        w.item = i;
        if ((!PyTuple_Check(column) && !PyList_Check(column)) ||
            PySequence_Fast_GET_SIZE(column) != 3) {
            PyErr_Format(PyExc_TypeError, "columns[%d] must be a (name, type, merge) tuple", i);
            return -1;
        }
        items = PySequence_Fast_ITEMS(column);
        if (!PyUnicode_Check(items[0])) {
            PyErr_Format(PyExc_TypeError, "columns[%d] name must be str, not %.100s", i,
                         Py_TYPE(items[0])->tp_name);
            return -1;
        }
        type = name_index(items[1], TYPE_NAMES, N_TYPES);
        merge = name_index(items[2], MERGE_NAMES, N_MERGES);
        if (type < 0) {
            PyErr_Format(PyExc_ValueError,
                         "columns[%d] type must be 'u32', 'i32', 'u64' or 'i64', not %R", i,
                         items[1]);
            return -1;
        }
        if (merge < 0) {
            PyErr_Format(PyExc_ValueError,
                         "columns[%d] merge must be 'key', 'sum' or 'max', not %R", i, items[2]);
            return -1;
        }
        if (check_column(i, items[0], type, merge, names) < 0 ||
            put_str(b, items[0], &w, "name") < 0 || (p = buf_extend(b, 2)) == NULL ||
            add_column(layout, i, items[0], type) < 0) {
            return -1;
        }
        p[0] = (unsigned char)type;
        p[1] = (unsigned char)merge;
        names[i] = items[0];
    }
    return 0;
}

/* Appends a function's lines, one record of layout each. Returns 0, or -1 with
 * TypeError/ValueError naming the line (not a tuple of one int per column, out of range,
 * a line number given twice). */
static int
put_lines(Buf *b, PyObject *lines, Where *w, const Layout *layout)
{
    char name[NAME_SIZE];
    Py_ssize_t n;
    PyObject **items;         /* borrowed */
    int32_t *linenos = NULL;  /* owned (PyMem): sorted afterwards to find repeats */
    int32_t repeat;
    if (check_list(lines, w, "lines") < 0) {
        return -1;
    }
    n = PySequence_Fast_GET_SIZE(lines);
    items = PySequence_Fast_ITEMS(lines);
    if (put_count(b, n, w, "lines") < 0) {
        return -1;
    }
    linenos = PyMem_Malloc(n ? (size_t)n * sizeof *linenos : 1);
    if (linenos == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->list = "lines";
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = items[i];  /* borrowed */
        unsigned char *p;
        w->item = i;
        if (!PyTuple_Check(line) && !PyList_Check(line)) {
            field_name(w, NULL, name, sizeof name);
            PyErr_Format(PyExc_TypeError, "%s must be a (lineno, hits, time, ...) tuple, "
                         "not %.100s", name, Py_TYPE(line)->tp_name);
            goto error;
        }
        if (PySequence_Fast_GET_SIZE(line) != layout->n) {
            field_name(w, NULL, name, sizeof name);
            PyErr_Format(PyExc_ValueError, "%s must have %d items (one per column), not %zd",
                         name, layout->n, PySequence_Fast_GET_SIZE(line));
            goto error;
        }
        PyObject **fields = PySequence_Fast_ITEMS(line);  /* borrowed */
        if ((p = buf_extend(b, layout->record)) == NULL) {
            goto error;
        }
        for (int k = 0; k < layout->n; k++) {
            int type = layout->type[k];
            long long v;
            if (get_int(fields[k], w, layout->name[k], TYPE_MIN[type],
                        k == 0 ? MAX_LINENO : TYPE_MAX[type], &v) < 0) {
                goto error;
            }
            if (TYPE_SIZES[type] == 4) {
                store_u32(p, (uint32_t)(v & 0xFFFFFFFF));
            }
            else {
                store_u64(p, (uint64_t)v);
            }
            p += TYPE_SIZES[type];
            if (k == 0) {
                linenos[i] = (int32_t)v;
            }
        }
    }
    w->list = NULL;
    repeat = find_repeat(linenos, (size_t)n);
    if (repeat >= 0) {
        field_name(w, "lines", name, sizeof name);
        PyErr_Format(PyExc_ValueError, "%s has line %ld twice", name, (long)repeat);
        goto error;
    }
    PyMem_Free(linenos);
    return 0;
error:
    PyMem_Free(linenos);
    return -1;
}

/* Appends a function's source (None, absent, or a list of str). Returns 0, or -1 with
 * TypeError naming the field. */
static int
put_source(Buf *b, PyObject *source, Where *w)
{
    unsigned char *flag = buf_extend(b, 1);
    if (flag == NULL) {
        return -1;
    }
    *flag = source != NULL && source != Py_None;
    if (!*flag) {
        return 0;
    }
    if (check_list(source, w, "source") < 0 ||
        put_count(b, PySequence_Fast_GET_SIZE(source), w, "source") < 0) {
        return -1;
    }
    w->list = "source";
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(source); i++) {
        w->item = i;
        if (put_str(b, PySequence_Fast_GET_ITEM(source, i), w, NULL) < 0) {
            return -1;
        }
    }
    w->list = NULL;
    return 0;
}

/* Appends functions[index]. Returns 0, or -1 with TypeError/ValueError naming the field. */
static int
put_function(Buf *b, PyObject *func, Py_ssize_t index, const Layout *layout)
{
    static const char *const names[] = {"filename", "first_lineno", "name", "lines", "source"};
    enum { FILENAME, FIRST_LINENO, NAME, LINES, SOURCE, N_FIELDS };
    PyObject *fields[N_FIELDS];  /* borrowed */
    Where w = {index, NULL, 0};
    char what[NAME_SIZE];
    long long first_lineno;
    field_name(&w, NULL, what, sizeof what);
    if (!PyDict_Check(func)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", what,
                     Py_TYPE(func)->tp_name);
        return -1;
    }
    if (pick_fields(func, what, names, N_FIELDS, fields) < 0) {
        return -1;
    }
    /* source alone may be left out (it means None). */
    for (int i = 0; i < SOURCE; i++) {
        if (fields[i] == NULL) {
            PyErr_Format(PyExc_ValueError, "%s has no '%s'", what, names[i]);
            return -1;
        }
    }
    if (put_str(b, fields[FILENAME], &w, "filename") < 0 ||
        get_int(fields[FIRST_LINENO], &w, "first_lineno", 0, MAX_LINENO, &first_lineno) < 0 ||
        put_u32(b, (uint32_t)first_lineno) < 0 ||
        put_str(b, fields[NAME], &w, "name") < 0 ||
        put_lines(b, fields[LINES], &w, layout) < 0 ||
        put_source(b, fields[SOURCE], &w) < 0) {
        return -1;
    }
    return 0;
}

/* Appends the body for payload (after the header already in b). Returns 0, or -1 with
 * TypeError/ValueError naming the offending field. Runs no Python code (no lookups that
 * call __eq__, no conversions that call __index__ or __float__), so the payload cannot
 * change while it is walked with borrowed references. */
static int
put_body(Buf *b, PyObject *payload)
{
    static const char *const names[] = {"unit", "meta", "functions", "runs", "columns"};
    enum { UNIT, META, FUNCTIONS, RUNS, COLUMNS, N_FIELDS, N_REQUIRED = RUNS };
    PyObject *fields[N_FIELDS];  /* borrowed */
    Where w = {-1, NULL, 0};
    Layout layout;
    double unit;
    uint64_t bits;
    if (!PyDict_Check(payload)) {
        PyErr_Format(PyExc_TypeError, "payload must be a dict, not %.100s",
                     Py_TYPE(payload)->tp_name);
        return -1;
    }
    if (pick_fields(payload, "payload", names, N_FIELDS, fields) < 0) {
        return -1;
    }
    for (int i = 0; i < N_REQUIRED; i++) {
        if (fields[i] == NULL) {
            PyErr_Format(PyExc_ValueError, "payload has no '%s'", names[i]);
            return -1;
        }
    }
    if (PyFloat_Check(fields[UNIT])) {
        unit = PyFloat_AS_DOUBLE(fields[UNIT]);
    }
    else if (PyLong_Check(fields[UNIT])) {
        unit = PyLong_AsDouble(fields[UNIT]);
        if (unit == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            unit = INFINITY;  /* too big for a double: reported as out of range below */
        }
    }
    else {
        PyErr_Format(PyExc_TypeError, "unit must be a float, not %.100s",
                     Py_TYPE(fields[UNIT])->tp_name);
        return -1;
    }
    if (!isfinite(unit) || !(unit > 0)) {
        PyErr_Format(PyExc_ValueError, "unit must be finite and > 0, not %R", fields[UNIT]);
        return -1;
    }
    memcpy(&bits, &unit, sizeof bits);
    if (put_u64(b, bits) < 0 || put_table(b, fields[META], "meta", "meta") < 0 ||
        put_runs(b, fields[RUNS]) < 0 || put_columns(b, fields[COLUMNS], &layout) < 0 ||
        check_list(fields[FUNCTIONS], &w, "functions") < 0 ||
        put_count(b, PySequence_Fast_GET_SIZE(fields[FUNCTIONS]), &w, "functions") < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fields[FUNCTIONS]); i++) {
        if (put_function(b, PySequence_Fast_GET_ITEM(fields[FUNCTIONS], i), i, &layout) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ----------------------------------------------------------------------------------------
 * Output files. Every file linewise writes (results, HTML pages) goes through write_output,
 * so the same rules hold for all of them:
 *  - symlinks are followed to the end of the chain and the file they name is written; a
 *    dangling symlink gets its target created, as cp does;
 *  - a regular file (or nothing yet) is replaced atomically: a temporary file in the
 *    target's directory, flushed, then renamed over it. An existing file keeps its mode
 *    (and owner and group where we may set them); a new one gets 0666 & ~umask;
 *  - a character or block device or a FIFO is written through (opened and written, never
 *    replaced): /dev/null discards, a FIFO's reader receives the bytes;
 *  - a directory (EISDIR), a socket or anything else (LW_ESOCKET, LW_EKIND) is refused.
 * Before an atomic write, temporary files of the same target left by dead writers (kill -9)
 * are removed.
 * ---------------------------------------------------------------------------------------- */

/* Errors of our own, beside errno values (which are positive). */
enum { LW_ESOCKET = -2, LW_EKIND = -3 };

enum { MAX_SYMLINKS = 40 };  /* as Linux's own limit, then ELOOP */

typedef enum { TARGET_NEW, TARGET_FILE, TARGET_THROUGH } TargetKind;

/* What write_output writes to, once symlinks are resolved. */
typedef struct {
    char *path;       /* owned (PyMem_Raw) */
    TargetKind kind;
    struct stat st;   /* of path, unless kind is TARGET_NEW */
} Target;

/* Length of the directory part of path (up to its last slash, kept only when it is the
 * root's), or -1 when path has no slash. */
static Py_ssize_t
dir_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash == NULL ? -1 : slash == path ? 1 : (Py_ssize_t)(slash - path);
}

/* A new PyMem_Raw string: the directory part of path ("." when it has none). */
static char *
dir_of(const char *path)
{
    Py_ssize_t n = dir_length(path);
    char *dir = PyMem_RawMalloc(n < 0 ? 2 : (size_t)n + 1);
    if (dir == NULL) {
        return NULL;
    }
    if (n < 0) {
        strcpy(dir, ".");
    }
    else {
        memcpy(dir, path, (size_t)n);
        dir[n] = '\0';
    }
    return dir;
}

/* Follows the symlinks at path into t (t->path is then owned by the caller). Returns 0,
 * an errno value, LW_ESOCKET or LW_EKIND (t->path NULL). Runs without the GIL. */
static int
resolve_target(const char *path, Target *t)
{
    size_t n = strlen(path) + 1;
    char *cur = PyMem_RawMalloc(n);  /* owned */
    char *link = NULL;               /* owned */
    int err = 0;
    t->path = NULL;
    if (cur == NULL) {
        return ENOMEM;
    }
    memcpy(cur, path, n);
    for (int hops = 0;; hops++) {
        if (lstat(cur, &t->st) != 0) {
            if (errno != ENOENT) {
                err = errno;
                goto error;
            }
            t->kind = TARGET_NEW;
            break;
        }
        mode_t mode = t->st.st_mode;
        if (!S_ISLNK(mode)) {
            if (S_ISREG(mode)) {
                t->kind = TARGET_FILE;
            }
            else if (S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode)) {
                t->kind = TARGET_THROUGH;
            }
            else {
                err = S_ISDIR(mode) ? EISDIR : S_ISSOCK(mode) ? LW_ESOCKET : LW_EKIND;
                goto error;
            }
            break;
        }
        if (hops == MAX_SYMLINKS) {
            err = ELOOP;
            goto error;
        }
        link = PyMem_RawMalloc(PATH_MAX);
        if (link == NULL) {
            err = ENOMEM;
            goto error;
        }
        ssize_t got = readlink(cur, link, PATH_MAX);
        if (got < 0 || got >= PATH_MAX) {
            err = got < 0 ? errno : ENAMETOOLONG;
            goto error;
        }
        link[got] = '\0';
        /* A relative link is relative to the directory holding it. */
        Py_ssize_t keep = link[0] == '/' ? -1 : dir_length(cur);
        size_t size = (keep < 0 ? 0 : (size_t)keep + 1) + (size_t)got + 1;
        char *next = PyMem_RawMalloc(size);
        if (next == NULL) {
            err = ENOMEM;
            goto error;
        }
        if (keep < 0) {
            memcpy(next, link, (size_t)got + 1);
        }
        else {
            /* keep is 1 for a link in "/": no second slash. */
            const char *sep = cur[keep - 1] == '/' ? "" : "/";
            (void)snprintf(next, size, "%.*s%s%s", (int)keep, cur, sep, link);
        }
        PyMem_RawFree(cur);
        PyMem_RawFree(link);
        link = NULL;
        cur = next;
    }
    t->path = cur;
    return 0;
error:
    PyMem_RawFree(link);
    PyMem_RawFree(cur);
    return err;
}

/* Reads the decimal digits at *p (no sign; a leading zero only for 0 itself, as printf
 * writes them) into *value and moves *p past them. Returns 0, or -1 when there are none,
 * more than max_digits, or a leading zero. */
static int
take_digits(const char **p, int max_digits, unsigned long long *value)
{
    const char *s = *p;
    int n = 0;
    *value = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == max_digits) {
            return -1;
        }
        *value = *value * 10 + (unsigned long long)(s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0')) {
        return -1;
    }
    *p = s + n;
    return 0;
}

/* Removes the temporary files write_atomic left beside path when its process died
 * mid-write: exactly "<name>.<pid>.<n>.tmp", regular files, whose pid runs no process
 * (kill(pid, 0) fails with ESRCH). A live process's, even another user's (EPERM), and
 * ours (another thread may be writing) are left alone. Best effort. Runs without the GIL. */
static void
remove_stale(const char *path)
{
    char *dir = dir_of(path);  /* owned */
    const char *slash = strrchr(path, '/');
    const char *base = slash == NULL ? path : slash + 1;
    size_t base_len = strlen(base);
    DIR *d;
    struct dirent *e;
    if (dir == NULL) {
        return;
    }
    d = opendir(dir);
    if (d == NULL) {
        PyMem_RawFree(dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name;
        unsigned long long pid, nonce;
        struct stat st;
        if (strncmp(p, base, base_len) != 0 || p[base_len] != '.') {
            continue;
        }
        p += base_len + 1;
        if (take_digits(&p, 10, &pid) < 0 || *p++ != '.' || take_digits(&p, 20, &nonce) < 0 ||
            strcmp(p, ".tmp") != 0) {
            continue;
        }
        if (pid == 0 || pid > INT_MAX || (pid_t)pid == getpid()) {
            continue;
        }
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
            continue;
        }
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            (void)unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    (void)closedir(d);
    PyMem_RawFree(dir);
}

/* Flushes the directory holding path to disk, so that the rename itself survives a crash.
 * Best effort, errors ignored: some file systems refuse fsync on a directory, and the new
 * file is complete either way. Runs without the GIL. */
static void
sync_parent(const char *path)
{
    char *dir = dir_of(path);  /* owned */
    int fd;
    if (dir == NULL) {
        return;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    PyMem_RawFree(dir);
}

/* Writes all len bytes at data to fd. Returns 0 or an errno value. */
static int
write_all(int fd, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len > (size_t)SSIZE_MAX ? (size_t)SSIZE_MAX : len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (n == 0) {
            return EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes the len bytes at data into the device or FIFO at path, as `cat > path` would.
 * Returns 0 or an errno value. Runs without the GIL. */
static int
write_through(const char *path, const unsigned char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    int err;
    if (fd < 0) {
        return errno;
    }
    err = write_all(fd, data, len);
    if (close(fd) != 0 && err == 0 && errno != EINTR) {
        err = errno;
    }
    return err;
}

/* Writes the len bytes at data to t->path through a temporary file in the same directory
 * (so the rename cannot cross file systems), flushed to disk and then renamed over it:
 * readers see the old file or the new one, never a mix, and a failure leaves the old one.
 * nonce makes the temporary name unique within this process (the pid across processes).
 * Returns 0, or an errno value after removing the temporary file. Runs without the GIL. */
static int
write_atomic(const Target *t, const unsigned char *data, size_t len, unsigned long nonce)
{
    size_t size = strlen(t->path) + 64;
    char *tmp = PyMem_RawMalloc(size);  /* owned */
    int fd = -1;
    int err = 0;
    if (tmp == NULL) {
        return ENOMEM;
    }
    /* O_EXCL: never write into a file someone else (or a crashed run) left behind. 0666:
     * the umask applies, as for any new file. */
    for (unsigned long attempt = 0;; attempt++) {
        (void)snprintf(tmp, size, "%s.%ld.%lu.tmp", t->path, (long)getpid(), nonce + attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST || attempt == 99) {
            break;
        }
    }
    if (fd < 0) {
        err = errno;
        PyMem_RawFree(tmp);
        return err;
    }
    if (t->kind == TARGET_FILE) {
        /* The replacement keeps the file's owner (when allowed: root, or a group of ours)
         * and then its mode; both best effort, as some file systems have neither. */
        if ((t->st.st_uid != geteuid() || t->st.st_gid != getegid()) &&
            fchown(fd, t->st.st_uid, t->st.st_gid) != 0) {
            /* ignored: the file is still ours */
        }
        if (fchmod(fd, t->st.st_mode & 07777) != 0) {
            /* ignored */
        }
    }
    err = write_all(fd, data, len);
    if (err == 0 && fsync(fd) != 0) {
        err = errno;
    }
    /* close releases fd even when it fails (a late write error surfaces here). */
    if (close(fd) != 0 && err == 0 && errno != EINTR) {
        err = errno;
    }
    if (err != 0) {
        goto error;
    }
    if (rename(tmp, t->path) != 0) {
        err = errno;
        goto error;
    }
    sync_parent(t->path);
    PyMem_RawFree(tmp);
    return 0;
error:
    (void)unlink(tmp);
    PyMem_RawFree(tmp);
    return err ? err : EIO;
}

/* Writes the len bytes at data to path by the rules above. Returns 0, an errno value,
 * LW_ESOCKET or LW_EKIND; path is unchanged on failure (a device or FIFO may have taken
 * part of the bytes). Runs without the GIL. */
static int
write_output(const char *path, const unsigned char *data, size_t len, unsigned long nonce)
{
    Target t;
    int err = resolve_target(path, &t);
    if (err != 0) {
        return err;
    }
    if (t.kind == TARGET_THROUGH) {
        err = write_through(t.path, data, len);
    }
    else {
        remove_stale(t.path);
        err = write_atomic(&t, data, len, nonce);
    }
    PyMem_RawFree(t.path);
    return err;
}

/* A nonce for write_atomic's temporary names: each call may try 100 names, so each takes
 * 100. Called with the GIL held, which guards the counter. */
static unsigned long
take_nonce(void)
{
    static unsigned long next_nonce = 0;
    unsigned long nonce = next_nonce;
    next_nonce += 100;
    return nonce;
}

/* Sets OSError(errno, message, fspath) for an error of write_output or resolve_target. */
static void
set_output_error(int err, PyObject *fspath)
{
    const char *why;
    PyObject *exc;
    if (err > 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        return;
    }
    why = err == LW_ESOCKET ? "it is a socket: no file can be written there"
                            : "it is not a file, a device or a FIFO";
    exc = PyObject_CallFunction(PyExc_OSError, "isO", ENXIO, why, fspath);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

/* The os.fspath() of arg and its file-system encoding, both new references in *fspath and
 * *encoded. Returns 0, or -1 with TypeError/ValueError (not a path, embedded NUL). */
static int
convert_path(PyObject *arg, PyObject **fspath, PyObject **encoded)
{
    *encoded = NULL;
    *fspath = PyOS_FSPath(arg);
    if (*fspath == NULL) {
        return -1;
    }
    if (!PyUnicode_FSConverter(*fspath, encoded)) {
        Py_CLEAR(*fspath);
        return -1;
    }
    return 0;
}

/* Builds the whole results file for payload in b (header, then body). Returns 0, or -1
 * with TypeError/ValueError naming what is wrong with payload (b may hold a partial file:
 * the caller frees it). */
static int
build_file(Buf *b, PyObject *payload)
{
    unsigned char *header;
    if (buf_extend(b, HEADER_SIZE) == NULL || put_body(b, payload) < 0) {
        return -1;
    }
    header = b->data;  /* put_body may have moved the buffer */
    memcpy(header, MAGIC, sizeof MAGIC);
    store_u32(header + 8, LW_RESULTS_VERSION);
    store_u64(header + 12, (uint64_t)(b->len - HEADER_SIZE));
    store_u32(header + 20, crc32_of(b->data + HEADER_SIZE, b->len - HEADER_SIZE));
    return 0;
}

/* encode_results(payload) -> bytes: the results file write_results would write, or NULL
 * with TypeError/ValueError (bad payload). For results that travel between processes. */
PyObject *
lw_encode_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Buf b = {NULL, 0, 0};
    PyObject *data;  /* owned */
    (void)module;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "encode_results() takes exactly 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (build_file(&b, args[0]) < 0) {
        goto error;
    }
    data = PyBytes_FromStringAndSize((const char *)b.data, (Py_ssize_t)b.len);
    if (data == NULL) {
        goto error;
    }
    PyMem_RawFree(b.data);
    return data;
error:
    PyMem_RawFree(b.data);
    return NULL;
}

/* write_results(path, payload): None, or NULL with TypeError/ValueError (bad payload,
 * nothing written) or OSError naming path (the old file, if any, intact). */
PyObject *
lw_write_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *fspath = NULL;   /* owned: str or bytes, as os.fspath gives it */
    PyObject *encoded = NULL;  /* owned: bytes */
    Buf b = {NULL, 0, 0};
    unsigned long nonce;
    int err;
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "write_results() takes exactly 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    /* The whole file is built and checked before the disk is touched: a bad payload
     * leaves no trace. */
    if (convert_path(args[0], &fspath, &encoded) < 0 || build_file(&b, args[1]) < 0) {
        goto error;
    }
    nonce = take_nonce();
    Py_BEGIN_ALLOW_THREADS
    err = write_output(PyBytes_AS_STRING(encoded), b.data, b.len, nonce);
    Py_END_ALLOW_THREADS
    if (err != 0) {
        set_output_error(err, fspath);
        goto error;
    }
    PyMem_RawFree(b.data);
    Py_DECREF(encoded);
    Py_DECREF(fspath);
    Py_RETURN_NONE;
error:
    PyMem_RawFree(b.data);
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return NULL;
}

/* write_file(path, data): None, or NULL with TypeError (data not bytes) or OSError naming
 * path. */
PyObject *
lw_write_file(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *fspath = NULL;   /* owned */
    PyObject *encoded = NULL;  /* owned: bytes */
    const unsigned char *data; /* borrowed from args[1] */
    size_t len;
    unsigned long nonce;
    int err;
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "write_file() takes exactly 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    /* bytes only: immutable, so it cannot change while the GIL is released. */
    if (!PyBytes_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "write_file() data must be bytes, not %.100s",
                     Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    if (convert_path(args[0], &fspath, &encoded) < 0) {
        goto error;
    }
    data = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    len = (size_t)PyBytes_GET_SIZE(args[1]);
    nonce = take_nonce();
    Py_BEGIN_ALLOW_THREADS
    err = write_output(PyBytes_AS_STRING(encoded), data, len, nonce);
    Py_END_ALLOW_THREADS
    if (err != 0) {
        set_output_error(err, fspath);
        goto error;
    }
    Py_DECREF(encoded);
    Py_DECREF(fspath);
    Py_RETURN_NONE;
error:
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return NULL;
}

/* output_target(path) -> (target, kind): what a write to path would write, symlinks
 * resolved (str or bytes, as path), and kind "new", "file", "device" or "fifo"; or NULL
 * with the OSError the write would raise (a directory, a socket, a symlink loop...). */
PyObject *
lw_output_target(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *fspath = NULL;   /* owned */
    PyObject *encoded = NULL;  /* owned: bytes */
    PyObject *target = NULL;   /* owned */
    PyObject *result;
    const char *kind;
    Target t;
    int err;
    (void)module;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "output_target() takes exactly 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (convert_path(args[0], &fspath, &encoded) < 0) {
        goto error;
    }
    Py_BEGIN_ALLOW_THREADS
    err = resolve_target(PyBytes_AS_STRING(encoded), &t);
    Py_END_ALLOW_THREADS
    if (err != 0) {
        set_output_error(err, fspath);
        goto error;
    }
    kind = t.kind == TARGET_NEW ? "new" : t.kind == TARGET_FILE ? "file"
           : S_ISFIFO(t.st.st_mode) ? "fifo" : "device";
    target = PyBytes_Check(fspath) ? PyBytes_FromString(t.path)
                                   : PyUnicode_DecodeFSDefault(t.path);
    PyMem_RawFree(t.path);
    if (target == NULL) {
        goto error;
    }
    result = Py_BuildValue("(Os)", target, kind);
    Py_DECREF(target);
    Py_DECREF(encoded);
    Py_DECREF(fspath);
    return result;
error:
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return NULL;
}

/* Reads the file at path into a new PyMem_Raw buffer (*out, *out_len). Returns 0, an errno
 * value, or -1 when the file is larger than LW_RESULTS_MAX_BYTES. Runs without the GIL. */
static int
read_whole(const char *path, unsigned char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    unsigned char *data = NULL;  /* owned */
    size_t len = 0;
    size_t cap;
    int err = 0;
    if (f == NULL) {
        return errno;
    }
    if (fstat(fileno(f), &st) != 0) {
        err = errno;
        goto done;
    }
    /* fopen succeeds on a directory on Linux; only the read would fail, less clearly. */
    if (S_ISDIR(st.st_mode)) {
        err = EISDIR;
        goto done;
    }
    /* A regular file's size is known: refuse a huge one before reading it, and read the
     * rest in one go (the spare byte sees EOF, or a file still growing). Pipes and devices
     * are read in growing chunks until the limit. */
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > LW_RESULTS_MAX_BYTES) {
        err = -1;
        goto done;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    data = PyMem_RawMalloc(cap);
    if (data == NULL) {
        err = ENOMEM;
        goto done;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            if (cap > LW_RESULTS_MAX_BYTES) {
                err = -1;
                goto done;
            }
            size_t grown = cap > LW_RESULTS_MAX_BYTES / 2 ? LW_RESULTS_MAX_BYTES + 1 : cap * 2;
            unsigned char *bigger = PyMem_RawRealloc(data, grown);
            if (bigger == NULL) {
                err = ENOMEM;
                goto done;
            }
            data = bigger;
            cap = grown;
        }
        errno = 0;
        got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                err = errno ? errno : EIO;
                goto done;
            }
            break;
        }
    }
done:
    (void)fclose(f);
    if (err != 0) {
        PyMem_RawFree(data);
        return err;
    }
    *out = data;
    *out_len = len;
    return 0;
}

/* read_results(path): the payload dict, or NULL with OSError naming path (unreadable)
 * or ValueError (not a valid results file). */
PyObject *
lw_read_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *fspath = NULL;   /* owned: str or bytes, as os.fspath gives it */
    PyObject *encoded = NULL;  /* owned: bytes */
    PyObject *payload;           /* owned */
    unsigned char *data = NULL;  /* owned (PyMem_Raw) */
    size_t len = 0;
    int err;
    (void)module;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "read_results() takes exactly 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (convert_path(args[0], &fspath, &encoded) < 0) {
        goto error;
    }
    Py_BEGIN_ALLOW_THREADS
    err = read_whole(PyBytes_AS_STRING(encoded), &data, &len);
    Py_END_ALLOW_THREADS
    if (err == -1) {
        PyErr_Format(PyExc_ValueError, "file too large: more than %zu bytes",
                     LW_RESULTS_MAX_BYTES);
        goto error;
    }
    if (err != 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        goto error;
    }
    payload = lw_parse_results(data, len);
    PyMem_RawFree(data);
    Py_DECREF(encoded);
    Py_DECREF(fspath);
    return payload;
error:
    PyMem_RawFree(data);
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return NULL;
}

/* decode_results(data) -> payload dict, or NULL with TypeError (data not bytes-like) or
 * ValueError (not a valid results file). The bytes are parsed as strictly as a file. */
PyObject *
lw_decode_results(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    PyObject *payload;  /* owned */
    (void)module;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "decode_results() takes exactly 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (PyUnicode_Check(args[0])) {  /* a str has no buffer anyway; say what is wanted */
        PyErr_SetString(PyExc_TypeError, "decode_results() takes bytes, not str");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if ((size_t)view.len > LW_RESULTS_MAX_BYTES) {
        PyErr_Format(PyExc_ValueError, "results too large: more than %zu bytes",
                     LW_RESULTS_MAX_BYTES);
        PyBuffer_Release(&view);
        return NULL;
    }
    payload = lw_parse_results((const unsigned char *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return payload;
}
