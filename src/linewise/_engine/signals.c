/* signals.c: a fatal signal whose Python handler has not run yet is sent again.
 *
 * CPython's C-level handler only notes a signal; its Python handler runs when the main
 * thread next checks between bytecodes. A signal that lands after that check but before
 * the main thread enters a blocking call (a pool worker about to read its next task, a
 * program about to sleep), or on another thread, interrupts nothing, so the Python
 * handler (linewise's save-then-die) waits as long as the call does: Pool.terminate()
 * then waits for a worker that never ends. resend_until_handled(signum) puts a C handler
 * in front of CPython's for that signal: it calls CPython's, then arms a one-shot timer
 * that sends the signal again to the main thread RESEND_NS later, and so on until the
 * Python handler says it runs (signal_handled()). The repeat interrupts the blocking call
 * (EINTR), and CPython then runs the pending handler.
 *
 * Process-wide statics, not module state: a signal handler has no module to ask, and a
 * signal disposition is the process's. Linux only (timer_create with SIGEV_THREAD_ID);
 * elsewhere the functions do nothing.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>

#if defined(__linux__)
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RESEND_NS (50 * 1000 * 1000)

typedef struct {
    void (*python)(int);  /* CPython's handler, which ours calls first */
    timer_t timer;        /* sends the signal to the thread that installed ours */
    pid_t pid;            /* the process the timer belongs to: a fork has none */
} Resend;

static Resend resends[NSIG];
static volatile sig_atomic_t handled;  /* the Python handler runs: no more repeats */

static void
resend_handler(int signum)
{
    int saved_errno = errno;
    Resend *r = &resends[signum];
    if (r->python != NULL) {
        r->python(signum);
    }
    if (!handled) {
        struct itimerspec once = {.it_value = {.tv_sec = 0, .tv_nsec = RESEND_NS}};
        timer_settime(r->timer, 0, &once, NULL);  /* async-signal-safe */
    }
    errno = saved_errno;
}

PyObject *
lw_resend_until_handled(PyObject *module, PyObject *arg)
{
    (void)module;
    long signum = PyLong_AsLong(arg);
    if (signum == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (signum <= 0 || signum >= NSIG) {
        PyErr_Format(PyExc_ValueError, "signal number out of range: %ld", signum);
        return NULL;
    }
    struct sigaction current;
    if (sigaction((int)signum, NULL, &current) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Resend *r = &resends[signum];
    if (current.sa_handler == resend_handler || (current.sa_flags & SA_SIGINFO) ||
        current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN) {
        Py_RETURN_NONE;  /* ours already, or not a handler we can call in front of */
    }
    pid_t pid = getpid();
    if (r->pid != pid) {
        struct sigevent ev = {0};
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev.sigev_signo = (int)signum;
        ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &ev, &r->timer) < 0) {
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        r->pid = pid;
    }
    handled = 0;
    r->python = current.sa_handler;
    struct sigaction ours = current;
    ours.sa_handler = resend_handler;
    if (sigaction((int)signum, &ours, NULL) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

PyObject *
lw_signal_handled(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    handled = 1;
    pid_t pid = getpid();
    struct itimerspec off = {{0, 0}, {0, 0}};
    for (int i = 1; i < NSIG; i++) {
        if (resends[i].pid == pid) {
            timer_settime(resends[i].timer, 0, &off, NULL);
        }
    }
    Py_RETURN_NONE;
}

#else  /* no timers to aim at a thread: the Python handler waits as it would anyway */

PyObject *
lw_resend_until_handled(PyObject *module, PyObject *arg)
{
    (void)module;
    (void)arg;
    Py_RETURN_NONE;
}

PyObject *
lw_signal_handled(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    Py_RETURN_NONE;
}

#endif
