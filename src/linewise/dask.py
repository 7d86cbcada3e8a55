"""linewise.dask: line profiles of the work a Dask cluster runs, summed over its workers.

    import linewise.dask

    with linewise.dask.profile(client, "mypkg.features", mypkg.model.fit) as prof:
        client.gather(client.map(mypkg.features.build, parts))
    prof.print_stats()          # the lines, summed; then one line per worker
    prof.dump_stats("dask.lw")  # one run record per worker process

Needs dask.distributed (``pip install "dask[distributed]"``). The code is in
linewise.integrations.dask, which says how it works.
"""
from __future__ import annotations

try:
    import distributed  # noqa: F401
except ImportError:  # pragma: no cover - depends on what is installed
    raise ImportError('linewise.dask needs dask.distributed: pip install "dask[distributed]"'
                      ) from None

from .integrations.dask import DaskProfile, profile, target_name

__all__ = ["profile", "DaskProfile", "target_name"]
