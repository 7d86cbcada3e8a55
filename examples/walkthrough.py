"""The line_profiler walkthrough, run with linewise: only the import differs.

Profiles scikit-learn's ``LinearRegression.fit`` on a toy regression problem and prints
the per-line table. Run it with ``make demo`` (which makes a venv with scikit-learn) or
``python examples/walkthrough.py`` in an environment that has linewise and scikit-learn.

With scikit-learn >= 1.3 ``fit`` is wrapped by the ``_fit_context`` decorator
(functools.wraps); linewise profiles the wrapper and the function it wraps, so the real
body of ``fit`` shows up, with the ``lstsq`` line taking most of the time.
"""
from sklearn.datasets import make_regression

X, y = make_regression(random_state=13)

from sklearn.linear_model import LinearRegression

est = LinearRegression()

from linewise import LineProfiler

lp = LineProfiler(est.fit)
print("Run on a single row")
lp.run("est.fit(X, y)")
lp.print_stats()
