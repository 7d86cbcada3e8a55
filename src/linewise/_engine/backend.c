/* backend.c: switching the chosen backend on and off, shared by every engine. */
#include "state.h"

int
lw_backend_start(PyObject *module, lw_state *st)
{
    (void)module;
    /* Stacks from an earlier run describe frames we stopped watching. */
    st->epoch++;
#if LW_HAVE_MONITORING
    if (st->backend == LW_BACKEND_MONITORING) {
        return lw_monitoring_start(st);
    }
#endif
    return lw_legacy_start(st);
}

int
lw_backend_stop(PyObject *module, lw_state *st)
{
    (void)module;
    lw_suspend_clear(&st->suspended);
#if LW_HAVE_MONITORING
    if (st->backend == LW_BACKEND_MONITORING) {
        return lw_monitoring_stop(st);
    }
#endif
    return lw_legacy_stop(st);
}

int
lw_backend_code_active(lw_state *st, CodeEntry *entry, int on)
{
    if (on) {
        if (entry->active++ > 0) {
            return 0;
        }
    }
    else {
        if (entry->active == 0 || --entry->active > 0) {
            return 0;
        }
    }
#if LW_HAVE_MONITORING
    if (st->backend == LW_BACKEND_MONITORING) {
        return lw_monitoring_set_code(st, entry->code, on);
    }
#else
    (void)st;
#endif
    return 0;
}
