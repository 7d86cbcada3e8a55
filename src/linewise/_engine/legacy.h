/* legacy.h: what the three files of the C trace-hook backend share (PyEval_SetTrace), for
 * 3.10 and 3.11, and for 3.12+ when LINEWISE_BACKEND=legacy.
 *
 * A thread has one C trace function, and other tools want it too: coverage.py, debuggers,
 * the user's sys.settrace function. So linewise's hook chains: each thread gets a hook
 * object of its own that remembers the tracer the thread had, and passes every event on
 * to it after counting. While the hook is installed, sys.settrace and sys.gettrace are
 * replaced by versions that set and show the tracer behind the hook, so a debugger
 * started inside a profiled function goes behind linewise rather than replacing it; a
 * tracer that swaps itself while handling an event (coverage does) is picked up after
 * the event.
 *
 * Installation: every thread gets the shared `bootstrap` hook at start and exchanges it
 * for its own on its first event (only the thread itself can find out what follows it
 * cheaply, and 3.13 can set the trace function of all threads but not of another one);
 * new threads get it through threading.settrace. At stop each thread gets back the
 * tracer behind its hook: directly where CPython lets us set another thread's trace
 * function (through 3.12), else by the thread itself at its next event.
 *
 * A frame of unprofiled code in a thread with no other tracer has its line events turned
 * off at its call event, so it pays one call per function entry and nothing per line;
 * they are turned back on wherever a tracer may want them again.
 *
 * The files:
 *   legacy_trace.c    the trace function: counting, and passing events to the tracer behind
 *   legacy_hook.c     the TraceHook type, and the sys.settrace / sys.gettrace shims
 *   legacy_threads.c  saved tracers, walking threads, line events of a thread's frames,
 *                     start and stop
 */
#ifndef LINEWISE_LEGACY_H
#define LINEWISE_LEGACY_H

#include "state.h"

#define LW_CO_SUSPENDABLE (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)

enum {
    HOOK_PLAIN,      /* no other tracer in this thread */
    HOOK_CHAIN,      /* events are passed on to func(obj, ...) */
    HOOK_BOOTSTRAP,  /* not yet exchanged for the thread's own */
};

typedef struct {
    PyObject_HEAD
    lw_state *st;       /* the module's state (the module is kept alive below) */
    PyObject *module;   /* owned */
    int kind;           /* HOOK_* */
    Py_tracefunc func;  /* HOOK_CHAIN: the tracer behind this hook */
    PyObject *obj;      /* owned: its object (may be NULL), for HOOK_CHAIN */
    int stuck;          /* CPython refused to take it out (an audit hook): it only passes
                           events on, without retrying */
} HookObject;

/* A C tracer: function and object (borrowed). func NULL means none. */
typedef struct {
    Py_tracefunc func;
    PyObject *obj;
} Tracer;

/* -- legacy_trace.c ------------------------------------------------------------------- */

/* The C trace function installed in every hooked thread; its object is a HookObject. */
int lw_legacy_trace(PyObject *hook, PyFrameObject *frame, int what, PyObject *arg);

/* -- legacy_hook.c -------------------------------------------------------------------- */

static inline int
lw_legacy_is_hook(lw_state *st, PyObject *obj)
{
    return obj != NULL && Py_TYPE(obj) == st->legacy.hook_type;
}

/* The tracer behind hook `h` in thread `ts` (never linewise's own). */
Tracer lw_legacy_behind(lw_state *st, HookObject *h, PyThreadState *ts);

/* The tracer a thread runs, looking through linewise's hook. */
Tracer lw_legacy_thread_tracer(lw_state *st, PyThreadState *ts);

/* The hook for this thread, whose tracer is `t` (owned), or NULL with an exception. */
PyObject *lw_legacy_hook_for(lw_state *st, PyObject *module, Tracer t);

/* Puts linewise's hook back in this thread, in front of whatever tracer it has now.
 * Never raises. */
void lw_legacy_adopt(lw_state *st, PyObject *module, PyThreadState *tstate, int had_other);

/* Creates the hook type, the shared hooks and the sys shims. Returns 0, or -1 with an
 * exception. */
int lw_legacy_hook_init(PyObject *module, lw_state *st);

/* Puts the sys.settrace / sys.gettrace shims in sys. Returns 0, or -1 with an exception. */
int lw_legacy_shims_on(lw_state *st);

/* Gives sys back its own settrace / gettrace, unless someone replaced ours. Never raises. */
void lw_legacy_shims_off(lw_state *st);

/* -- legacy_threads.c ----------------------------------------------------------------- */

/* What thread `ts` had before start, or NULL. */
SavedTrace *lw_legacy_saved_for(lw_state *st, PyThreadState *ts);

/* Sets this thread's C trace function without disturbing a pending exception. Returns 0,
 * or -1 (no exception set) when CPython refused (an audit hook). */
int lw_legacy_install_here(Py_tracefunc func, PyObject *obj);

/* Line events back on in every frame of thread `ts`. Never raises. */
void lw_legacy_lines_back_on(lw_state *st, PyThreadState *ts);

/* This thread's profiled frames forget what the tracer behind linewise wanted of their
 * line events: the tracer changed. */
void lw_legacy_forget_quiet(lw_state *st);

/* Gives this thread back the tracer behind hook `h` (the backend stopped since the hook
 * was installed) and passes it the event. Returns what that tracer returned. */
int lw_legacy_retire(lw_state *st, HookObject *h, PyThreadState *tstate, PyFrameObject *frame,
                     int what, PyObject *arg);

#endif /* LINEWISE_LEGACY_H */
