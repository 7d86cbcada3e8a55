/* timer.c: clock choice and TSC calibration. */
#include "timer.h"

#include <stdlib.h>
#include <string.h>

#if LW_CAN_RDTSC
#include <cpuid.h>
#endif

/* Process-wide hardware facts, outside module state on purpose (timer.h): which clock the
 * hot path reads, and the TSC's rate, measured once against CLOCK_MONOTONIC from the
 * readings taken at import (lw_timer_init) to the first lw_timer_ns_per_tick(). */
int lw_timer_use_tsc = 0;

static int64_t calib_tsc0, calib_ns0;
static double ns_per_tick = 0.0;

#if LW_CAN_RDTSC
/* An invariant TSC ticks at a constant rate in every power state and on every core
 * (CPUID leaf 0x80000007, EDX bit 8); without it rdtsc is not a clock. */
static int
tsc_is_invariant(void)
{
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) || eax < 0x80000007) {
        return 0;
    }
    __get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx);
    return (edx >> 8) & 1;
}
#endif

void
lw_timer_init(void)
{
    const char *forced = getenv("LINEWISE_TIMER");
    lw_timer_use_tsc = 0;
#if LW_CAN_RDTSC
    if (!(forced && strcmp(forced, "monotonic") == 0) && tsc_is_invariant()) {
        lw_timer_use_tsc = 1;
    }
#else
    (void)forced;
#endif
    calib_ns0 = lw_monotonic_ns();
    calib_tsc0 = lw_timer_now();
    ns_per_tick = lw_timer_use_tsc ? 0.0 : 1.0;
    /* A child process of a profiled one (linewise._gather) is told its parent's rate: the
     * same TSC, and a short-lived child would otherwise wait out the 20 ms calibration. */
    const char *known = getenv("LINEWISE_TSC_NS_PER_TICK");
    if (lw_timer_use_tsc && known != NULL) {
        char *end = NULL;
        double value = strtod(known, &end);
        if (end != known && *end == '\0' && value > 1e-3 && value < 1e3) {
            ns_per_tick = value;
        }
    }
}

double
lw_timer_ns_per_tick(void)
{
    if (ns_per_tick > 0.0) {
        return ns_per_tick;
    }
    /* 20 ms against a 1 ns clock bounds the calibration error near 1e-7, well below noise. */
    int64_t ns1 = lw_monotonic_ns();
    while (ns1 - calib_ns0 < 20000000) {
        struct timespec rest = {0, 20000000 - (long)(ns1 - calib_ns0)};
        nanosleep(&rest, NULL);
        ns1 = lw_monotonic_ns();
    }
    int64_t tsc1 = lw_timer_now();
    ns_per_tick = (double)(ns1 - calib_ns0) / (double)(tsc1 - calib_tsc0);
    return ns_per_tick;
}

const char *
lw_timer_name(void)
{
    return lw_timer_use_tsc ? "tsc" : "monotonic";
}
