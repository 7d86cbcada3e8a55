/* mem_numpy.c: numpy's array data, which numpy allocates through its own handler (NEP 49)
 * rather than Python's allocators.
 *
 * While memory is traced, the handler numpy would use (its default, or whatever another
 * tool set) is wrapped in ours, named "linewise", through PyDataMem_SetHandler; stopping
 * sets the previous one back. numpy needs no headers at build time: its C API table comes
 * from the `_ARRAY_API` capsule of the loaded module, and the handler structs below are
 * the version-1 layout NEP 49 fixes. Every array keeps the handler it was made with, so
 * ours lives (and passes frees on) until the last array made while tracing is gone.
 *
 * numpy keeps the handler in a context variable: arrays made in the context that started
 * tracing are seen (the main thread's, normally); a thread started with a fresh context
 * gets numpy's default handler, whose arrays are not.
 */
#include "memory.h"

#include <string.h>

/* NEP 49's PyDataMemAllocator and PyDataMem_Handler, version 1. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
} NpyAllocator;

typedef struct {
    char name[127];
    uint8_t version;
    NpyAllocator allocator;
} NpyHandler;

#define NPY_HANDLER_CAPSULE "mem_handler"
#define NPY_API_FEATURE_VERSION 211   /* PyArray_GetNDArrayCFeatureVersion */
#define NPY_API_SET_HANDLER 304       /* PyDataMem_SetHandler, numpy 1.22+ */
#define NPY_API_GET_HANDLER 305       /* PyDataMem_GetHandler */
#define NPY_1_22_FEATURE 0x0f

typedef struct {
    NpyHandler handler;       /* first: the capsule's pointer */
    PyObject *inner_capsule;  /* owned: the handler wrapped */
    NpyHandler *inner;        /* borrowed from it */
} Wrapper;

static PyObject *(*set_handler)(PyObject *);  /* numpy's, once found */
static PyObject *(*get_handler)(void);
static PyObject *restore;  /* owned: the handler to set back at stop, while ours is set */

static void *
w_malloc(void *ctx, size_t n)
{
    Wrapper *w = ctx;
    lw_memtls.depth++;
    void *p = w->inner->allocator.malloc(w->inner->allocator.ctx, n);
    lw_memtls.depth--;
    lw_mem_note_alloc(p, n);
    return p;
}

static void *
w_calloc(void *ctx, size_t nelem, size_t elsize)
{
    Wrapper *w = ctx;
    lw_memtls.depth++;
    void *p = w->inner->allocator.calloc(w->inner->allocator.ctx, nelem, elsize);
    lw_memtls.depth--;
    lw_mem_note_alloc(p, nelem * elsize);
    return p;
}

static void *
w_realloc(void *ctx, void *old, size_t n)
{
    Wrapper *w = ctx;
    size_t old_size = lw_mem_take(old);
    lw_memtls.depth++;
    void *p = w->inner->allocator.realloc(w->inner->allocator.ctx, old, n);
    lw_memtls.depth--;
    lw_mem_note_realloc(old, old_size, p, n);
    return p;
}

static void
w_free(void *ctx, void *p, size_t n)
{
    Wrapper *w = ctx;
    lw_mem_note_free(p);
    lw_memtls.depth++;
    w->inner->allocator.free(w->inner->allocator.ctx, p, n);
    lw_memtls.depth--;
}

static void
wrapper_destroy(PyObject *capsule)
{
    Wrapper *w = PyCapsule_GetPointer(capsule, NPY_HANDLER_CAPSULE);
    if (w == NULL) {
        PyErr_Clear();
        return;
    }
    Py_XDECREF(w->inner_capsule);
    PyMem_RawFree(w);
}

/* Finds numpy's C API if numpy is loaded and new enough. Returns 1 found, 0 not (no
 * exception), -1 with an exception. */
static int
find_numpy(void)
{
    static const char *const names[] = {"numpy._core._multiarray_umath",
                                        "numpy.core._multiarray_umath"};
    if (set_handler != NULL) {
        return 1;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        PyObject *name = PyUnicode_FromString(names[i]);  /* owned */
        if (name == NULL) {
            return -1;
        }
        PyObject *mod = PyImport_GetModule(name);  /* owned */
        Py_DECREF(name);
        if (mod == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            continue;
        }
        PyObject *capsule = PyObject_GetAttrString(mod, "_ARRAY_API");  /* owned */
        Py_DECREF(mod);
        if (capsule == NULL) {
            PyErr_Clear();  /* still initialising: the watcher calls again */
            return 0;
        }
        void **api = PyCapsule_IsValid(capsule, NULL) ? PyCapsule_GetPointer(capsule, NULL)
                                                      : NULL;
        Py_DECREF(capsule);
        if (api == NULL) {
            PyErr_Clear();
            return 0;
        }
        unsigned int feature = ((unsigned int (*)(void))api[NPY_API_FEATURE_VERSION])();
        if (feature < NPY_1_22_FEATURE) {
            return 0;  /* before NEP 49: its arrays are not seen */
        }
        get_handler = (PyObject * (*)(void)) api[NPY_API_GET_HANDLER];
        set_handler = (PyObject * (*)(PyObject *)) api[NPY_API_SET_HANDLER];
        return 1;
    }
    return 0;
}

int
lw_numpy_wrap(void)
{
    PyObject *inner = NULL;    /* owned */
    PyObject *capsule = NULL;  /* owned */
    Wrapper *w = NULL;         /* owned until the capsule holds it */
    if (restore != NULL) {
        return 0;  /* ours is set */
    }
    int found = find_numpy();
    if (found <= 0) {
        return found;
    }
    inner = get_handler();
    if (inner == NULL) {
        return -1;
    }
    NpyHandler *h = PyCapsule_GetPointer(inner, NPY_HANDLER_CAPSULE);
    if (h == NULL) {
        goto error;
    }
    if (h->allocator.malloc == w_malloc) {
        Py_DECREF(inner);
        return 0;  /* ours already (set in another context and inherited) */
    }
    w = PyMem_RawCalloc(1, sizeof(Wrapper));
    if (w == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    strcpy(w->handler.name, "linewise");
    w->handler.version = 1;
    w->handler.allocator = (NpyAllocator){w, w_malloc, w_calloc, w_realloc, w_free};
    w->inner = h;
    w->inner_capsule = inner;  /* the wrapper owns it from here */
    inner = NULL;
    capsule = PyCapsule_New(w, NPY_HANDLER_CAPSULE, wrapper_destroy);
    if (capsule == NULL) {
        Py_DECREF(w->inner_capsule);
        PyMem_RawFree(w);
        goto error;
    }
    restore = set_handler(capsule);
    Py_DECREF(capsule);  /* numpy's context variable holds it */
    return restore == NULL ? -1 : 0;
error:
    Py_XDECREF(inner);
    return -1;
}

int
lw_numpy_unwrap(void)
{
    if (restore == NULL) {
        return 0;
    }
    PyObject *ours = set_handler(restore);  /* owned */
    Py_CLEAR(restore);
    if (ours == NULL) {
        return -1;
    }
    Py_DECREF(ours);
    return 0;
}
