#!/bin/sh
# test-summary.sh LOG... — adds up what every runner of `make test` reported and prints one
# closing line "N passed, N failed". Criterion logs give "Tested: T | Passing: P |
# Failing: F | Crashing: C"; our scripts give "name: P passed, F failed".
set -eu
passed=0
failed=0
for log in "$@"; do
    [ -f "$log" ] || continue
    line=$(grep -E 'Synthesis: Tested: [0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/.*Passing: ([0-9]+).*/\1/')
        f=$(echo "$line" | sed -E 's/.*Failing: ([0-9]+).*/\1/')
        c=$(echo "$line" | sed -E 's/.*Crashing: ([0-9]+).*/\1/')
        passed=$((passed + p))
        failed=$((failed + f + c))
        continue
    fi
    line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^[a-z-]+: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')
        passed=$((passed + p))
        failed=$((failed + f))
    fi
done
# A sanitizer report in a test process does not always fail its test (criterion counts the
# test before the process exits, when LeakSanitizer speaks): every report counts here.
san=0
for log in "$@"; do
    [ -f "$log" ] || continue
    n=$(grep -cE 'ERROR: (Leak|Address|Thread)Sanitizer|runtime error:' "$log" || true)
    if [ "$n" -gt 0 ]; then
        echo "sanitizer reports in $log: $n" >&2
        san=$((san + n))
    fi
done
failed=$((failed + san))
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
