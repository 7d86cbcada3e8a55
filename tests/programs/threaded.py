"""Work run in several threads."""
import threading


def work(n):
    total = 0  # L:wk_init
    for i in range(n):  # L:wk_for
        total += i  # L:wk_body
    return total  # L:wk_ret


def run_threads(n_threads, n, barrier=None):
    threads = [threading.Thread(target=work, args=(n,)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def waiting_worker(start_event, n, done):
    start_event.wait()
    done.append(work(n))


def stepper(steps, progress):
    total = 0  # L:st_init
    for ev in steps:  # L:st_for
        ev.wait()  # L:st_wait
        total += 1  # L:st_body
        progress.append(total)  # L:st_progress
    return total  # L:st_ret
