/* engine.c: the Engine type, one per LineProfiler: which code it watches, on or off,
 * and reading its counts out. */
#include "events.h"
#include "snapshot.h"

/* Activates (on) or deactivates this engine's codes. Returns 0, or -1 with an exception;
 * on failure to activate the codes already switched are switched back, and deactivating
 * goes on through every code (each keeps its count of active engines right). */
static int
set_codes_active(EngineObject *self, lw_state *st, int on)
{
    Py_ssize_t n = PyList_GET_SIZE(self->codes);
    PyObject *first_exc = NULL;  /* owned: deactivating, the first failure */
    for (Py_ssize_t i = 0; i < n; i++) {
        CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
        if (e != NULL && lw_backend_code_active(st, e, on) < 0) {
            if (!on) {
                if (first_exc == NULL) {
                    first_exc = lw_err_save();
                }
                PyErr_Clear();
                continue;
            }
            {
                /* Undo the ones switched on so far, keeping the first error. */
                PyObject *saved = lw_err_save();  /* owned */
                for (Py_ssize_t j = 0; j < i; j++) {
                    CodeEntry *done = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, j));
                    if (done != NULL) {
                        (void)lw_backend_code_active(st, done, 0);
                    }
                }
                lw_err_restore(saved);
            }
            return -1;
        }
    }
    if (first_exc != NULL) {
        lw_err_restore(first_exc);
        return -1;
    }
    return 0;
}

/* Takes the right to start or stop the backend. Another thread's switch is waited for
 * with the GIL released (that thread needs it to finish). This thread's own (Python code
 * run by the switch: a tracer's callback, an audit hook, a finalizer, enabling a profiler)
 * cannot be waited for: RuntimeError. Returns 0, or -1 with an exception. */
static int
switch_begin(lw_state *st)
{
    unsigned long me = PyThread_get_thread_ident();
    for (;;) {
        if (!st->switching) {
            st->switching = 1;
            st->switch_owner = me;
            break;
        }
        if (st->switch_owner == me) {
            PyErr_SetString(PyExc_RuntimeError,
                            "linewise: cannot enable a profiler while profiling is being "
                            "switched on or off (from a trace function or audit hook)");
            return -1;
        }
        if (lw_is_finalizing()) {
            /* The other thread may never run again (a daemon thread at exit). */
            PyErr_SetString(PyExc_RuntimeError,
                            "linewise: profiling is being switched on or off by another "
                            "thread at interpreter exit");
            return -1;
        }
        Py_BEGIN_ALLOW_THREADS
        /* Bounded, so that the exit check above is made again now and then. */
        if (PyThread_acquire_lock_timed(st->switch_lock, 100000, 0) == PY_LOCK_ACQUIRED) {
            PyThread_release_lock(st->switch_lock);
        }
        Py_END_ALLOW_THREADS
    }
    /* The lock is free but for a waiter between its acquire and release above: wait for it
     * without the GIL (others see the switch taken meanwhile and wait). */
    if (PyThread_acquire_lock(st->switch_lock, NOWAIT_LOCK) != PY_LOCK_ACQUIRED) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(st->switch_lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    return 0;
}

static void
switch_end(lw_state *st)
{
    st->switching = 0;
    st->switch_owner = 0;
    PyThread_release_lock(st->switch_lock);
}

/* Instruments the engine's codes, starting the backend if it is the first armed engine.
 * Returns 0, or -1 with an exception (and the engine still unarmed). */
static int
engine_arm(EngineObject *self, lw_state *st)
{
    if (self->armed) {
        return 0;
    }
    if (st->switching || st->n_armed == 0) {
        /* Waiting may let other threads run, and arm this engine or stop the backend. */
        if (switch_begin(st) < 0) {
            return -1;
        }
        if (self->armed) {
            switch_end(st);
            return 0;
        }
        int started = st->n_armed > 0 ? 0 : lw_backend_start(self->module, st);
        switch_end(st);
        if (started < 0) {
            return -1;
        }
    }
    st->n_armed++;
    if (set_codes_active(self, st, 1) < 0) {
        if (--st->n_armed == 0) {
            PyObject *saved = lw_err_save();  /* owned */
            if (switch_begin(st) == 0) {
                if (st->n_armed == 0) {
                    (void)lw_backend_stop(self->module, st);
                }
                switch_end(st);
            }
            lw_err_restore(saved);
        }
        return -1;
    }
    self->armed = 1;
    return 0;
}

/* Removes the instrumentation, stopping the backend with the last armed engine.
 * Returns 0, or -1 with an exception (the engine is unarmed regardless). */
static int
engine_disarm(EngineObject *self, lw_state *st)
{
    int status = 0;
    if (!self->armed) {
        return 0;
    }
    self->armed = 0;
    if (set_codes_active(self, st, 0) < 0) {
        status = -1;
    }
    if (--st->n_armed == 0) {
        PyObject *first_exc = status < 0 ? lw_err_save() : NULL;  /* owned: raised last */
        /* Another thread may arm an engine while this one waits: then keep the backend. */
        if (switch_begin(st) < 0) {
            status = -1;
        }
        else {
            if (st->n_armed == 0 && lw_backend_stop(self->module, st) < 0) {
                status = -1;
            }
            switch_end(st);
        }
        if (first_exc != NULL) {
            PyErr_Clear();
            lw_err_restore(first_exc);
        }
    }
    return status;
}

/* Memory tracing follows the engines that want it: the hooks go in with the first one
 * enabled and out with the last one disabled. Each returns 0, or -1 with an exception. */
static int
engine_memory_on(EngineObject *self, lw_state *st)
{
    if (!self->memory || self->enabled) {
        return 0;
    }
    if (st->mem_engines == 0 && lw_mem_start() < 0) {
        PyObject *saved = lw_err_save();  /* owned */
        (void)lw_mem_stop();
        PyErr_Clear();
        lw_err_restore(saved);
        return -1;
    }
    st->mem_engines++;
    return 0;
}

static int
engine_memory_off(EngineObject *self, lw_state *st)
{
    if (!self->memory || !self->enabled) {
        return 0;
    }
    return --st->mem_engines == 0 ? lw_mem_stop() : 0;
}

/* Turns counting on. Returns 0, or -1 with an exception (and counting still off). */
static int
engine_enable(EngineObject *self)
{
    lw_state *st = lw_get_state(self->module);
    if (engine_arm(self, st) < 0) {
        return -1;
    }
    if (engine_memory_on(self, st) < 0) {
        return -1;  /* armed but off: the next enable or disable sorts it out */
    }
    if (!self->enabled) {
        self->enabled_since = lw_timer_now();
    }
    self->enabled = 1;
    return 0;
}

/* Turns counting off, and the instrumentation too unless keep_armed (honoured only by the
 * monitoring backend: an armed legacy hook would slow every call in the program).
 * Returns 0, or -1 with an exception (counting is off regardless). */
static int
engine_disable(EngineObject *self, int keep_armed)
{
    lw_state *st = lw_get_state(self->module);
    if (self->enabled) {
        self->profiled += lw_timer_now() - self->enabled_since;
    }
    int status = engine_memory_off(self, st);
    self->enabled = 0;
    if ((keep_armed || self->pinned > 0) && st->ops->keeps_armed) {
        return status;  /* a decorated code's next start enables it again */
    }
    if (engine_disarm(self, st) < 0) {
        return -1;
    }
    return status;
}

static PyObject *
Engine_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"memory", NULL};
    EngineObject *self = NULL;  /* owned */
    PyObject *module = NULL;    /* borrowed */
    int memory = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$p:Engine", kwlist, &memory)) {
        return NULL;
    }
    module = PyType_GetModule(type);
    if (module == NULL) {
        return NULL;
    }
    self = (EngineObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->codes = PyList_New(0);
    if (self->codes == NULL) {
        goto error;
    }
    self->module = Py_NewRef(module);
    self->memory = memory;
    return (PyObject *)self;
error:
    Py_XDECREF(self);
    return NULL;
}

static void
Engine_dealloc(EngineObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject *saved = lw_err_save();  /* owned */
    if (self->module != NULL) {
        lw_state *st = lw_get_state(self->module);
        self->pinned = 0;  /* frames counting it up hold it: none runs */
        if (engine_disable(self, 0) < 0) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
        if (self->codes != NULL) {
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
                CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
                if (e != NULL) {
                    lw_entry_remove_slot(e, self);
                }
            }
        }
    }
    Py_CLEAR(self->codes);
    Py_CLEAR(self->module);
    lw_err_restore(saved);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

PyDoc_STRVAR(add_code_doc,
"add_code(code, first_line, last_line, yield_offsets=None, counting=False) -> bool\n\n"
"Watch `code`, counting lines first_line..last_line. yield_offsets: byte offsets of its\n"
"YIELD_VALUE and resuming RESUME instructions (used by the legacy backend on 3.11+).\n"
"counting: `code` is a decorated function's own (sys.monitoring backend, plain functions\n"
"only): each of its frames counts this engine up while it runs, as enable_by_count()\n"
"and disable_by_count() around the call would; the engine is armed now and stays armed.\n"
"Returns True if the code was new to this engine.");

/* Makes `e`'s frames count `self` up (add_code(counting=True), which has checked that no
 * engine counts on `e` yet), arming the engine so that their starts are seen. The copy
 * whose frames these are is made only after this returns, so none starts meanwhile.
 * Returns 0, or -1 with an exception (and nothing changed). */
static int
engine_count_on(EngineObject *self, lw_state *st, CodeEntry *e)
{
    if (engine_arm(self, st) < 0) {
        return -1;
    }
    lw_entry_slot(e, self)->counts = 1;
    e->counting++;
    self->pinned++;
    return 0;
}

static PyObject *
Engine_add_code(EngineObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"code", "first_line", "last_line", "yield_offsets", "counting",
                             NULL};
    PyObject *code;                     /* borrowed */
    PyObject *yield_offsets = Py_None;  /* borrowed */
    int first_line, last_line, counting = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!ii|O$p:add_code", kwlist, &PyCode_Type,
                                     &code, &first_line, &last_line, &yield_offsets,
                                     &counting)) {
        return NULL;
    }
    lw_state *st = lw_get_state(self->module);
    if (counting && !st->ops->keeps_armed) {
        PyErr_Format(PyExc_ValueError, "add_code(counting=True) needs the sys.monitoring "
                     "backend, not %s", st->ops->name);
        return NULL;
    }
    CodeEntry *e = lw_code_entry_ensure(st->extra_index, code, first_line, last_line,
                                        yield_offsets);
    if (e == NULL) {
        return NULL;
    }
    if (counting && e->kind != LW_KIND_PLAIN) {
        /* A generator's frames come and go at each yield: its wrapper counts instead. */
        PyErr_SetString(PyExc_ValueError, "add_code(counting=True) takes a plain function's "
                        "code, not a generator's or coroutine's");
        return NULL;
    }
    if (counting && e->counting > 0) {
        /* Its frames count one engine: the record of a running one holds that engine. */
        PyErr_SetString(PyExc_ValueError, "add_code(counting=True): this code already "
                        "counts an engine (a decorated function's); copy it first");
        return NULL;
    }
    if (lw_entry_slot(e, self) != NULL) {
        if (counting && engine_count_on(self, st, e) < 0) {
            return NULL;
        }
        Py_RETURN_FALSE;
    }
    if (lw_entry_add_slot(e, self) < 0) {
        return NULL;
    }
    if (self->memory) {
        LineSlot *slot = lw_entry_slot(e, self);
        slot->mem = PyMem_RawCalloc((size_t)e->n_lines + 1, sizeof(MemLine));
        if (slot->mem == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    if (PyList_Append(self->codes, code) < 0) {
        goto error;
    }
    if (self->armed && lw_backend_code_active(st, e, 1) < 0) {
        Py_ssize_t n = PyList_GET_SIZE(self->codes);
        (void)PyList_SetSlice(self->codes, n - 1, n, NULL);
        goto error;
    }
    if (counting && engine_count_on(self, st, e) < 0) {
        /* Arming failed, so the code was not made active: only the list holds it. */
        Py_ssize_t n = PyList_GET_SIZE(self->codes);
        (void)PyList_SetSlice(self->codes, n - 1, n, NULL);
        goto error;
    }
    Py_RETURN_TRUE;
error:
    lw_entry_remove_slot(e, self);
    return NULL;
}

PyDoc_STRVAR(uncount_code_doc,
"uncount_code(code) -> None\n\n"
"Undoes add_code(code, ..., counting=True) (its decorated function is gone): the code\n"
"stays watched; an engine left with no such code and not enabled is disarmed.");

static PyObject *
Engine_uncount_code(EngineObject *self, PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "uncount_code() needs a code object");
        return NULL;
    }
    lw_state *st = lw_get_state(self->module);
    CodeEntry *e = lw_code_entry(st->extra_index, code);
    LineSlot *slot = e != NULL ? lw_entry_slot(e, self) : NULL;
    if (slot == NULL || !slot->counts) {
        Py_RETURN_NONE;
    }
    /* No frame of it runs: each holds its function, the last of which is what went. */
    slot->counts = 0;
    e->counting--;
    if (--self->pinned == 0 && !self->enabled && engine_disarm(self, st) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Engine_enable(EngineObject *self, PyObject *Py_UNUSED(ignored))
{
    if (engine_enable(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Engine_disable(EngineObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"keep_armed", NULL};
    int keep_armed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:disable", kwlist, &keep_armed)) {
        return NULL;
    }
    if (engine_disable(self, keep_armed) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

int
lw_engine_count_up(EngineObject *self)
{
    /* enable() may let other threads run (a backend switch): they see the count still 0
     * and enable too, which is idempotent; the count goes up only once this is on. */
    if (self->enable_count == 0 && engine_enable(self) < 0) {
        return -1;
    }
    self->enable_count++;
    return 0;
}

int
lw_engine_count_down(EngineObject *self, int keep_armed)
{
    if (self->enable_count <= 0) {
        return 0;
    }
    if (--self->enable_count == 0 && engine_disable(self, keep_armed) < 0) {
        return -1;
    }
    return 0;
}

EngineObject *
lw_entry_count_up(CodeEntry *e)
{
    for (int i = 0; i < e->n_slots; i++) {
        if (!e->slots[i].counts) {
            continue;
        }
        /* The engine is alive while its slot is; enabling it runs no Python code here
         * (it is armed: lw_engine_count_up only sets flags and, for memory, the hooks). */
        EngineObject *engine = e->slots[i].engine;  /* borrowed */
        if (lw_engine_count_up(engine) < 0) {
            PyErr_WriteUnraisable((PyObject *)engine);
            return NULL;
        }
        return (EngineObject *)Py_NewRef(engine);
    }
    return NULL;
}

void
lw_record_count_down(EngineObject *engine)
{
    if (lw_engine_count_down(engine, 1) < 0) {
        PyErr_WriteUnraisable((PyObject *)engine);
    }
    Py_DECREF(engine);
}

void
lw_stack_uncount(ThreadStack *ts, int from)
{
    /* Each step re-reads ts: releasing an engine may run its deallocator. */
    for (int i = ts->size - 1; i >= from && ts->counted > 0; i--) {
        FrameRec *r = &ts->recs[i];
        if (r->flags & LW_REC_COUNTED) {
            EngineObject *engine = r->counted;  /* owned, taken from the record */
            r->flags &= ~LW_REC_COUNTED;
            r->counted = NULL;
            ts->counted--;
            lw_record_count_down(engine);
        }
    }
}

static PyObject *
Engine_enable_by_count(EngineObject *self, PyObject *Py_UNUSED(ignored))
{
    if (lw_engine_count_up(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Engine_disable_by_count(EngineObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"keep_armed", NULL};
    int keep_armed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:disable_by_count", kwlist, &keep_armed)) {
        return NULL;
    }
    if (lw_engine_count_down(self, keep_armed) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Engine_get_enable_count(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->enable_count);
}

static PyObject *
Engine_get_armed(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->armed);
}

static PyObject *
Engine_get_pinned(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->pinned);
}

PyDoc_STRVAR(get_stats_doc,
"get_stats(extended=False) -> list of (code, [(lineno, hits, time_ns), ...])\n\n"
"Every watched code object with the lines that ran, times in nanoseconds. extended:\n"
"rows (lineno, hits, time_ns, own_ns, outer_ns): own time leaves out profiled callees;\n"
"outer time is charged in the outermost frame of the code only (events.h).");

static PyObject *
Engine_get_stats(EngineObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"extended", NULL};
    int extended = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$p:get_stats", kwlist, &extended)) {
        return NULL;
    }
    lw_state *st = lw_get_state(self->module);
    double ns_per_tick = lw_timer_ns_per_tick();
    PyObject *result = PyList_New(0);  /* owned */
    PyObject *lines = NULL;            /* owned */
    PyObject *item = NULL;             /* owned */
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
        PyObject *code = PyList_GET_ITEM(self->codes, i);
        CodeEntry *e = lw_code_entry(st->extra_index, code);
        LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
        lines = PyList_New(0);
        if (lines == NULL) {
            goto error;
        }
        for (int j = 0; slot != NULL && j < e->n_lines; j++) {
            LineStat *ls = &slot->lines[j];
            if (ls->hits == 0 && ls->ticks == 0) {
                continue;
            }
            long long ns = (long long)((double)ls->ticks * ns_per_tick + 0.5);
            if (extended) {
                long long own = (long long)((double)ls->own * ns_per_tick + 0.5);
                long long outer = (long long)((double)ls->outer * ns_per_tick + 0.5);
                item = Py_BuildValue("(iKLLL)", e->first_line + j, (unsigned long long)ls->hits,
                                     ns, own, outer);
            }
            else {
                item = Py_BuildValue("(iKL)", e->first_line + j, (unsigned long long)ls->hits,
                                     ns);
            }
            if (item == NULL || PyList_Append(lines, item) < 0) {
                goto error;
            }
            Py_CLEAR(item);
        }
        item = PyTuple_Pack(2, code, lines);
        if (item == NULL || PyList_Append(result, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
        Py_CLEAR(lines);
    }
    return result;
error:
    Py_XDECREF(item);
    Py_XDECREF(lines);
    Py_DECREF(result);
    return NULL;
}

PyDoc_STRVAR(get_memory_doc,
"get_memory() -> list of (code, [(lineno, alloc, net, peak), ...], (alloc, net, peak))\n\n"
"Every watched code object with the memory of the lines that ran (bytes; callees\n"
"included) and of its calls: alloc and net summed over them, peak the highest. Empty\n"
"when the engine does not trace memory.");

static PyObject *
Engine_get_memory(EngineObject *self, PyObject *Py_UNUSED(ignored))
{
    lw_state *st = lw_get_state(self->module);
    PyObject *result = PyList_New(0);  /* owned */
    PyObject *lines = NULL;            /* owned */
    PyObject *item = NULL;             /* owned */
    if (result == NULL || !self->memory) {
        return result;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
        PyObject *code = PyList_GET_ITEM(self->codes, i);
        CodeEntry *e = lw_code_entry(st->extra_index, code);
        LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
        if (slot == NULL || slot->mem == NULL) {
            continue;
        }
        lines = PyList_New(0);
        if (lines == NULL) {
            goto error;
        }
        for (int j = 0; j < e->n_lines; j++) {
            MemLine *ml = &slot->mem[j];
            if (slot->lines[j].hits == 0 && ml->alloc == 0 && ml->net == 0 && ml->peak == 0) {
                continue;
            }
            item = Py_BuildValue("(iKLK)", e->first_line + j, (unsigned long long)ml->alloc,
                                 (long long)ml->net, (unsigned long long)ml->peak);
            if (item == NULL || PyList_Append(lines, item) < 0) {
                goto error;
            }
            Py_CLEAR(item);
        }
        MemLine *call = &slot->mem[e->n_lines];
        item = Py_BuildValue("(ON(KLK))", code, lines, (unsigned long long)call->alloc,
                             (long long)call->net, (unsigned long long)call->peak);
        lines = NULL;  /* the tuple took it */
        if (item == NULL || PyList_Append(result, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
    }
    return result;
error:
    Py_XDECREF(item);
    Py_XDECREF(lines);
    Py_DECREF(result);
    return NULL;
}

static PyObject *
Engine_get_memory_on(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->memory);
}

PyDoc_STRVAR(calibrate_doc,
"calibrate(func, arg, repeats) -> float\n\n"
"The cost of one event in nanoseconds, timed on the real hook path: func(arg), whose code\n"
"is this engine's only one, is called `repeats` times unprofiled and as many profiled,\n"
"interleaved; the difference of the fastest of each, over the events one profiled call\n"
"fires (its hits, its start and its return). The counts are zeroed afterwards.");

/* Calls func(arg) and returns the ticks it took, or -1 with an exception. */
static int64_t
timed_call(PyObject *func, PyObject *arg)
{
    int64_t t0 = lw_timer_now();
    PyObject *result = PyObject_CallOneArg(func, arg);  /* owned */
    int64_t t1 = lw_timer_now();
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return t1 - t0;
}

static PyObject *
Engine_calibrate(EngineObject *self, PyObject *args)
{
    PyObject *func, *arg;  /* borrowed */
    int repeats;
    if (!PyArg_ParseTuple(args, "OOi:calibrate", &func, &arg, &repeats)) {
        return NULL;
    }
    if (self->enabled || repeats < 1 || PyList_GET_SIZE(self->codes) != 1) {
        PyErr_SetString(PyExc_ValueError,
                        "calibrate() needs a disabled engine holding one code, repeats >= 1");
        return NULL;
    }
    lw_state *st = lw_get_state(self->module);
    int64_t bare = INT64_MAX, profiled = INT64_MAX;
    for (int i = 0; i < repeats; i++) {
        int64_t t = timed_call(func, arg);
        if (t < 0) {
            return NULL;
        }
        bare = t < bare ? t : bare;
        if (engine_enable(self) < 0) {
            return NULL;
        }
        t = timed_call(func, arg);
        if (engine_disable(self, 0) < 0 || t < 0) {
            return NULL;
        }
        profiled = t < profiled ? t : profiled;
    }
    CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, 0));
    LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
    uint64_t hits = 0;
    for (int j = 0; slot != NULL && j < e->n_lines; j++) {
        hits += slot->lines[j].hits;
    }
    if (slot != NULL) {
        memset(slot->lines, 0, (size_t)e->n_lines * sizeof(LineStat));
    }
    double events = (double)hits / repeats + 2.0;  /* + its start and return */
    double cost = profiled > bare ? (double)(profiled - bare) / events : 0.0;
    return PyFloat_FromDouble(cost * lw_timer_ns_per_tick());
}

static PyObject *
Engine_reset(EngineObject *self, PyObject *Py_UNUSED(ignored))
{
    lw_state *st = lw_get_state(self->module);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++) {
        CodeEntry *e = lw_code_entry(st->extra_index, PyList_GET_ITEM(self->codes, i));
        LineSlot *slot = e ? lw_entry_slot(e, self) : NULL;
        if (slot != NULL) {
            memset(slot->lines, 0, (size_t)e->n_lines * sizeof(LineStat));
            if (slot->mem != NULL) {
                memset(slot->mem, 0, ((size_t)e->n_lines + 1) * sizeof(MemLine));
            }
        }
    }
    self->profiled = 0;
    self->enabled_since = lw_timer_now();
    Py_RETURN_NONE;
}

static PyObject *
Engine_get_enabled(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->enabled);
}

static PyObject *
Engine_get_profiled_ns(EngineObject *self, void *Py_UNUSED(closure))
{
    int64_t ticks = self->profiled;
    if (self->enabled) {
        ticks += lw_timer_now() - self->enabled_since;
    }
    return PyLong_FromLongLong((long long)((double)ticks * lw_timer_ns_per_tick() + 0.5));
}

static PyObject *
Engine_get_event_cost_ns(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyFloat_FromDouble((double)self->event_cost * lw_timer_ns_per_tick());
}

static PyObject *
Engine_get_event_cost_far_ns(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyFloat_FromDouble((double)self->event_cost_far * lw_timer_ns_per_tick());
}

/* Converts `value` (ns, 0 to 1e9) to ticks in *out. Returns 0, or -1 with an exception. */
static int
cost_ticks(PyObject *value, const char *name, int64_t *out)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete %s", name);
        return -1;
    }
    double ns = PyFloat_AsDouble(value);
    if (ns == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    if (!(ns >= 0.0 && ns < 1e9)) {
        PyErr_Format(PyExc_ValueError, "%s must be from 0 to 1e9", name);
        return -1;
    }
    *out = (int64_t)(ns / lw_timer_ns_per_tick() + 0.5);
    return 0;
}

/* Setting the cost sets the far cost too (one figure for all code); set that after. */
static int
Engine_set_event_cost_ns(EngineObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int64_t ticks;
    if (cost_ticks(value, "event_cost_ns", &ticks) < 0) {
        return -1;
    }
    self->event_cost = self->event_cost_far = ticks;
    return 0;
}

static int
Engine_set_event_cost_far_ns(EngineObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int64_t ticks;
    if (cost_ticks(value, "event_cost_far_ns", &ticks) < 0) {
        return -1;
    }
    self->event_cost_far = ticks;
    return 0;
}

static PyObject *
Engine_get_codes(EngineObject *self, void *Py_UNUSED(closure))
{
    return PyList_GetSlice(self->codes, 0, PyList_GET_SIZE(self->codes));
}

static PyMethodDef Engine_methods[] = {
    {"add_code", (PyCFunction)(void (*)(void))Engine_add_code, METH_VARARGS | METH_KEYWORDS,
     add_code_doc},
    {"uncount_code", (PyCFunction)Engine_uncount_code, METH_O, uncount_code_doc},
    {"enable", (PyCFunction)Engine_enable, METH_NOARGS, "Start counting (idempotent)."},
    {"disable", (PyCFunction)(void (*)(void))Engine_disable, METH_VARARGS | METH_KEYWORDS,
     "disable(keep_armed=False): stop counting (idempotent). keep_armed leaves the code\n"
     "instrumented so that the next enable() is nearly free (monitoring backend only)."},
    {"enable_by_count", (PyCFunction)Engine_enable_by_count, METH_NOARGS,
     "enable(), counted: as many disable_by_count() calls turn it off."},
    {"disable_by_count", (PyCFunction)(void (*)(void))Engine_disable_by_count,
     METH_VARARGS | METH_KEYWORDS,
     "disable_by_count(keep_armed=False): undoes one enable_by_count(); the last one\n"
     "disables (see disable())."},
    {"get_stats", (PyCFunction)(void (*)(void))Engine_get_stats, METH_VARARGS | METH_KEYWORDS,
     get_stats_doc},
    {"get_memory", (PyCFunction)Engine_get_memory, METH_NOARGS, get_memory_doc},
    {"reset", (PyCFunction)Engine_reset, METH_NOARGS, "Zero every count."},
    {"snapshot_into", lw_engine_snapshot_into, METH_O, LW_SNAPSHOT_INTO_DOC},
    {"calibrate", (PyCFunction)Engine_calibrate, METH_VARARGS, calibrate_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Engine_getset[] = {
    {"enabled", (getter)Engine_get_enabled, NULL, "Whether the engine is counting.", NULL},
    {"enable_count", (getter)Engine_get_enable_count, NULL,
     "enable_by_count() calls not yet undone.", NULL},
    {"armed", (getter)Engine_get_armed, NULL, "Whether the engine's code is instrumented.", NULL},
    {"counting_codes", (getter)Engine_get_pinned, NULL,
     "Decorated codes that count this engine up (add_code(counting=True)).", NULL},
    {"memory", (getter)Engine_get_memory_on, NULL, "Whether the engine traces memory.", NULL},
    {"codes", (getter)Engine_get_codes, NULL, "The watched code objects.", NULL},
    {"profiled_ns", (getter)Engine_get_profiled_ns, NULL,
     "Nanoseconds the engine has been counting (enabled) since creation or reset().", NULL},
    {"event_cost_ns", (getter)Engine_get_event_cost_ns, (setter)Engine_set_event_cost_ns,
     "Nanoseconds subtracted per event from the lines it ran in (0: no compensation).", NULL},
    {"event_cost_far_ns", (getter)Engine_get_event_cost_far_ns,
     (setter)Engine_set_event_cost_far_ns,
     "The same for code reaching past line 256 (used while event_cost_ns is not 0).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Engine_slots[] = {
    {Py_tp_new, Engine_new},
    {Py_tp_dealloc, Engine_dealloc},
    {Py_tp_methods, Engine_methods},
    {Py_tp_getset, Engine_getset},
    {Py_tp_doc, "The C side of one LineProfiler: the code it watches and its counts."},
    {0, NULL},
};

PyType_Spec lw_engine_spec = {
    .name = "linewise._engine.Engine",
    .basicsize = sizeof(EngineObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Engine_slots,
};
