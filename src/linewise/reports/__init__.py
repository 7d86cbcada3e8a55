"""The reports: every way of showing results, each reading the results model only
(linewise.results: LineStats, FunctionStats; linewise.reports.diff: the comparison).

* text: the plain table, line_profiler's layout byte for byte, and the Painter protocol
  every decorated text goes through;
* color: the terminal's painter (ANSI colours) and the syntax highlighting all reports
  share (source_tokens);
* html: one self-contained page (templates/ holds its markup, CSS and script);
* json: the JSON document (docs/json-schema.json);
* diff: two results compared line by line (the model); diff_text: its text report;
* memory: the Alloc, Net and Peak columns every report adds when the results carry
  memory figures (memory=True), and nothing when they do not.
"""
