#!/bin/sh
# bench/run.sh — `make bench-engine` (and a part of `make bench`, bench/suite.sh): engfwd (the bare forwarder, the system under test) on each
# engine backend, against the same harness (rcsbench echo behind it, rcsbench tcp in front),
# then a markdown table. Builds nothing: run `make` first (or set BUILD to the binaries' dir).
#
#   taskset -c 0  engfwd --workers 1 --backend B        (the SUT: one core to itself)
#   taskset -c 1  rcsbench echo --workers 1             (harness)
#   taskset -c 1  rcsbench tcp --workers 1 --sut-pid <engfwd>
#
# Per backend: (a) closed loop at the peak, BENCH_CONNS connections x BENCH_PIPELINE
# messages in flight; (b) open loop at BENCH_RATE messages/s (latency from the scheduled send
# time). Then the same two loads on the echo server directly: the floor of the harness.
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10]  measured seconds per run      BENCH_WARMUP [1]  seconds not measured
#   BENCH_CONNS [64]  BENCH_PIPELINE [16]  BENCH_SIZE [200]      closed loop
#   BENCH_RATE [5000]  BENCH_LIGHT_CONNS [16]                    open loop
#   BENCH_BACKENDS ["io_uring epoll"]   engfwd backends to compare
#   BENCH_HARNESS_BACKEND [auto]        backend of rcsbench (echo and tcp), the same for all
#   BENCH_JSON [unset]                  file to append every run's JSON line to
#   BUILD [build]                       where engfwd and rcsbench are
# With the defaults the whole script takes about 80 s (well under 3 min).
set -u

BUILD=${BUILD:-build}
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-64}
PIPE=${BENCH_PIPELINE:-16}
SIZE=${BENCH_SIZE:-200}
RATE=${BENCH_RATE:-5000}
LCONNS=${BENCH_LIGHT_CONNS:-16}
BACKENDS=${BENCH_BACKENDS:-io_uring epoll}
HB=${BENCH_HARNESS_BACKEND:-auto}
JSON_OUT=${BENCH_JSON:-}

FWD=$BUILD/engfwd
GEN=$BUILD/rcsbench
for b in "$FWD" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b not built (run make first, or set BUILD)" >&2
		exit 1
	fi
done

. "$(dirname "$0")/common.sh"
bench_init rcsgw-bench

# Pinning: the SUT on CPU 0, the harness on CPU 1, when there are two CPUs to use.
if [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SUT="taskset -c 0"
	PIN_HARNESS="taskset -c 1"
else
	echo "bench: fewer than 2 CPUs (or no taskset): running unpinned, numbers are not comparable" >&2
	PIN_SUT=""
	PIN_HARNESS=""
fi

# start NAME CMD... : starts CMD in the background (stdout to $TMP/NAME.out), waits at most
# 10 s for its "ready port=" line, sets READY_PORT and STARTED_PID. Returns 1 on failure.
start() {
	name=$1
	shift
	# emptied here, not by the child's redirection: the child may open it after the first
	# grep below, which would then read the previous run's ready line
	: >"$TMP/$name.out"
	"$@" >>"$TMP/$name.out" 2>"$TMP/$name.err" &
	STARTED_PID=$!
	PIDS="$PIDS $STARTED_PID"
	i=0
	while [ $i -lt 100 ]; do
		if grep -q '^ready port=' "$TMP/$name.out" 2>/dev/null; then
			READY_PORT=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$TMP/$name.out")
			return 0
		fi
		if ! kill -0 "$STARTED_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench: $name did not start:" >&2
	sed 's/^/  /' "$TMP/$name.err" >&2
	stop "$STARTED_PID"
	return 1
}

# harness JSON: the harness core's load, generator + echo server, "97 %"
harness() {
	g=$(field "$1" gen_cpu_cores)
	p=$(field "$1" peer_cpu_cores)
	case "$g$p" in
	*null* | '') printf -- '—' ;;
	*) awk "BEGIN { printf \"%.0f %%\", ($g + $p) * 100 }" ;;
	esac
}

ROWS=""
# measure LABEL MODE TARGET_PORT SUT_PID: runs rcsbench tcp (MODE peak|light), adds a row.
measure() {
	label=$1 mode=$2 port=$3 sut=$4
	if [ "$mode" = peak ]; then
		args="--conns $CONNS --pipeline $PIPE --size $SIZE"
		mdesc="closed ${CONNS}x${PIPE}"
	else
		args="--conns $LCONNS --pipeline 1 --size $SIZE --rate $RATE"
		mdesc="open ${RATE}/s"
	fi
	sutarg="--peer-pid $ECHO_PID"
	[ -n "$sut" ] && sutarg="$sutarg --sut-pid $sut"
	limit=$(awk "BEGIN { printf \"%d\", $DUR + $WARM + 30 }")
	# shellcheck disable=SC2086
	out=$(timeout "$limit" $PIN_HARNESS "$GEN" tcp --target "127.0.0.1:$port" $args \
		--duration "$DUR" --warmup "$WARM" --workers 1 --backend "$HB" $sutarg --json \
		2>"$TMP/gen.err")
	rc=$?
	if [ -z "$out" ]; then
		echo "bench: $label $mode: rcsbench failed (exit $rc):" >&2
		sed 's/^/  /' "$TMP/gen.err" >&2
		ROWS="$ROWS| $label | $mdesc | failed | | | | | | | | | |
"
		return
	fi
	[ -n "$JSON_OUT" ] && printf '{"label":"%s","phase":"%s",%s\n' "$label" "$mode" "${out#\{}" >>"$JSON_OUT"
	echo "bench: $label $mode: $(field "$out" msgs_per_s) msgs/s, p99 $(field "$out" lat_p99_us) us, errors $(field "$out" errors)" >&2
	ROWS="$ROWS| $label | $mdesc | $(fmt "$(field "$out" msgs_per_s)" 0) | $(fmt "$(field "$out" lat_p50_us)" 1) | $(fmt "$(field "$out" lat_p99_us)" 1) | $(fmt "$(field "$out" lat_p999_us)" 1) | $(fmt "$(field "$out" sut_cpu_us_per_msg_rtt)" 2) | $(pct "$(field "$out" sut_cpu_cores)") | $(fmt "$(field "$out" gen_cpu_us_per_msg)" 2) | $(harness "$out") | $(fmt "$(field "$out" others_cores)" 2) | $(field "$out" errors) |
"
}

echo "bench: ${DUR} s per run after ${WARM} s warm-up; ${SIZE}-byte messages; harness backend $HB" >&2

# shellcheck disable=SC2086 # PIN_* are words on purpose (empty or "taskset -c N")
start echo $PIN_HARNESS "$GEN" echo --listen 127.0.0.1:0 --workers 1 --backend "$HB" || exit 1
ECHO_PID=$STARTED_PID
ECHO_PORT=$READY_PORT

for be in $BACKENDS; do
	# shellcheck disable=SC2086
	if ! start fwd $PIN_SUT "$FWD" --listen 127.0.0.1:0 --to "127.0.0.1:$ECHO_PORT" \
		--workers 1 --backend "$be"; then
		ROWS="$ROWS| engfwd $be | (could not start) | | | | | | | | | | |
"
		continue
	fi
	FWD_PID=$STARTED_PID
	real=$(sed -n 's/.*backend=\([a-z_]*\).*/\1/p' "$TMP/fwd.out")
	measure "engfwd $real" peak "$READY_PORT" "$FWD_PID"
	measure "engfwd $real" light "$READY_PORT" "$FWD_PID"
	stop "$FWD_PID"
	sed 's/^/bench: /' "$TMP/fwd.err" >&2
done

measure "echo-direct" peak "$ECHO_PORT" ""
measure "echo-direct" light "$ECHO_PORT" ""
stop "$ECHO_PID"

echo
echo "| backend | mode | msgs/s | p50 µs | p99 µs | p99.9 µs | SUT CPU µs/msg RTT | SUT core busy | gen CPU µs/msg | harness core busy | other procs (cores) | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$ROWS"
echo
echo "SUT = engfwd pinned to CPU 0 (--workers 1); its CPU is per message round trip (each"
echo "message crosses it twice: request and echo). Harness (echo + generator) on CPU 1;"
echo "a core near 100 % busy is the limit of the closed-loop rows."
echo "echo-direct: the generator against the echo server with no forwarder (the floor)."
echo "other procs: cores kept busy by processes outside the bench during the window (noise)."
