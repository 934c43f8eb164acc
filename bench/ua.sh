#!/bin/sh
# bench/ua.sh — `make bench-ua`: rcsgw's MSRP user agent driven through its REST API by
# `rcsbench ua-setup` / `rcsbench ua-send`, the generator playing the far end (SIP UAS on UDP
# and MSRP endpoint). Each configuration runs UA_RUNS times, each time on a fresh rcsgw
# (ended sessions linger in rcsgw for 5 minutes: a fresh daemon keeps the runs alike); the
# table gives the median of the runs with (min–max). Builds nothing: run `make` first (or
# set BUILD).
#
#   setup      ua-setup, UA_SESSIONS sessions, UA_CONC in flight, each DELETEd once up
#   hold       ua-setup --hold, UA_HOLD sessions kept up: rcsgw's RSS per live session
#   send SIZE  ua-send, UA_SEND_SESSIONS sessions, UA_SEND_CONC requests in flight, for each
#              size of UA_SIZES
#   imdn SIZE  the same with --imdn, for each size of UA_IMDN_SIZES: each message asks for a
#              delivery notification, the far end sends it, and the round trip is POST
#              written -> message.delivered read on GET /v1/events
#
# rcsgw runs with RCSGW_ENGINE_WORKERS=1 (its API thread and the worker are its busy
# threads); with 2+ CPUs it is pinned with `taskset -c $UA_SUT_CPUS` and the generator with
# `taskset -c $UA_GEN_CPUS`.
#
# Environment (defaults in brackets):
#   UA_RUNS [3]  runs per configuration          UA_SESSIONS [4000]  UA_CONC [64]   setup
#   UA_HOLD [5000]  sessions held (0: skip)      UA_SEND_SESSIONS [64]  UA_SEND_CONC [64]
#   UA_SIZES ["100 2048"]  body bytes            UA_DURATION [4]  UA_WARMUP [1]  ua-send seconds
#   UA_IMDN_SIZES [""]  body bytes of the IMDN rows (none by default)
#   UA_SUT_CPUS [0]  UA_GEN_CPUS [1]             core lists for taskset (2+ CPUs only)
#   UA_JSON [unset]  file to append every run's JSON line to
#   UA_METRICS [unset]  file to append rcsgw's /metrics to at the end of every run
#   BUILD [build]
# With the defaults the whole script takes about 45 s here.
set -u

BUILD=${BUILD:-build}
RUNS=${UA_RUNS:-3}
SESSIONS=${UA_SESSIONS:-4000}
CONC=${UA_CONC:-64}
HOLD=${UA_HOLD:-5000}
SSESS=${UA_SEND_SESSIONS:-64}
SCONC=${UA_SEND_CONC:-64}
SIZES=${UA_SIZES-100 2048}
IMDN_SIZES=${UA_IMDN_SIZES:-}
DUR=${UA_DURATION:-4}
WARM=${UA_WARMUP:-1}
SUT_CPUS=${UA_SUT_CPUS:-0}
GEN_CPUS=${UA_GEN_CPUS:-1}
JSON_OUT=${UA_JSON:-}

GW=$BUILD/rcsgw
GEN=$BUILD/rcsbench
for b in "$GW" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "bench-ua: $b not built (run make first, or set BUILD)" >&2
		exit 1
	fi
done
PIN_SUT="" PIN_GEN=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SUT="taskset -c $SUT_CPUS"
	PIN_GEN="taskset -c $GEN_CPUS"
fi

. "$(dirname "$0")/common.sh"
bench_init rcsgw-ua

# a port free for TCP and UDP (SIP listens on both)
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# start_gw: a fresh rcsgw (one worker) on free ports; GW_PID, API. 0, or 1 (said why).
# Every API connection of the bench comes from 127.0.0.1: api.per_ip_limit (an abuse guard,
# 128 by default) is raised to the API's own limit (256), or the connections above 128 are
# refused at once, over and over (each one a failed request).
start_gw() {
	API=$(free_port)
	msrp=$(free_port)
	sip=$(free_port)
	RCSGW_API_PER_IP_LIMIT=256 \
	RCSGW_ENGINE_WORKERS=1 RCSGW_API_LISTEN=127.0.0.1:$API RCSGW_MSRP_LISTEN=127.0.0.1:$msrp \
		RCSGW_SIP_LISTEN=udp:127.0.0.1:$sip,tcp:127.0.0.1:$sip RCSGW_LOG_LEVEL=warn \
		$PIN_SUT "$GW" >"$TMP/rcsgw.out" 2>"$TMP/rcsgw.err" &
	GW_PID=$!
	PIDS="$PIDS $GW_PID"
	i=0
	while [ $i -lt 100 ]; do
		if ss -Hltn "sport = :$API" 2>/dev/null | grep -q .; then
			return 0
		fi
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench-ua: rcsgw did not start:" >&2
	sed 's/^/  /' "$TMP/rcsgw.err" >&2
	stop "$GW_PID"
	return 1
}

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

ROWS=""
# config NAME LOAD RATEKEY LATPFX CPUKEY MODE ARGS...: UA_RUNS runs of rcsbench MODE, one row.
config() {
	name=$1 load=$2 ratek=$3 latp=$4 cpuk=$5 mode=$6
	shift 6
	rate="" p50="" p99="" p999="" cpu="" sutc="" genc="" fail="" rssb="" oth="" ok=0
	r=1
	while [ "$r" -le "$RUNS" ]; do
		start_gw || { r=$((r + 1)); continue; }
		out=$(timeout 150 $PIN_GEN "$GEN" "$mode" --api "127.0.0.1:$API" \
			--sip-listen 127.0.0.1:0 --msrp-listen 127.0.0.1:0 --sut-pid "$GW_PID" --json \
			"$@" 2>"$TMP/gen.err")
		rc=$?
		if [ -n "${UA_METRICS:-}" ]; then
			curl -s "http://127.0.0.1:$API/metrics" >>"$UA_METRICS" 2>/dev/null || true
		fi
		stop "$GW_PID"
		if [ -z "$out" ] || [ -z "$(field "$out" "$ratek")" ]; then
			echo "bench-ua: $name run $r: rcsbench failed (exit $rc):" >&2
			sed 's/^/  /' "$TMP/gen.err" >&2
			r=$((r + 1))
			continue
		fi
		[ -n "$JSON_OUT" ] && printf '{"config":"%s","run":%d,%s\n' "$name" "$r" "${out#\{}" >>"$JSON_OUT"
		ok=$((ok + 1))
		rate="$rate $(field "$out" "$ratek")"
		p50="$p50 $(field "$out" "${latp}_p50_us")"
		p99="$p99 $(field "$out" "${latp}_p99_us")"
		p999="$p999 $(field "$out" "${latp}_p999_us")"
		cpu="$cpu $(field "$out" "$cpuk")"
		sutc="$sutc $(field "$out" sut_cpu_cores)"
		genc="$genc $(field "$out" gen_cpu_cores)"
		oth="$oth $(field "$out" others_cores)"
		rssb="$rssb $(field "$out" sut_rss_per_session_b)"
		# failures: set-ups that failed, DELETE errors, BYEs missing; ua-send adds non-202
		# answers, bodies wrong or duplicated, and messages lost
		f=$(awk "BEGIN { print $(field "$out" failures) + $(field "$out" delete_errors) + $(field "$out" bye_missing) + 0$(field "$out" api_other) + 0$(field "$out" verify_errors) + 0$(field "$out" duplicates) + 0$(field "$out" lost) + 0$(field "$out" imdn_missing) + 0$(field "$out" imdn_refused) + 0$(field "$out" events_failed) + 0$(field "$out" sse_lost) }")
		fail="$fail $f"
		echo "bench-ua: $name run $r: $(fmt "$(field "$out" "$ratek")" 0)/s, p50 $(fmt "$(field "$out" "${latp}_p50_us")" 0) us, rcsgw $(fmt "$(field "$out" "$cpuk")" 1) us, failures $f (exit $rc)" >&2
		r=$((r + 1))
	done
	ROWS="$ROWS| $name | $load | $ok | $(stats "$rate" 0) | $(stats "$p50" 0) | $(stats "$p99" 0) | $(stats "$p999" 0) | $(stats "$cpu" 1) | $(pct "$(med "$sutc" 2)") | $(pct "$(med "$genc" 2)") | $(sum "$fail") | $(stats "$rssb" 0) | $(med "$oth" 2) |
"
}

echo "bench-ua: rcsgw (1 worker) ${PIN_SUT:-unpinned}, generator ${PIN_GEN:-unpinned}; $RUNS runs per configuration, each on a fresh rcsgw" >&2

config setup "$SESSIONS sessions, $CONC in flight" sessions_per_s setup \
	sut_cpu_us_per_session ua-setup --sessions "$SESSIONS" --concurrency "$CONC"
if [ "$HOLD" -gt 0 ]; then
	config hold "$HOLD sessions kept up, $CONC in flight" sessions_per_s setup \
		sut_cpu_us_per_session ua-setup --sessions "$HOLD" --concurrency "$CONC" --hold
fi
for size in $SIZES; do
	config "send $size B" "$SSESS sessions, $SCONC in flight" msgs_per_s lat \
		sut_cpu_us_per_msg ua-send --sessions "$SSESS" --concurrency "$SCONC" --size "$size" \
		--duration "$DUR" --warmup "$WARM"
done
for size in $IMDN_SIZES; do
	config "imdn $size B" "$SSESS sessions, $SCONC in flight, IMDN round trip" imdn_per_s imdn \
		sut_cpu_us_per_msg ua-send --sessions "$SSESS" --concurrency "$SCONC" --size "$size" \
		--duration "$DUR" --warmup "$WARM" --imdn
done

echo
echo "| config | load | runs | sessions/s or msgs/s | p50 µs | p99 µs | p99.9 µs | rcsgw CPU µs per session or msg | rcsgw core busy | gen core busy | failures (all runs) | rcsgw RSS B per live session | other procs (cores) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$ROWS"
echo
echo "Median of the runs, (min–max) across them. setup/hold: POST /v1/sessions written -> the"
echo "binding SEND at the generator's MSRP endpoint; rcsgw CPU per session includes its DELETE"
echo "and BYE (not for hold). send: POST .../messages written -> the SEND at the MSRP endpoint;"
echo "rcsgw CPU per delivered message. rcsgw CPU is all its threads (API thread + worker)."
[ -n "$IMDN_SIZES" ] && echo "imdn: POST written -> the message.delivered event read on /v1/events (the far end's IMDN); rate: events/s."
echo "other procs: cores kept busy by processes outside the bench during the window (noise)."
