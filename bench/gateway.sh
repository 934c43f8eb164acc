#!/bin/sh
# bench/gateway.sh — `make bench-gateway`: rcsgw's SIP MESSAGE -> MSRP gateway (issue 6)
# under page-mode load. sipp tests/peers/sipp/uac_message.xml is the page-mode client (one
# MESSAGE per call, open loop at a fixed rate, UDP) -> rcsgw (RCSGW_GATEWAY_ENABLED=true,
# one worker) -> `rcsbench ua-sink`, the RCS phone(s): it answers rcsgw's INVITE
# (a=setup:passive, an a=path to its MSRP listener) and every SEND 200, and counts them.
#
# Each run: a fresh rcsgw and sink; a pre-warm (one MESSAGE per pair, so the MSRP session
# is up before the load: MESSAGEs that come while it is set up queue, gateway.max_queued =
# 32 of them, the rest get 503); then sipp at RATE for GW_DURATION + 1.5 s. The sink's
# window starts GW_WARMUP after the first message and lasts GW_DURATION.
#
# Rows: each rate of GW_RATES; the highest rate that passes (stepped up from the last
# fixed rate ×GW_STEP_FACTOR, one run per step: >= 99.9 % of the MESSAGEs answered 202,
# sipp reaching >= 97 % of the offered rate, no 202 without its SEND); the same with
# GW_PAIRS pairs (From users u0..u<P-1> from a CSV injection file, To the same user); and
# once each, to show them: the cold start (no pre-warm) and rcsgw's default
# sip.max_transactions. Fixed, max and pairs rows: GW_RUNS runs, median (min–max).
#
# rcsgw runs with sip.max_transactions = GW_MAX_TRANSACTIONS (262144): a MESSAGE's
# server transaction lingers 64*T1 = 32 s after its answer (RFC 3261 Timer J, UDP), so
# the default 16384 caps a worker at 16384 / 32 s = 512 MESSAGEs/s sustained; with more,
# the runs here (a few seconds on a fresh rcsgw) measure the gateway, not that cap.
#
# Per run: MESSAGEs/s answered 202 (sipp: 202s / the span of its answers), SENDs/s at the
# sink (in its window), 202 % of the MESSAGEs sent, lost (202 and no SEND: must be 0) and
# unanswered (SEND and no 202 at sipp: its answer lost or later than 2 s), 503s (rcsgw's
# counters: queue full during set-up, transactions), response time p50/p99/mean (sipp's
# response time 1, MESSAGE sent -> final answer, on sipp's coarse clock: 4 ms steps here),
# rcsgw CPU per SEND in the window (all its threads, schedstat), rcsgw's RSS growth per
# MESSAGE (mostly lingering transactions), cores busy by others (sipp, plus noise).
#
# rcsgw is pinned with `taskset -c $GW_SUT_CPUS`, sipp and the sink with `taskset -c
# $GW_GEN_CPUS`. sipp does not retransmit (-nr): a MESSAGE lost is a failure after 2 s.
#
# Environment (defaults in brackets):
#   GW_RATES ["1000 2000 4000"]  GW_RUNS [3]  GW_DURATION [2]  GW_WARMUP [0.5]  seconds
#   GW_SIZE [100]  body bytes     GW_STEP_FACTOR [1.5]  GW_MAX_STEPS [6] (0: no max row)
#   GW_PAIRS [64] (0: no pairs row)  GW_PAIRS_RATE [4000]   GW_EXTRA [1] cold/default rows
#   GW_MAX_TRANSACTIONS [262144]  GW_SUT_CPUS [0]  GW_GEN_CPUS [1]
#   GW_JSON [unset]  file to append one JSON line per run to      BUILD [build]
# With the defaults it takes about 1 min 50 s here.
set -u

BUILD=${BUILD:-build}
RATES=${GW_RATES:-1000 2000 4000}
RUNS=${GW_RUNS:-3}
DUR=${GW_DURATION:-2}
WARM=${GW_WARMUP:-0.5}
SIZE=${GW_SIZE:-100}
FACTOR=${GW_STEP_FACTOR:-1.5}
MAX_STEPS=${GW_MAX_STEPS:-6}
PAIRS=${GW_PAIRS:-64}
PAIRS_RATE=${GW_PAIRS_RATE:-4000}
EXTRA=${GW_EXTRA:-1}
TXN=${GW_MAX_TRANSACTIONS:-262144}
SUT_CPUS=${GW_SUT_CPUS:-0}
GEN_CPUS=${GW_GEN_CPUS:-1}
JSON_OUT=${GW_JSON:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SF_UAC=$SRC/tests/peers/sipp/uac_message.xml
GW=$BUILD/rcsgw
GEN=$BUILD/rcsbench
SIPP=$(command -v sipp || true)

for b in "$GW" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "bench-gateway: $b not built (run make first, or set BUILD)" >&2
		exit 1
	fi
done
if [ -z "$SIPP" ] || [ ! -f "$SF_UAC" ]; then
	echo "bench-gateway: sipp (package sip-tester) and $SF_UAC are needed" >&2
	exit 1
fi
PIN_SUT="" PIN_GEN=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SUT="taskset -c $SUT_CPUS"
	PIN_GEN="taskset -c $GEN_CPUS"
fi

. "$(dirname "$0")/common.sh"
bench_init rcsgw-gateway

# the pairs' page-mode client: uac_message.xml with its From user taken from the CSV
# injection file (sipp cannot vary a -set variable per call)
sed 's/\[\$from_user\]/[field0]/' "$SF_UAC" >"$TMP/uac_pairs.xml"
echo SEQUENTIAL >"$TMP/users.csv"
i=0
while [ $i -lt "$PAIRS" ]; do
	echo "u$i;" >>"$TMP/users.csv"
	i=$((i + 1))
done

# next_port: a port nothing uses for TCP or UDP, walking up from a random base
NEXT_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
next_port() {
	while :; do
		NEXT_PORT=$((NEXT_PORT >= 32000 ? 20000 : NEXT_PORT + 1))
		ss -Htuan "sport = :$NEXT_PORT" 2>/dev/null | grep -q . || break
	done
}

# metric NAME: the value of rcsgw's counter NAME (summed over workers), 0 when unknown
metric() {
	printf '%s\n' "$METRICS" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}

# sipp_uac DIR CALLS RATE PAIRED: the page-mode client, CALLS MESSAGEs at RATE/s, in DIR;
# its exit status
sipp_uac() {
	mkdir -p "$1"
	next_port
	sf=$SF_UAC inf=""
	if [ "$4" = 1 ]; then
		sf=$TMP/uac_pairs.xml inf="-inf $TMP/users.csv"
	fi
	lim=$(($3 * 3 > 1000 ? $3 * 3 : 1000))
	(cd "$1" && exec timeout $((DUR + 40)) $PIN_GEN "$SIPP" -sf "$sf" $inf -set from_user legacy \
		"127.0.0.1:$SIP" -i 127.0.0.1 -p "$NEXT_PORT" -t u1 -nostdin -s s0 \
		-set to_host "127.0.0.1:$SINK_SIP" -set size "$SIZE" -m "$2" -r "$3" -rp 1000 \
		-l "$lim" -nr -recv_timeout 2000 -buff_size 4194304 -trace_rtt -rtt_freq 100 \
		-trace_stat -stf stat.csv -fd 1 >out 2>&1)
}

# run_once RATE PAIRS PREWARM TXN LABEL: one run on a fresh rcsgw and sink; one line of
# results appended to $TMP/runs (empty fields when the run failed)
run_once() {
	rate=$1 npairs=$2 prewarm=$3 txn=$4 label=$5
	paired=$([ "$npairs" -gt 1 ] && echo 1 || echo 0)
	secs=$(awk "BEGIN { print $DUR + 1.5 }")
	calls=$(awk "BEGIN { printf \"%d\", $rate * $secs }")
	pre=$([ "$prewarm" = 1 ] && echo "$npairs" || echo 0)
	rm -rf "$TMP/run" && mkdir -p "$TMP/run"
	next_port && SIP=$NEXT_PORT
	next_port && API=$NEXT_PORT
	next_port && msrp=$NEXT_PORT
	RCSGW_ENGINE_WORKERS=1 RCSGW_GATEWAY_ENABLED=true RCSGW_SIP_MAX_TRANSACTIONS=$txn \
		RCSGW_API_LISTEN=127.0.0.1:$API RCSGW_MSRP_LISTEN=127.0.0.1:$msrp \
		RCSGW_SIP_LISTEN=udp:127.0.0.1:$SIP RCSGW_LOG_LEVEL=warn \
		$PIN_SUT "$GW" >"$TMP/run/rcsgw.out" 2>"$TMP/run/rcsgw.err" &
	gw_pid=$!
	PIDS="$PIDS $gw_pid"
	i=0
	until ss -Hltn "sport = :$API" 2>/dev/null | grep -q . || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 "$gw_pid" 2>/dev/null || [ $i -ge 100 ]; then
		echo "bench-gateway: rcsgw did not start:" >&2
		sed 's/^/  /' "$TMP/run/rcsgw.err" >&2
		stop "$gw_pid"
		return 1
	fi
	timeout $((DUR + 60)) $PIN_GEN "$GEN" ua-sink --sip-listen 127.0.0.1:0 \
		--msrp-listen 127.0.0.1:0 --duration "$DUR" --warmup "$WARM" \
		--count $((calls + pre)) --idle 2 --sut-pid "$gw_pid" --json \
		>"$TMP/run/sink.json" 2>"$TMP/run/sink.err" &
	sink_pid=$!
	PIDS="$PIDS $sink_pid"
	i=0
	SINK_SIP=""
	while [ -z "$SINK_SIP" ] && [ $i -lt 100 ] && kill -0 "$sink_pid" 2>/dev/null; do
		sleep 0.05
		SINK_SIP=$(sed -n 's/.*ready sip=[0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/run/sink.err")
		i=$((i + 1))
	done
	if [ -z "$SINK_SIP" ]; then
		echo "bench-gateway: the sink did not start:" >&2
		sed 's/^/  /' "$TMP/run/sink.err" >&2
		stop "$sink_pid"
		stop "$gw_pid"
		return 1
	fi
	pre_ok=0
	if [ "$pre" -gt 0 ]; then
		sipp_uac "$TMP/run/pre" "$pre" 200 "$paired"
		pre_ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
			NR > 1 { k = $c["SuccessfulCall(C)"] } END { print k + 0 }' "$TMP/run/pre/stat.csv" 2>/dev/null)
	fi
	sipp_uac "$TMP/run/uac" "$calls" "$rate" "$paired"
	uac_rc=$?
	wait "$sink_pid"
	PIDS=$(printf '%s\n' $PIDS | grep -vx "$sink_pid" | tr '\n' ' ')
	alive=1
	kill -0 "$gw_pid" 2>/dev/null || alive=0
	METRICS=$(curl -s --max-time 2 "http://127.0.0.1:$API/metrics" 2>/dev/null)
	stop "$gw_pid"
	out=$(cat "$TMP/run/sink.json")
	rtt=$(ls "$TMP"/run/uac/*_rtt.csv 2>/dev/null | head -1)
	if [ -z "$out" ] || [ -z "$rtt" ] || [ ! -s "$TMP/run/uac/stat.csv" ]; then
		echo "bench-gateway: $label ${rate}/s: run failed (sipp exit $uac_rc, rcsgw alive $alive):" >&2
		tail -3 "$TMP/run/uac/out" "$TMP/run/sink.err" 2>/dev/null | sed 's/^/  /' >&2
		printf '%s\t%s\n' "$label" "failed" >>"$TMP/runs"
		return 1
	fi
	# sipp: MESSAGEs sent, answered 202 (its successful calls), failed
	set -- $(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
		NR > 1 { o = $c["OutgoingCall(C)"]; k = $c["SuccessfulCall(C)"]; f = $c["FailedCall(C)"] }
		END { print o + 0, k + 0, f + 0 }' "$TMP/run/uac/stat.csv")
	sent=$1 ok=$2 failed=$3
	# its answers (rows Date_ms;response_time_ms;rtd_no, one per final answer, written by
	# 100: the last < 100 are not): their rate over their span, response times
	set -- $(awk -F';' 'NR > 1 && $2 != "" { n++; if (n == 1) a = $1; b = $1; print $2 }
		END { printf "span %d %s %s\n", n, a + 0, b + 0 }' "$rtt" | sort -n | awk '
		$1 == "span" { n = $2; a = $3; b = $4; next }
		{ x[++m] = $1; s += $1 }
		END {
			if (!m) { print 0, 0, 0, "-", "-", "-"; exit }
			printf "%d %s %s %s %s %.2f\n", n, a, b, x[int(m * 0.5 + 0.999999)],
				x[int(m * 0.99 + 0.999999)], s / m }')
	rows=$1 first=$2 last=$3 p50=$4 p99=$5 mean=$6
	rsent=$(awk "BEGIN { d = ($last - $first) / 1000; print (d > 0) ? sprintf(\"%.0f\", ($rows - 1) / d) : 0 }")
	r202=$(awk "BEGIN { print ($sent > 0) ? sprintf(\"%.0f\", $rsent * $ok / $sent) : \"\" }")
	sends=$(field "$out" msgs_per_s)
	total=$(field "$out" msgs_total)
	main=$((total - pre_ok))
	lost=$((ok > main ? ok - main : 0))
	unans=$((main > ok ? main - ok : 0))
	pct=$(awk "BEGIN { printf \"%.3f\", $sent ? 100 * $ok / $sent : 0 }")
	q503=$(metric rcsgw_gateway_queue_full_total)
	a503=$(metric rcsgw_sip_answered_503_total)
	alive_s=$(metric rcsgw_gateway_sessions)
	cpu=$(field "$out" sut_cpu_us_per_msg)
	rss0=$(field "$out" sut_rss0_kib) rss1=$(field "$out" sut_rss_kib)
	rssb=""
	[ "$rss0" != null ] && [ "$rss1" != null ] && [ "$total" -gt 0 ] &&
		rssb=$(awk "BEGIN { printf \"%.0f\", ($rss1 - $rss0) * 1024 / $total }")
	sutc=$(field "$out" sut_cpu_cores)
	oth=$(field "$out" others_cores)
	errs=$(field "$out" errors)
	pass=$(awk "BEGIN { print ($sent > 0 && $ok >= 0.999 * $sent && $rsent >= 0.97 * $rate && $lost == 0 && $alive == 1 && $errs == 0) ? 1 : 0 }")
	[ -n "$JSON_OUT" ] && printf '{"label":"%s","rate":%s,"pairs":%s,"prewarm":%s,"max_transactions":%s,"sent":%s,"answered_202":%s,"failed":%s,"msgs_202_per_s":%s,"sends_per_s":%s,"sends_total":%s,"lost":%s,"unanswered":%s,"queue_full_503":%s,"answered_503":%s,"rt_p50_ms":%s,"rt_p99_ms":%s,"rt_mean_ms":%s,"rcsgw_alive":%s,"gateway_sessions":%s,"sink":%s}\n' \
		"$label" "$rate" "$npairs" "$prewarm" "$txn" "$sent" "$ok" "$failed" "${r202:-null}" \
		"$sends" "$main" "$lost" "$unans" "$q503" "$a503" "$p50" "$p99" "$mean" "$alive" "$alive_s" "$out" >>"$JSON_OUT"
	echo "bench-gateway: $label ${rate}/s x$npairs: 202 $ok/$sent ($pct %) at ${r202:-?}/s (sipp sent ${rsent}/s), sink ${sends}/s, lost $lost, unanswered $unans, 503 queue full $q503 / transactions $a503, rt p50 $p50 p99 $p99 mean $mean ms, rcsgw $(fmt "$cpu" 1) us/msg, rss +${rssb:-?} B/msg, rcsgw alive $alive with $alive_s gateway sessions, sink errors $errs" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" \
		"$rate" "$npairs" "${r202:-}" "$sends" "$pct" "$lost" "$unans" "$a503" "$p50" \
		"$p99" "$mean" "$cpu" "$sutc" "$oth" "${rssb:-}" "$((1 - alive))" "$q503" >>"$TMP/runs"
	PASS=$pass
}

# point LABEL RATE PAIRS RUNS [PREWARM [TXN]]: RUNS runs, one row of the table; PASSED =
# the runs that passed
point() {
	: >"$TMP/runs"
	r=0 PASSED=0
	while [ $r -lt "$4" ]; do
		PASS=0
		run_once "$2" "$3" "${5:-1}" "${6:-$TXN}" "$1"
		PASSED=$((PASSED + PASS))
		r=$((r + 1))
	done
	# median (min–max) per column over the runs that worked; counts summed
	awk -F'\t' -v label="$1" -v rate="$2" -v pairs="$3" '
		function spread(col, d,    n, i, j, t, v) {
			n = 0
			for (i = 1; i <= ok; i++) if (val[i, col] != "" && val[i, col] != "null" && val[i, col] != "-") v[++n] = val[i, col] + 0
			if (!n) return "—"
			for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
			if (n == 1) return sprintf("%." d "f", v[1])
			return sprintf("%." d "f (%." d "f–%." d "f)", v[int((n + 1) / 2)], v[1], v[n])
		}
		$2 == "failed" { bad++; next }
		{ ok++; for (c = 2; c <= NF; c++) val[ok, c] = $c; lost += $7; unans += $8; t503 += $9; dead += $17; q503 += $18 }
		END {
			printf "| %s | %s/s | %s | %d | %s | %s | %s | %d / %d | %d / %d | %s | %s | %s | %s | %s | %s | %s |%s\n",
				label, rate, pairs, ok, spread(4, 0), spread(5, 0), spread(6, 2), lost, unans, q503, t503,
				spread(10, 0), spread(11, 0), spread(12, 2), spread(13, 1), spread(14, 2), spread(15, 2),
				spread(16, 0), (bad || dead) ? sprintf(" %d run(s) failed, rcsgw died in %d", bad, dead) : ""
		}' "$TMP/runs" >>"$TMP/rows"
}

# find_max START BEST: steps up from START ×GW_STEP_FACTOR, one run each (a second one
# when it fails: noise), until a step fails; MAX = the highest step that passed, else BEST
# (START if it passed, or empty)
find_max() {
	rate=$(awk "BEGIN { printf \"%d\", $1 * $FACTOR }") MAX=$2 s=0
	while [ $s -lt "$MAX_STEPS" ]; do
		PASS=0
		: >"$TMP/runs"
		run_once "$rate" 1 1 "$TXN" step
		[ "$PASS" = 1 ] || run_once "$rate" 1 1 "$TXN" "step (again)"
		[ "$PASS" = 1 ] || break
		MAX=$rate
		rate=$(awk "BEGIN { printf \"%d\", $rate * $FACTOR }")
		s=$((s + 1))
	done
}

echo "bench-gateway: rcsgw (1 worker, sip.max_transactions $TXN) ${PIN_SUT:-unpinned}, sipp and sink ${PIN_GEN:-unpinned}; ${DUR} s windows, ${SIZE}-byte bodies, UDP" >&2
: >"$TMP/rows"
last=""
for rate in $RATES; do
	point fixed "$rate" 1 "$RUNS"
	last=$rate
done
if [ "$MAX_STEPS" -gt 0 ] && [ -n "$last" ]; then
	find_max "$last" "$([ "$PASSED" = "$RUNS" ] && echo "$last")"
	if [ -n "$MAX" ]; then
		point "max (×$FACTOR steps)" "$MAX" 1 "$RUNS"
	else
		echo "| max | below ${last}/s | | | | | | | | | | | | | | | |" >>"$TMP/rows"
	fi
fi
[ "$PAIRS" -gt 1 ] && point pairs "$PAIRS_RATE" "$PAIRS" "$RUNS"
if [ "$EXTRA" = 1 ]; then
	point "cold start (no pre-warm)" 4000 1 1 0
	point "default sip.max_transactions" 8000 1 1 1 16384
fi

echo
echo "| point | offered | pairs | runs | 202s/s (sipp) | SENDs/s (sink) | 202 % | lost / unanswered | 503s queue full / transactions | p50 ms | p99 ms | mean ms | rcsgw µs per MESSAGE | rcsgw cores | others (sipp) cores | rcsgw RSS + B per MESSAGE |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$TMP/rows"
echo
echo "Median of the runs, (min–max) across them; lost / unanswered / 503s summed over the runs"
echo "(503s: gateway.max_queued full while a session is set up / sip.max_transactions full)."
echo "202s/s: MESSAGEs answered 202 over the span of sipp's answers. SENDs/s: message SENDs at"
echo "the sink in its ${DUR} s window. lost: answered 202 and no SEND came; unanswered: a SEND"
echo "came and sipp saw no 202 (within 2 s). Response time: sipp's (MESSAGE sent -> answer) on"
echo "its 4 ms clock. rcsgw CPU: all its threads over the window, per SEND. RSS: growth over"
echo "the run per MESSAGE (completed transactions linger 32 s). others: cores busy outside"
echo "rcsgw and the sink (sipp, and noise)."
