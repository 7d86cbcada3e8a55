/* state.h: the module state and the Engine object, shared by every file of the engine. */
#ifndef LINEWISE_STATE_H
#define LINEWISE_STATE_H

#include "compat.h"
#include "frames.h"
#include "linetable.h"

struct lw_backend_ops;

/* A thread state and the C trace function it had before the legacy backend took over. */
typedef struct {
    PyThreadState *tstate;  /* borrowed, compared only: the thread may have ended */
    uint64_t thread_id;     /* tells a new thread state at a dead one's address apart */
    Py_tracefunc func;
    PyObject *obj;          /* owned */
} SavedTrace;

/* The sys.monitoring backend's state (monitoring.c; unused by the legacy backend). */
typedef struct {
    int tool_id;                /* our tool id while started, else -1: written by start, stop,
                                   and check_tool when profiled code freed the id */
    PyObject *sys_monitoring;   /* owned: the sys.monitoring module (init), or NULL */
    PyObject *callbacks;        /* owned: tuple of (event bit, C callable) pairs (init) */
    long local_events;          /* events set on each profiled code object (init) */
    long global_events;         /* PY_UNWIND | PY_THROW: set for the tool as a whole (init) */
} MonitoringState;

/* The legacy backend's state (legacy.h; unused by the monitoring backend). */
typedef struct {
    int on;                     /* the trace hook is installed: set by start, cleared by stop;
                                   read on every event */
    SavedTrace *saved;          /* owned array: what each thread had before start (start;
                                   emptied by stop or by the last thread giving its back) */
    Py_ssize_t n_saved;         /* length of `saved` */
    Py_ssize_t n_unresolved;    /* threads still holding the bootstrap hook after stop */
    uint64_t saved_generation;  /* bumped by start with each new `saved` table */
    PyTypeObject *hook_type;    /* owned: the trace-hook objects' type (init) */
    PyObject *bootstrap;        /* owned hook (init): every thread's at start, and threading's
                                   hook for new threads; each swaps it for its own */
    PyObject *plain;            /* owned hook (init): a thread with no other tracer */
    PyObject *saved_threading_trace;  /* owned: threading's hook before ours (start) */
    PyObject *orig_settrace;    /* owned: sys.settrace before ours (start) */
    PyObject *orig_gettrace;    /* owned: sys.gettrace before ours (start) */
    PyObject *builtin_settrace; /* owned: the one sys had at import (init), called when ours
                                   is re-entered (a tool wrapped ours) */
    PyObject *builtin_gettrace; /* owned: likewise for sys.gettrace */
    PyObject *my_settrace;      /* owned: ours (init), in sys while the hook is installed */
    PyObject *my_gettrace;      /* owned: likewise */
    Py_ssize_t hooks_lost;      /* threads whose hook another tool replaced (stop) */
    PyObject *str_f_trace_lines;  /* owned, interned "f_trace_lines" (init) */
    Py_ssize_t lines_offset;    /* of f_trace_lines in a frame, or -1 (init; compat.h) */
} LegacyState;

typedef struct {
    Py_ssize_t extra_index;     /* code-extra slot holding CodeEntry pointers (init) */
    PyTypeObject *engine_type;  /* owned: the Engine type (init) */
    PyTypeObject *wrapper_type; /* owned: the Wrapper type (init; wrapper.c) */
    const struct lw_backend_ops *ops;  /* the backend's operations (backend.c), chosen at
                                   import and fixed; NULL only before that */
    int n_armed;                /* engines armed now; the backend is on while > 0 (engine.c) */
    int switching;              /* the backend is being started or stopped, by the thread
                                   switch_owner, which holds switch_lock meanwhile: the
                                   switch runs Python code, so the GIL may pass to another
                                   thread, which then waits on the lock (GIL released) */
    unsigned long switch_owner;
    PyThread_type_lock switch_lock;  /* owned */
    uint64_t epoch;             /* bumped each time the backend starts: older thread
                                   stacks (frames.h) are stale and get cleared */
    SuspendTable suspended;     /* generator frames parked at a yield or await (events.h) */
    /* The last thread seen and its stack (events.h): a C thread-local costs a
     * __tls_get_addr call in a shared object, the thread state is at hand, and threads
     * switch rarely. The id guards against a new thread state reusing a dead one's address. */
    PyThreadState *last_tstate;
    uint64_t last_thread_id;
    ThreadStack *last_stack;
    uint64_t dropped;           /* events lost to allocation failure (never raised) */
    int mem_engines;            /* enabled engines tracing memory: events.h charges memory
                                   (mem_events.h) while > 0 (engine.c) */

    MonitoringState mon;        /* sys.monitoring backend */
    LegacyState legacy;         /* legacy backend */
} lw_state;

typedef struct EngineObject {
    PyObject_HEAD
    Py_ssize_t enable_count;  /* enable_by_count() calls not yet matched by disable_by_count():
                                 kept here so that the test and the switch are one step under
                                 the GIL (a Python-level counter lost calls between threads) */
    int enabled;        /* events are counted in this engine's slots while nonzero */
    int memory;         /* traces memory (Engine(memory=True)), fixed at creation */
    int armed;          /* its codes are instrumented (implied by enabled). An engine
                           disabled with keep_armed stays armed, so that the next enable
                           (a decorated function's next call) costs a flag write instead of
                           re-instrumenting; events then reach it but are not counted. */
    int64_t event_cost; /* ticks subtracted from a line per event while it ran (overhead
                           compensation), or 0: set from Python, read on every charge */
    int64_t event_cost_far;  /* the same for code reaching past line 256: its line numbers
                           are not cached small ints, so on sys.monitoring each LINE event
                           allocates one (a measurable part of the cost) */
    int64_t enabled_since;  /* ticks when counting last went on (valid while enabled) */
    int64_t profiled;   /* ticks counted over the closed enabled spans */
    PyObject *codes;    /* owned list of the code objects registered here (kept alive) */
    PyObject *module;   /* owned: the module whose state holds the backend */
    Py_ssize_t pinned;  /* decorated codes counting this engine (add_code(counting=True)):
                           while > 0 it stays armed through disable(), as only their
                           events can enable it */
} EngineObject;

static inline lw_state *
lw_get_state(PyObject *module)
{
    return (lw_state *)PyModule_GetState(module);
}

/* engine.c */
extern PyType_Spec lw_engine_spec;
/* enable_by_count(): counting on with the first. Returns 0, or -1 with an exception. */
int lw_engine_count_up(EngineObject *self);
/* disable_by_count(): the last one disables (keep_armed: see disable()); nothing if the
 * count is already 0. Returns 0, or -1 with an exception (counting is off regardless). */
int lw_engine_count_down(EngineObject *self, int keep_armed);

/* A frame of decorated code (CodeEntry.counting) starts: counts up the one engine that
 * counts on it and returns it (a new reference, for the frame's record), or NULL when none
 * does or enabling it failed. Called from the backend's events (monitoring only), so it
 * never raises: a failure to enable is reported as unraisable. */
EngineObject *lw_entry_count_up(CodeEntry *e);
/* The reverse, when the frame's record goes: counts `engine` down and releases it. */
void lw_record_count_down(EngineObject *engine);
/* Counts down the counted records of ts from index `from` up (they are being removed). */
void lw_stack_uncount(ThreadStack *ts, int from);

/* wrapper.c: what LineProfiler's decorator returns for a plain function. */
extern PyType_Spec lw_wrapper_spec;

/* One backend's operations: the engine calls these (through backend.c) and never asks
 * which backend it has. Each returns 0, or -1 with an exception set, unless it says
 * otherwise. The events themselves do not come this way: each backend's callbacks call
 * events.h directly. */
typedef struct lw_backend_ops {
    const char *name;   /* "monitoring" or "legacy": _engine.backend */
    int keeps_armed;    /* an engine disabled with keep_armed may stay armed: monitoring sees
                           only its codes' events; an armed legacy hook would slow every call */
    int (*init)(PyObject *module, lw_state *st);   /* at import, for the chosen backend only */
    int (*start)(lw_state *st);                    /* the first engine arms */
    int (*stop)(lw_state *st);                     /* the last engine disarms */
    int (*arm_code)(lw_state *st, PyObject *code);     /* a code's first active engine */
    int (*disarm_code)(lw_state *st, PyObject *code);  /* a code's last active engine went */
    int (*traverse)(lw_state *st, visitproc visit, void *arg);  /* the backend's references */
    void (*clear)(lw_state *st);                   /* drops them */
} lw_backend_ops;

#if LW_HAVE_MONITORING
extern const lw_backend_ops lw_monitoring_ops;  /* monitoring.c */
#endif
extern const lw_backend_ops lw_legacy_ops;      /* legacy_threads.c */

/* backend.c: choosing the backend, turning it on and off, and per-code activation.
 * Each returns 0, or -1 with an exception set. */
int lw_backend_choose(lw_state *st);
int lw_backend_start(PyObject *module, lw_state *st);
int lw_backend_stop(PyObject *module, lw_state *st);
int lw_backend_code_active(lw_state *st, CodeEntry *entry, int on);

#endif /* LINEWISE_STATE_H */
