#!/usr/bin/env bash
# Prints the path of every CPython >= 3.10 on this machine, one a line, oldest first.
# LINEWISE_PYTHONS (space-separated paths) overrides the search.
set -u
if [ -n "${LINEWISE_PYTHONS:-}" ]; then
  for p in $LINEWISE_PYTHONS; do echo "$p"; done
  exit 0
fi
found=""
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for minor in 10 11 12 13 14; do
  best=""
  for d in "$root"/versions/3."$minor".*; do
    [ -x "$d/bin/python3" ] && best="$d/bin/python3"
  done
  if [ -z "$best" ] && command -v "python3.$minor" >/dev/null 2>&1; then
    best=$(command -v "python3.$minor")
  fi
  [ -n "$best" ] && found="$found $best"
done
for p in $found; do echo "$p"; done
