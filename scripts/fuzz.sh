#!/bin/sh
# fuzz.sh SECONDS BIN... — a bounded libFuzzer run of each target (called by `make fuzz`).
#
# Target <name> = basename of BIN. It starts from the seed corpus tests/fuzz/corpus/<name>/,
# copied to a temporary directory so that the inputs it finds never land in the repo, and
# uses tests/fuzz/<name>.dict when there is one. A crash, leak, timeout or out-of-memory
# fails the run; the input that caused it is kept in $FUZZ_ARTIFACTS/<name>/ with the
# command that replays it. With no BIN at all it says so and succeeds.
#
# Environment:
#   FUZZ_ARTIFACTS   where failing inputs and logs go (default build-fuzz/artifacts)
#   FUZZ_FLAGS       extra libFuzzer flags, e.g. "-max_len=65536 -rss_limit_mb=4096"
#   FUZZ_JOBS        targets run at once (default: the number of CPUs)
set -eu

usage() { echo "usage: $0 SECONDS [FUZZ_BINARY...]" >&2; exit 2; }

[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in
    ''|*[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage

if [ $# -eq 0 ]; then
    echo "no fuzz targets yet"
    exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
artifacts=${FUZZ_ARTIFACTS:-build-fuzz/artifacts}
flags=${FUZZ_FLAGS:-}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in
    ''|*[!0-9]*|0) jobs=1 ;;
esac
# A single input that runs this long is a hang (ASan+UBSan build, so be generous).
per_input_timeout=10
# UBSan findings in code built with recovery on must still stop the run as a crash.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rcsgw-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# One target's run: its lines on stdout (the report of a failure included), exit 0 when
# it passed. Runs in a subshell of its own, several at once.
fuzz_one() {
    bin=$1
    name=$(basename "$bin")
    if [ ! -x "$bin" ]; then
        echo "fuzz: $name: $bin is not an executable"
        return 1
    fi

    corpus=$tmp/$name
    mkdir -p "$corpus"
    seeds=$root/tests/fuzz/corpus/$name
    if [ -d "$seeds" ]; then
        # Seeds are flat files; "/." copies the content, hidden files included.
        cp -R "$seeds/." "$corpus/"
    else
        echo "fuzz: $name: no seed corpus at tests/fuzz/corpus/$name/ (starting empty)"
    fi
    nseeds=$(find "$corpus" -type f | wc -l | tr -d ' ')

    dict=
    [ ! -f "$root/tests/fuzz/$name.dict" ] || dict=-dict=$root/tests/fuzz/$name.dict

    out=$artifacts/$name
    rm -rf "$out"
    mkdir -p "$out"
    log=$out/fuzz.log

    # -print_final_stats for the summary line; the corpus last, as libFuzzer wants.
    # shellcheck disable=SC2086  # $flags and $dict are lists of words (or empty)
    if "$bin" -max_total_time="$secs" -timeout="$per_input_timeout" \
            -artifact_prefix="$out/" -print_final_stats=1 $dict $flags \
            "$corpus" >"$log" 2>&1 </dev/null; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(sed -n 's/^#[0-9]*.*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
        grown=$(find "$corpus" -type f | wc -l | tr -d ' ')
        echo "fuzz: $name: ok, ${runs:-?} runs in ${secs}s, cov ${cov:-?}," \
             "corpus $nseeds -> $grown"
        rm -rf "$corpus"
        return 0
    else
        rc=$?
    fi
    echo "fuzz: $name: FAILED (exit $rc); from $log:"
    # From the sanitizer's or libFuzzer's first report line on, else the tail.
    if grep -qE 'ERROR: |runtime error: ' "$log"; then
        awk '/ERROR: |runtime error: / { p = 1 } p' "$log" | head -n 80
    else
        tail -n 40 "$log"
    fi
    for a in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* \
             "$out"/slow-unit-*; do
        [ -f "$a" ] || continue
        echo "fuzz: $name: failing input $a; replay: $bin $a"
    done
    rm -rf "$corpus"
    return 1
}

# FUZZ_JOBS targets at once (default: one per CPU), in batches; each batch's lines are
# printed in the targets' order once it is over.
passed=0
failed=0
while [ $# -gt 0 ]; do
    batch=
    i=0
    while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
        name=$(basename "$1")
        ( if fuzz_one "$1" >"$tmp/$name.out" 2>&1; then echo 0; else echo 1; fi \
              >"$tmp/$name.rc" ) &
        batch="$batch $name"
        i=$((i + 1))
        shift
    done
    wait
    for name in $batch; do
        if [ "$(cat "$tmp/$name.rc" 2>/dev/null)" = 0 ]; then
            cat "$tmp/$name.out"
            passed=$((passed + 1))
        else
            cat "$tmp/$name.out" >&2
            failed=$((failed + 1))
        fi
    done
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
