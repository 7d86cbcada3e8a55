/* backend.c: which backend the engine uses, and calling it: switching it on and off,
 * shared by every engine, and per-code activation. */
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* Picks the backend once, at import: sys.monitoring where it exists, unless
 * LINEWISE_BACKEND says "legacy". Returns 0, or -1 with an exception (a warning turned
 * into an error). */
int
lw_backend_choose(lw_state *st)
{
    const char *want = getenv("LINEWISE_BACKEND");
#if LW_HAVE_MONITORING
    st->ops = &lw_monitoring_ops;
#else
    st->ops = &lw_legacy_ops;
#endif
    if (want == NULL || *want == '\0') {
        return 0;
    }
    if (strcmp(want, "legacy") == 0) {
        st->ops = &lw_legacy_ops;
        return 0;
    }
    if (strcmp(want, "monitoring") == 0) {
        if (!LW_HAVE_MONITORING) {
            return PyErr_WarnEx(PyExc_RuntimeWarning,
                                "LINEWISE_BACKEND=monitoring needs Python 3.12+; using legacy", 1);
        }
        return 0;
    }
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "LINEWISE_BACKEND=%s is not 'legacy' or 'monitoring'; ignored", want);
}

int
lw_backend_start(PyObject *module, lw_state *st)
{
    (void)module;
    /* Stacks from an earlier run describe frames we stopped watching; forgetting the
     * cached one sends each thread's next event through the epoch check (events.h). */
    st->epoch++;
    st->last_tstate = NULL;
    st->last_stack = NULL;
    return st->ops->start(st);
}

int
lw_backend_stop(PyObject *module, lw_state *st)
{
    (void)module;
    lw_suspend_clear(&st->suspended);
    return st->ops->stop(st);
}

/* Counts one more (on) or one fewer active engine for the code; the backend hears of the
 * first and the last only. */
int
lw_backend_code_active(lw_state *st, CodeEntry *entry, int on)
{
    if (on) {
        if (entry->active++ > 0) {
            return 0;
        }
        return st->ops->arm_code(st, entry->code);
    }
    if (entry->active == 0 || --entry->active > 0) {
        return 0;
    }
    return st->ops->disarm_code(st, entry->code);
}
