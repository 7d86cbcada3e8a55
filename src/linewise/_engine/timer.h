/* timer.h: the clock read once per event.
 *
 * On x86-64 with an invariant TSC it is rdtsc (about 4 ns here); elsewhere
 * clock_gettime(CLOCK_MONOTONIC) (about 20 ns under kvm-clock). The choice is made once,
 * at import, and is a process-wide hardware fact, hence a plain global rather than
 * module state: the hot path reads it with no indirection.
 */
#ifndef LINEWISE_TIMER_H
#define LINEWISE_TIMER_H

/* clock_gettime and nanosleep are POSIX, hidden by -std=c11 unless asked for. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define LW_CAN_RDTSC 1
#else
#define LW_CAN_RDTSC 0
#endif

/* Nonzero when lw_timer_now() reads the TSC; set once by lw_timer_init(). */
extern int lw_timer_use_tsc;

static inline int64_t
lw_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Ticks of the chosen clock; only differences mean anything. */
static inline int64_t
lw_timer_now(void)
{
#if LW_CAN_RDTSC
    if (lw_timer_use_tsc) {
        return (int64_t)__rdtsc();
    }
#endif
    return lw_monotonic_ns();
}

/* Chooses the clock (LINEWISE_TIMER=monotonic forces clock_gettime) and starts calibration. */
void lw_timer_init(void);

/* Nanoseconds per tick. The TSC is calibrated against CLOCK_MONOTONIC over the time since
 * lw_timer_init(), waiting until at least 20 ms have passed; the result is cached. */
double lw_timer_ns_per_tick(void);

/* "tsc" or "monotonic". */
const char *lw_timer_name(void);

#endif /* LINEWISE_TIMER_H */
