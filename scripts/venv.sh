#!/usr/bin/env bash
# scripts/venv.sh PYTHON [extra pip packages...]
# Makes .venvs/<X.Y> for PYTHON with the test tools, builds linewise into it (editable, so the
# compiled _engine sits next to the sources) and prints the venv's python path on the last line.
set -eu
py=$1; shift
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv=.venvs/$ver
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" >&2
fi
# tomli: linewise's one dependency, on 3.10 only (the editable install below uses --no-deps).
# dask[distributed,array] and numpy: the Dask integration's tests (a real LocalCluster).
stamp=$venv/.deps-$(echo "pytest pytest-xdist line_profiler coverage pygments tomli ipython ipykernel nbformat nbclient dask[distributed,array] numpy setuptools wheel $*" | cksum | cut -d' ' -f1)
if [ ! -e "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest pytest-xdist line_profiler coverage \
    pygments ipython ipykernel nbformat nbclient "dask[distributed,array]" numpy \
    "tomli>=1.1; python_version < '3.11'" "$@" >&2
  touch "$stamp"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e . >&2
echo "$venv/bin/python"
