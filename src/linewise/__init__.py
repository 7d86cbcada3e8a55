"""linewise: a line-by-line profiler with a C engine."""
