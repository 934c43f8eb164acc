#!/bin/sh
# bench/cluster.sh — `make bench-cluster`: the user agent with the cluster's replication off
# and on (issue 8), in one run, on the same machine: bench/ua.sh's session set-up (with
# replication each session is claimed in Redis, its record written as it comes and once
# established, and released after its DELETE) and REST send of 100 B (each message
# appended to its session's stream before the 202, its entry removed once the endpoint's
# 200 came), UA_RUNS runs of each on a fresh rcsgw; then the medians side by side with the
# on/off ratio, and the replication lag rcsgw measured (the longest of each run: change to
# record acknowledged) and the p50/p99 of the lag histograms (records; accepted messages to
# their append acknowledged). Redis is a redis-server started here, pinned with the generator
# (taskset -c $UA_GEN_CPUS) when there are 2+ CPUs.
#
# Then the relay (bench/relay.sh, rcsgw alone) with replication off and on, alternately,
# CLUSTER_RELAY_RUNS times: forwarding at peak (closed loop) and light load (open loop), and
# the memory of idle authenticated sessions (with replication each one's binding is claimed
# and written to Redis at its AUTH; forwarding itself does not touch Redis).
#
# Environment: what bench/ua.sh takes (UA_RUNS [3], UA_SESSIONS [4000], UA_CONC [64], ...),
# what bench/relay.sh takes (RELAY_DURATION [5], RELAY_PAIRS [64], ...), CLUSTER_RELAY_RUNS
# [3] (0: no relay part), CLUSTER_RELAY_IDLE [10000] idle sessions per run,
# CLUSTER_JSON [unset] file to append every run's JSON line to (with "replication":"off"/"on"),
# REDIS_SERVER [/usr/bin/redis-server], BUILD [build].
set -eu

BUILD=${BUILD:-build}
REDIS=${REDIS_SERVER:-/usr/bin/redis-server}
GEN_CPUS=${UA_GEN_CPUS:-1}
[ -x "$REDIS" ] || { echo "bench-cluster: $REDIS not found (make deps)" >&2; exit 1; }
command -v jq >/dev/null 2>&1 || { echo "bench-cluster: jq not found (make deps)" >&2; exit 1; }

. "$(dirname "$0")/common.sh"
bench_init rcsgw-cluster

PIN=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $GEN_CPUS"
fi
port=$((33000 + $(od -An -N2 -tu2 /dev/urandom) % 8000))
$PIN "$REDIS" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
	--logfile /dev/null --daemonize no &
PIDS="$PIDS $!"
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "bench-cluster: redis-server did not start" >&2; exit 1; }
	sleep 0.1
done

for mode in off on; do
	if [ "$mode" = on ]; then
		export RCSGW_REDIS_URL="redis://127.0.0.1:$port"
	fi
	echo "bench-cluster: replication $mode" >&2
	UA_HOLD=0 UA_SIZES=100 UA_JSON="$TMP/$mode.json" UA_METRICS="$TMP/$mode.metrics" \
		BUILD="$BUILD" sh "$(dirname "$0")/ua.sh" >"$TMP/$mode.md"
done

RRUNS=${CLUSTER_RELAY_RUNS:-3}
r=0
while [ "$r" -lt "$RRUNS" ]; do
	r=$((r + 1))
	for mode in off on; do
		if [ "$mode" = on ]; then
			export RCSGW_REDIS_URL="redis://127.0.0.1:$port"
		else
			unset RCSGW_REDIS_URL
		fi
		echo "bench-cluster: relay, replication $mode (run $r of $RRUNS)" >&2
		RELAY_SYSTEMS=rcsgw RELAY_IDLE=${CLUSTER_RELAY_IDLE:-10000} \
			RELAY_JSON="$TMP/relay-$mode.json" BUILD="$BUILD" \
			sh "$(dirname "$0")/relay.sh" >"$TMP/relay-$mode-$r.md"
	done
done

if [ -n "${CLUSTER_JSON:-}" ]; then
	for mode in off on; do
		for f in "$TMP/$mode.json" "$TMP/relay-$mode.json"; do
			[ -s "$f" ] && jq -c --arg m "$mode" '{replication: $m} + .' "$f" >>"$CLUSTER_JSON"
		done
	done
fi

# median of KEY over the runs of CONFIG in FILE
median() {
	jq -r --arg c "$2" "select(.config == \$c) | .$3" "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)]; else printf "0" }'
}

echo
echo "| config | replication off | replication on | on / off |"
echo "|---|---:|---:|---:|"
for row in "setup|sessions_per_s|sessions/s" "send 100 B|msgs_per_s|msgs/s" \
	   "setup|sut_cpu_us_per_session|rcsgw CPU µs per session" \
	   "send 100 B|sut_cpu_us_per_msg|rcsgw CPU µs per message"; do
	cfg=${row%%|*} rest=${row#*|}
	key=${rest%%|*} label=${rest#*|}
	off=$(median "$TMP/off.json" "$cfg" "$key")
	on=$(median "$TMP/on.json" "$cfg" "$key")
	ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b; else printf "—" }')
	echo "| $cfg: $label | $off | $on | $ratio |"
done
# median of KEY over the relay's runs of PHASE ("idle": the memory phase's lines) in FILE
rmedian() {
	[ -s "$1" ] || { printf "0"; return; }
	if [ "$2" = idle ]; then
		sel='select(.authenticated != null)'
	else
		sel="select(.label == \"rcsgw\" and .phase == \"$2\")"
	fi
	jq -r "$sel | .$3" "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)]; else printf "0" }'
}
if [ "$RRUNS" -gt 0 ]; then
	for row in "peak|msgs_per_s|relay peak, msgs/s" \
		   "light|sut_cpu_us_per_msg|relay light load, rcsgw CPU µs per message" \
		   "light|lat_p99_us|relay light load, p99 µs" \
		   "idle|sut_rss_per_session_b|relay idle session, rcsgw RSS B"; do
		ph=${row%%|*} rest=${row#*|}
		key=${rest%%|*} label=${rest#*|}
		off=$(rmedian "$TMP/relay-off.json" "$ph" "$key")
		on=$(rmedian "$TMP/relay-on.json" "$ph" "$key")
		ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b; else printf "—" }')
		echo "| $label | $off | $on | $ratio |"
	done
fi
# p50/p99 of a kind's lag histogram, summed over the runs' scrapes (bucket bounds, s -> ms)
lag_pct() {
	grep -h "^rcsgw_cluster_replication_lag_seconds_bucket{kind=\"$1\"" "$TMP/on.metrics" \
		2>/dev/null | sed 's/.*le="\([^"]*\)"} \(.*\)/\1 \2/' |
		awk -v q="$2" '{ c[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; o[n++] = $1 } }
			END { t = c["+Inf"]; if (!t) { printf "—"; exit }
			      for (i = 0; i < n; i++) if (c[o[i]] >= q * t) {
				      if (o[i] == "+Inf") printf "> 5000 ms"
				      else printf "<= %g ms", o[i] * 1000; exit } }'
}
mlag50=$(lag_pct message 0.5)
mlag99=$(lag_pct message 0.99)
rlag99=$(lag_pct record 0.99)
lags=$(grep -h '^rcsgw_cluster_replication_lag_max_ms' "$TMP/on.metrics" 2>/dev/null |
	awk '{ print $NF }' | sort -g | tr '\n' ' ')
writes=$(grep -h '^rcsgw_cluster_writes_total' "$TMP/on.metrics" 2>/dev/null |
	awk '{ s += $NF } END { print s + 0 }')
echo
echo "Replication on: $writes records written in all; the longest lag of each run (change to"
echo "record acknowledged, ms): ${lags:-—}; record lag p99 $rlag99. Accepted message to its"
echo "append in Redis acknowledged (what the 202 waits for): p50 $mlag50, p99 $mlag99 (the"
echo "histogram's bucket bounds). Median of the runs; the tables of each mode:"
echo
cat "$TMP/off.md" "$TMP/on.md"
for f in "$TMP"/relay-*-*.md; do
	[ -f "$f" ] || continue
	echo
	echo "Relay, $(basename "$f" .md | sed 's/relay-\(o[nf]*\)-\([0-9]*\)/replication \1, run \2/'):"
	cat "$f"
done
