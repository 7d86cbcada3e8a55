"""The walkthrough's sequel: change LinearRegression.fit, profile again, diff the two runs.

1. Profiles scikit-learn's ``LinearRegression.fit`` as it is (it solves the least-squares
   problem with ``scipy.linalg.lstsq``) and saves the results to ``before.lw``.
2. Makes the edit a user would make to try ``numpy.linalg.lstsq`` instead: the same
   ``fit``, compiled from its own source with that one call changed (as if the file had
   been edited; nothing on disk is touched), profiles it the same way and saves
   ``after.lw``. The edited source is stored in the results, so reports show it.
3. Prints ``linewise diff before.lw after.lw``: the two ``fit``s aligned line by line,
   the lstsq line removed (with its time before) and added (with its time after).

    python examples/diff_walkthrough.py [OUTPUT_DIR]      # default: the current directory
    linewise diff before.lw after.lw                      # the same diff, again
    linewise diff --html diff.html before.lw after.lw     # as a web page

Needs scikit-learn (``make demo`` makes a venv with it).
"""
import inspect
import os
import re
import sys

# One BLAS thread: multi-threaded BLAS on a busy machine makes lstsq's time swing tenfold
# from call to call, which would drown the comparison in noise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from linewise import LineProfiler  # noqa: E402
from linewise.diff import diff_stats, write_text  # noqa: E402

ROUNDS = 10  # fits per run, after one unprofiled warm-up fit


def profile_fit(est, X, y):
    """LineStats of `ROUNDS` calls of est.fit (the wrapper and the fit it wraps)."""
    est.fit(X, y)  # warm-up: first-call costs (imports, caches) out of the comparison
    lp = LineProfiler(est.fit)
    for _ in range(ROUNDS):
        lp.runcall(est.fit, X, y)
    return lp.get_stats()


def fit_calling_numpy_lstsq():
    """LinearRegression.fit recompiled from its source with scipy's lstsq call replaced
    by numpy.linalg.lstsq; returns (the new fit, its source lines, its key's first line).

    It keeps the file name, line numbers and qualified name of the original, as an
    edited file would, so the diff pairs the two versions."""
    original = inspect.unwrap(LinearRegression.fit)
    lines, first = inspect.getsourcelines(original)
    text = "".join(lines)
    call = re.compile(r"(?<![\w.])linalg\.lstsq\((?P<args>[^()]*)\)", re.S)
    match = call.search(text)
    if match is None:
        sys.exit("this scikit-learn's LinearRegression.fit has no linalg.lstsq call to edit")
    args = re.sub(r"\bcond=", "rcond=", match.group("args"))
    edited = text[:match.start()] + f"np.linalg.lstsq({args})" + text[match.end():]
    # Compiled inside a class named like the original, at the original line numbers.
    code = "\n" * (first - 2) + "class LinearRegression:\n" + edited
    namespace = dict(vars(sys.modules[original.__module__]))
    namespace["np"] = np
    exec(compile(code, original.__code__.co_filename, "exec"), namespace)
    new_fit = namespace["LinearRegression"].__dict__["fit"]
    return new_fit, edited.splitlines(keepends=True), first


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    before_path = os.path.join(out, "before.lw")
    after_path = os.path.join(out, "after.lw")
    X, y = make_regression(n_samples=4000, n_features=100, random_state=13)

    print(f"Profiling LinearRegression.fit ({ROUNDS} fits, scipy.linalg.lstsq) ...")
    before = profile_fit(LinearRegression(), X, y)
    before.meta["command"] = "LinearRegression.fit (scipy.linalg.lstsq)"
    before.dump(before_path)

    new_fit, source, first = fit_calling_numpy_lstsq()
    original_fit = LinearRegression.fit
    LinearRegression.fit = new_fit
    try:
        print(f"Profiling the edited fit ({ROUNDS} fits, numpy.linalg.lstsq) ...")
        after = profile_fit(LinearRegression(), X, y)
    finally:
        LinearRegression.fit = original_fit
    after.meta["command"] = "LinearRegression.fit (numpy.linalg.lstsq)"
    for key in after.timings:  # the edited function's text, not the file's
        if key[1] == first and key[2].endswith("LinearRegression.fit"):
            after.sources[key] = source
    after.dump(after_path)
    print(f"Saved {before_path} and {after_path}\n")

    write_text(diff_stats(before, after, before_path, after_path), sys.stdout, top=8)


if __name__ == "__main__":
    main()
