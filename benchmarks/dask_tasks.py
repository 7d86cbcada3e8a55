"""What linewise.dask.profile costs per task: N tiny tasks through client.map on a
LocalCluster (2 worker processes, 1 thread each, loopback), without the profile, with it
(default flush_interval, 1 s) and with a flush after every task (flush_interval=0).

    .venvs/3.13/bin/python benchmarks/dask_tasks.py [TASKS] [ROUNDS]

Prints, per task, the median wall time and CPU time (this process, which runs the client
and the scheduler, plus the workers: less at the mercy of a busy machine than wall time)
of a round (all TASKS tasks submitted and gathered) for each, the cost per task against
the plain round, and what entering and leaving the profile costs (plugin registered on
every worker; final counts gathered; plugin removed). The rounds alternate between the
three, so load on the machine falls on all of them alike.
The tasks live in this file, imported by name (dask_tasks) so the workers can import them.
"""
import statistics
import sys
import time


# No dashboard; the scheduler's HTTP server on a free loopback port.
QUIET = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


def inc(x):
    y = x + 1
    return y


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    import dask_tasks  # this file as an importable module: what the workers import
    from distributed import Client, LocalCluster

    import linewise.dask

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=QUIET,
                      silence_logs=50) as cluster, \
            Client(cluster) as client:
        def cpu():
            """CPU seconds so far of this process (client and scheduler) and the workers."""
            return time.process_time() + sum(client.run(time.process_time).values())

        def one_round():
            """(wall, CPU) seconds of one round."""
            cpu0 = cpu()
            start = time.perf_counter()
            client.gather(client.map(dask_tasks.inc, range(tasks), pure=False))
            wall = time.perf_counter() - start
            return wall, cpu() - cpu0

        one_round()  # warm up: imports, connections
        times = {"plain": [], "profiled": [], "profiled, flush every task": []}
        enter_exit = []
        for _ in range(rounds):
            times["plain"].append(one_round())
            for label, interval in (("profiled", 1.0), ("profiled, flush every task", 0)):
                start = time.perf_counter()
                with linewise.dask.profile(client, "dask_tasks.inc",
                                           flush_interval=interval) as prof:
                    entered = time.perf_counter()
                    times[label].append(one_round())
                    before_exit = time.perf_counter()
                enter_exit.append((entered - start) + (time.perf_counter() - before_exit))
                hits = sum(h for rows in prof.stats.timings.values() for _, h, _ in rows)
                assert hits == 2 * tasks, hits  # both lines of inc, once per task
        print(f"{tasks} tasks per round, {rounds} rounds, 2 workers x 1 thread "
              f"(Python {sys.version.split()[0]}); CPU: this process (client, scheduler) "
              "and the workers")
        plain = [statistics.median(v[i] for v in times["plain"]) for i in (0, 1)]
        for label, values in times.items():
            wall, used = (statistics.median(v[i] for v in values) for i in (0, 1))
            line = (f"  {label:27s} wall {wall / tasks * 1e6:7.1f} us/task, "
                    f"CPU {used / tasks * 1e6:7.1f} us/task")
            if label != "plain":
                line += (f"   (+{(wall - plain[0]) / tasks * 1e6:.1f} wall, "
                         f"+{(used - plain[1]) / tasks * 1e6:.1f} CPU us per task)")
            print(line)
        print(f"  entering + leaving the profile: median "
              f"{statistics.median(enter_exit) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
