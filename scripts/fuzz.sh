#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]      fuzz for SECONDS
# scripts/fuzz.sh --merge        fold build/fuzz/corpus into the committed fuzz/corpus
# Fuzzes the results-file reader (lw_parse_results, src/linewise/_engine/results.c) with
# libFuzzer for SECONDS (default $FUZZ_SECONDS, else 300):
#   1. installs clang from Debian's packages if it is missing (needs root);
#   2. builds fuzz/fuzz_results.c with results.c and an embedded CPython
#      (clang -fsanitize=fuzzer,address,undefined) into build/fuzz/;
#   3. replays fuzz/regressions/* (every input that ever crashed), the committed corpus and
#      the seeds: a failure there stops before fuzzing;
#   4. fuzzes from the seeds and the corpus (fuzz/seeds, fuzz/corpus: read-only) into
#      build/fuzz/corpus, with the dictionary fuzz/lw.dict; a crash leaves its input in
#      build/fuzz/artifacts/ (copy it to fuzz/regressions/ once fixed).
# Environment: FUZZ_PYTHON (interpreter to embed; default the newest scripts/pythons.sh
# finds), FUZZ_JOBS (parallel fuzzing processes, libFuzzer's -fork; default 1),
# FUZZ_ARGS (more libFuzzer flags, e.g. -runs=10000000).
set -eu
cd "$(dirname "$0")/.."
merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
fi
seconds=${1:-${FUZZ_SECONDS:-300}}
jobs=${FUZZ_JOBS:-1}

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: installing clang (Debian package)" >&2
  apt-get update -qq && apt-get install -y -qq clang >&2
fi

py=${FUZZ_PYTHON:-$(scripts/pythons.sh | tail -n 1)}
config="$py-config"
[ -x "$config" ] || config=$(dirname "$py")/python$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-config
[ -x "$config" ] || { echo "fuzz: no python-config next to $py" >&2; exit 1; }
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

out=build/fuzz
bin=$out/fuzz_results-$ver
mkdir -p "$out/corpus" "$out/artifacts" fuzz/corpus
# --includes, not --cflags: those carry -fwrapv / -fno-strict-overflow, which would hide
# signed overflow from UBSan.
# shellcheck disable=SC2046
clang -g -O1 -std=gnu11 -Wall -Wextra \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -Isrc/linewise/_engine $("$config" --includes) \
  fuzz/fuzz_results.c src/linewise/_engine/results.c \
  $("$config" --ldflags --embed) -o "$bin"
echo "fuzz: built $bin (Python $ver)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:leak_check_at_exit=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

if [ $merge -eq 1 ]; then
  rm -rf "$out/merged"
  mkdir -p "$out/merged"
  "$bin" -merge=1 "$out/merged" fuzz/corpus "$out/corpus" >"$out/merge.log" 2>&1 || {
    cat "$out/merge.log" >&2
    exit 1
  }
  rm -f fuzz/corpus/*
  cp "$out"/merged/* fuzz/corpus/
  echo "fuzz: fuzz/corpus now holds $(ls fuzz/corpus | wc -l) inputs"
  exit 0
fi

# Every saved crasher, every corpus input and every seed must pass before new inputs are
# looked for.
replay=$(find fuzz/regressions fuzz/corpus fuzz/seeds -type f ! -name '*.md' | sort)
if [ -n "$replay" ]; then
  # shellcheck disable=SC2086
  "$bin" -runs=1 $replay >"$out/replay.log" 2>&1 || {
    cat "$out/replay.log" >&2
    echo "fuzz: a regression input or seed fails" >&2
    exit 1
  }
  echo "fuzz: $(echo "$replay" | wc -l) regression, corpus and seed inputs replayed cleanly"
fi

fork=""
[ "$jobs" -gt 1 ] && fork="-fork=$jobs"
echo "fuzz: fuzzing for $seconds s ($jobs job(s)); crashers go to $out/artifacts/"
# shellcheck disable=SC2086
"$bin" $fork -max_total_time="$seconds" -dict=fuzz/lw.dict -max_len=4096 \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} \
  "$out/corpus" fuzz/corpus fuzz/seeds
