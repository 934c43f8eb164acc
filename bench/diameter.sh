#!/bin/sh
# bench/diameter.sh — `make bench-diameter`: Diameter requests through rcsgw's REST API to
# freeDiameterd (issue 9). `rcsbench dm-request` keeps C requests in flight on C keep-alive
# HTTP connections (closed loop) of POST /v1/diameter/requests (an Sh UDR); rcsgw sends each
# to its open peer, a freeDiameterd started here (bench/fd_srv.sh, the tests' set-up), which
# answers 3002 (Debian ships no Sh extension: still a full round trip through it); the
# answer must be 200 with "result_code" 3002, anything else is an error.
#
# One freeDiameterd and one rcsgw (RCSGW_ENGINE_WORKERS=$DM_WORKERS, API only: no MSRP, no
# SIP listener) for the whole script; each concurrency of DM_CONCS runs DM_RUNS times, the
# levels interleaved (1 16 64 1 16 64 …) so that the machine's noise spreads over all of
# them; the table gives the median of the runs with (min–max). With 2+ CPUs rcsgw is pinned
# with `taskset -c $DM_SUT_CPUS`, the generator and freeDiameterd with $DM_GEN_CPUS and
# $DM_FD_CPUS. Builds nothing: run `make` first (or set BUILD).
#
# Environment (defaults in brackets):
#   DM_CONCS ["1 16 64 128"]  requests in flight   DM_RUNS [5]  runs per concurrency
#   DM_DURATION [3]  DM_WARMUP [1]  seconds per run
#   DM_WORKERS [1]  rcsgw engine workers (the Diameter node lives on worker 0)
#   DM_SUT_CPUS [0]  DM_GEN_CPUS [1]  DM_FD_CPUS [1]  core lists for taskset (2+ CPUs only)
#   DM_FD_PORT [a free port]  freeDiameterd's port (the tests use 3868: not held here)
#   DM_FD_QUIET [1]  0 keeps freeDiameterd's log (~19 lines per request: it costs it CPU)
#   DM_JSON [unset]  file to append every run's JSON line to
#   DM_METRICS [unset]  file to write rcsgw's /metrics to at the end
#   BUILD [build]
# With the defaults the whole script takes about 1.5 minutes here.
set -u

BUILD=${BUILD:-build}
CONCS=${DM_CONCS:-1 16 64 128}
RUNS=${DM_RUNS:-5}
DUR=${DM_DURATION:-3}
WARM=${DM_WARMUP:-1}
WORKERS=${DM_WORKERS:-1}
SUT_CPUS=${DM_SUT_CPUS:-0}
GEN_CPUS=${DM_GEN_CPUS:-1}
FD_CPUS=${DM_FD_CPUS:-1}
FD_QUIET=${DM_FD_QUIET:-1}
JSON_OUT=${DM_JSON:-}

GW=$BUILD/rcsgw
GEN=$BUILD/rcsbench
for b in "$GW" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "bench-diameter: $b not built (run make first, or set BUILD)" >&2
		exit 1
	fi
done
if ! command -v curl >/dev/null 2>&1; then
	echo "bench-diameter: curl is needed to ask rcsgw for its peers" >&2
	exit 1
fi

. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/fd_srv.sh"

if ! fd_available; then
	echo "bench-diameter: freeDiameterd, its acl_wl extension or openssl missing" \
		"(Debian package freediameter: make deps)" >&2
	exit 1
fi
PIN_SUT="" PIN_GEN=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SUT="taskset -c $SUT_CPUS"
	PIN_GEN="taskset -c $GEN_CPUS"
	FD_PIN="taskset -c $FD_CPUS"
fi

bench_init rcsgw-dm

# a TCP port nobody listens on
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# peer_open: 0 when rcsgw lists its peer as open
peer_open() {
	curl -s -m 2 "http://127.0.0.1:$API/v1/diameter/peers" 2>/dev/null | grep -q '"state":"open"'
}

FD_PORT=${DM_FD_PORT:-$(free_port)}
mkdir -p "$TMP/fd"
fd_start "$TMP/fd" "$FD_PORT" fd.test.local test.local '*.test.local' "$FD_QUIET" || exit 1

# rcsgw: the Diameter node only. Its peer is connected again 300 ms after a failed try
# (freeDiameterd sometimes leaves the first CER unanswered just after it starts).
API=$(free_port)
RCSGW_ENGINE_WORKERS=$WORKERS RCSGW_API_LISTEN=127.0.0.1:$API RCSGW_MSRP_LISTEN= \
	RCSGW_SIP_LISTEN= RCSGW_LOG_LEVEL=warn RCSGW_DIAMETER_ORIGIN_HOST=rcsgw.test.local \
	RCSGW_DIAMETER_PEERS="aaa://127.0.0.1:$FD_PORT;realm=test.local" \
	RCSGW_DIAMETER_RECONNECT=300ms \
	$PIN_SUT "$GW" >"$TMP/rcsgw.out" 2>"$TMP/rcsgw.err" &
GW_PID=$!
PIDS="$PIDS $GW_PID"
i=0
until peer_open; do
	if ! kill -0 "$GW_PID" 2>/dev/null || [ $i -ge 150 ]; then
		echo "bench-diameter: rcsgw's peer did not open within 15 s:" >&2
		curl -s -m 2 "http://127.0.0.1:$API/v1/diameter/peers" >&2
		sed 's/^/  /' "$TMP/rcsgw.err" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done

# stats LIST DIGITS: "median (min–max)" of the numbers in LIST, split on blanks on purpose
# ("—" when none)
stats() {
	printf '%s\n' $1 | grep -E '^-?[0-9.eE+-]+$' | sort -g | awk -v d="$2" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { printf "—"; exit }
			f = "%." d "f"
			printf f, v[int((NR + 1) / 2)]
			if (NR > 1) printf " (" f "–" f ")", v[1], v[NR]
		}'
}
# med LIST DIGITS: the median alone
med() {
	printf '%s\n' $1 | grep -E '^-?[0-9.eE+-]+$' | sort -g | awk -v d="$2" '
		{ v[NR] = $1 } END { if (NR == 0) printf "—"; else printf "%." d "f", v[int((NR + 1) / 2)] }'
}
# sum LIST
sum() {
	printf '%s\n' $1 | grep -E '^[0-9]+$' | awk '{ s += $1 } END { print s + 0 }'
}

echo "bench-diameter: rcsgw ($WORKERS worker(s)) ${PIN_SUT:-unpinned}, freeDiameterd on port $FD_PORT ${FD_PIN:-unpinned}, generator ${PIN_GEN:-unpinned}; concurrencies $CONCS, $RUNS runs each of ${WARM}+${DUR} s" >&2

# every run's figures, by concurrency: V_<field>_<conc> = "v1 v2 …"
add() {
	eval "V_$1_$2=\"\${V_$1_$2:-} \$3\""
}
get() {
	eval "printf '%s' \"\${V_$1_$2:-}\""
}

r=1
while [ "$r" -le "$RUNS" ]; do
	for c in $CONCS; do
		if ! peer_open; then
			echo "bench-diameter: the peer is not open before run $r at $c in flight" >&2
		fi
		out=$(timeout 60 $PIN_GEN "$GEN" dm-request --api "127.0.0.1:$API" --conc "$c" \
			--duration "$DUR" --warmup "$WARM" --sut-pid "$GW_PID" --peer-pid "$FD_PID" \
			--json 2>"$TMP/gen.err")
		rc=$?
		if [ -z "$out" ] || [ -z "$(field "$out" requests_per_s)" ]; then
			echo "bench-diameter: $c in flight, run $r: rcsbench failed (exit $rc):" >&2
			sed 's/^/  /' "$TMP/gen.err" >&2
			add err "$c" 1
			continue
		fi
		[ -n "$JSON_OUT" ] && printf '{"conc":%d,"run":%d,%s\n' "$c" "$r" "${out#\{}" >>"$JSON_OUT"
		add ok "$c" 1
		for k in requests_per_s lat_p50_us lat_p99_us lat_p999_us sut_cpu_us_per_req \
			sut_thread_api_us_per_req sut_thread_w0_us_per_req peer_cpu_us_per_req \
			sut_cpu_cores peer_cpu_cores gen_cpu_cores gen_cpu_us_per_req others_cores \
			errors; do
			add "$k" "$c" "$(field "$out" "$k")"
		done
		echo "bench-diameter: $c in flight, run $r: $(fmt "$(field "$out" requests_per_s)" 0)/s, p50 $(fmt "$(field "$out" lat_p50_us)" 0) us, p99 $(fmt "$(field "$out" lat_p99_us)" 0) us, rcsgw $(fmt "$(field "$out" sut_cpu_us_per_req)" 1) us, freeDiameterd $(fmt "$(field "$out" peer_cpu_us_per_req)" 1) us, errors $(field "$out" errors) (exit $rc)" >&2
	done
	r=$((r + 1))
done

if [ -n "${DM_METRICS:-}" ]; then
	curl -s "http://127.0.0.1:$API/metrics" >"$DM_METRICS" 2>/dev/null || true
fi
stop "$GW_PID"
fd_stop

echo
echo "| in flight | runs | requests/s | p50 µs | p99 µs | p99.9 µs | rcsgw CPU µs/req | of which API thread | of which worker | freeDiameterd CPU µs/req | generator CPU µs/req | rcsgw cores | freeDiameterd cores | generator cores | errors (all runs) | others (cores) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONCS; do
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$c" "$(sum "$(get ok "$c")")" \
		"$(stats "$(get requests_per_s "$c")" 0)" "$(stats "$(get lat_p50_us "$c")" 0)" \
		"$(stats "$(get lat_p99_us "$c")" 0)" "$(stats "$(get lat_p999_us "$c")" 0)" \
		"$(stats "$(get sut_cpu_us_per_req "$c")" 1)" \
		"$(med "$(get sut_thread_api_us_per_req "$c")" 1)" \
		"$(med "$(get sut_thread_w0_us_per_req "$c")" 1)" \
		"$(stats "$(get peer_cpu_us_per_req "$c")" 1)" \
		"$(med "$(get gen_cpu_us_per_req "$c")" 1)" \
		"$(med "$(get sut_cpu_cores "$c")" 2)" "$(med "$(get peer_cpu_cores "$c")" 2)" \
		"$(med "$(get gen_cpu_cores "$c")" 2)" \
		"$(($(sum "$(get errors "$c")") + $(sum "$(get err "$c")")))" \
		"$(med "$(get others_cores "$c")" 2)"
done
echo
echo "Median of the runs, (min–max) across them; one rcsgw and one freeDiameterd for all runs."
echo "requests/s: answers 200 with result_code 3002 inside the window. Latency: request written"
echo "-> answer read, at the generator. CPU per request: each process's threads over the window"
echo "(schedstat) / the good answers in it; rcsgw's API thread and worker w0 apart (medians)."
echo "errors: any other status or Result-Code, time-outs, lost connections, and failed runs."
echo "others: cores kept busy by processes outside the bench during the window (noise)."
