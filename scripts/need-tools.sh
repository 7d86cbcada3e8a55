#!/usr/bin/env bash
# scripts/need-tools.sh: installs the programs some tests drive, where they are missing and
# we may (root with apt-get: CI runs as root on Debian): tmux (the live view's tests drive
# a real terminal) and chromium (the HTML reports are rendered headless). Without them
# those tests skip, saying why. Never fails the caller.
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
  missing="$missing chromium"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "need-tools: installing$missing (tests drive them)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >&2 ||
    echo "need-tools: could not install$missing; the tests that need them will skip" >&2
else
  echo "need-tools:$missing missing (not root or no apt-get); the tests that need them will skip" >&2
fi
exit 0
