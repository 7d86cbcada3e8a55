#!/usr/bin/env bash
# scripts/need-tmux.sh: installs tmux if it is missing and we may (root, apt-get: CI runs
# as root on Debian). The live view's tests drive a real terminal through tmux; without
# it they skip, saying why. Never fails the caller.
command -v tmux >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "need-tmux: installing tmux (the live view's tests drive a terminal with it)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux; } >&2 ||
    echo "need-tmux: could not install tmux; the live view's tests will skip" >&2
else
  echo "need-tmux: tmux is missing (not root or no apt-get); the live view's tests will skip" >&2
fi
exit 0
