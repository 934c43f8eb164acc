#!/bin/sh
# bench/message.sh — `make bench-message`: SIP MESSAGE (RFC 3428, page mode) throughput and
# response time through a SIP hop, the reference for rcsgw's MESSAGE ⇄ MSRP gateway
# (issue 6). The load is sipp tests/peers/sipp/uac_message.xml (one MESSAGE per call, open
# loop at a fixed rate) → the system under test → sipp tests/peers/sipp/uas_message.xml
# (-set quiet 1: answers 200, parses and logs nothing). Systems:
#
#   kamailio   tests/peers/kamailio-message.cfg: forward() without tm, no transaction
#              state: the cheapest correct SIP hop, the upper bound for SIP handling here
#   rcsgw      the gateway: a hook below, empty until issue 6's gateway lands
#
# For each system: each rate of MSG_RATES, then the highest rate the chain sustains, found
# by stepping up from the last fixed rate (×MSG_STEP_FACTOR, one MSG_STEP_DURATION run per
# step) until fewer than 97 % of the MESSAGEs offered are answered per second or more than
# 0.1 % of the calls fail; every rate (fixed and max) is then run MSG_RUNS times and
# reported as median (min–max).
#
# Per run: MESSAGEs answered per second (from the rows of sipp's -trace_rtt: answers / the
# time between the first and the last), response time p50 / p99 / mean (sipp's response
# time 1: MESSAGE sent -> final response, read on sipp's coarse clock: 4 ms steps on this
# kernel, so percentiles are 0 or multiples of 4 ms; the mean averages the steps out), the
# SUT's CPU per answered MESSAGE (SuccessfulCall of sipp's statistics; all the SUT's
# processes, from /proc/PID/task/*/schedstat, request and response together), how busy the
# SUT's and the generator's cores were, and calls that failed (no answer within 2 s, or
# not a 200).
# The SUT is pinned with `taskset -c $MSG_SUT_CPUS`, both sipps with `taskset -c
# $MSG_GEN_CPUS`. UDP only; sipp does not retransmit (-nr): a MESSAGE lost is a failure,
# not more load.
#
# Environment (defaults in brackets):
#   MSG_SYSTEMS ["kamailio rcsgw"]  MSG_RATES ["1000 5000"]  MSG_RUNS [3]
#   MSG_DURATION [5]  seconds per run           MSG_SIZE [100]  body bytes (uac_message size)
#   MSG_STEP_FACTOR [1.25]  MSG_STEP_DURATION [3]  MSG_MAX_STEPS [12]  (0 steps: no max row)
#   MSG_SUT_CPUS [0]  MSG_GEN_CPUS [1]  core lists for taskset
#   MSG_CHILDREN [cores in MSG_SUT_CPUS]  Kamailio UDP workers
#   MSG_SIPP_BUF [4194304]  sipp's socket buffers (-buff_size; the kernel caps it at
#                       net.core.rmem_max): with sipp's default (64 KiB) the UAS drops
#                       datagrams in bursts from 5000/s on, while the SUT idles
#   MSG_KAM_MEM [tlsf]  Kamailio's memory manager (-x): the package default, qm, costs
#                       ~4x the CPU per MESSAGE here (its q_malloc dominates the profile)
#   MSG_JSON [unset]  file to append one JSON line per run to
#   BUILD [build]
# With the defaults, one system takes about 2 minutes.
set -u

BUILD=${BUILD:-build}
SYSTEMS=${MSG_SYSTEMS:-kamailio rcsgw}
RATES=${MSG_RATES:-1000 5000}
RUNS=${MSG_RUNS:-3}
DUR=${MSG_DURATION:-5}
SIZE=${MSG_SIZE:-100}
FACTOR=${MSG_STEP_FACTOR:-1.25}
STEP_DUR=${MSG_STEP_DURATION:-3}
MAX_STEPS=${MSG_MAX_STEPS:-12}
SUT_CPUS=${MSG_SUT_CPUS:-0}
GEN_CPUS=${MSG_GEN_CPUS:-1}
JSON_OUT=${MSG_JSON:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SF_UAC=$SRC/tests/peers/sipp/uac_message.xml
SF_UAS=$SRC/tests/peers/sipp/uas_message.xml
KAM_CFG=$SRC/tests/peers/kamailio-message.cfg
SIPP=$(command -v sipp || true)

if [ -z "$SIPP" ]; then
	echo "bench-message: sipp (package sip-tester) is needed" >&2
	exit 1
fi
for t in taskset ss; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "bench-message: $t is needed" >&2
		exit 1
	fi
done
if [ ! -x /usr/bin/time ]; then
	echo "bench-message: /usr/bin/time (package time) is needed for the generator's CPU" >&2
	exit 1
fi

# cores in a taskset list ("0", "0-3", "0,2-3")
ncores() {
	printf '%s\n' "$1" | tr ',' '\n' | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }'
}
NSUT=$(ncores "$SUT_CPUS")
CHILDREN=${MSG_CHILDREN:-$NSUT}
KAM_MEM=${MSG_KAM_MEM:-tlsf}
SIPP_BUF=${MSG_SIPP_BUF:-4194304}
PIN_SUT="taskset -c $SUT_CPUS"
PIN_GEN="taskset -c $GEN_CPUS"

. "$(dirname "$0")/common.sh"
bench_init rcsgw-message

# a port free for UDP (and TCP)
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# started NAME PID PORT LOG: PID (just started, its output in LOG) is ours; waits up to 5 s
# until something has UDP PORT bound. Otherwise says why, stops PID and returns 1.
started() {
	PIDS="$PIDS $2"
	i=0
	while [ $i -lt 50 ]; do
		ss -Hlun "sport = :$3" 2>/dev/null | grep -q . && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench-message: $1 did not start:" >&2
	tail -20 "$4" | sed 's/^/  /' >&2
	stop "$2"
	return 1
}

# PID and all its descendants, blank-separated
pid_tree() {
	out=$1
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		out="$out $(pid_tree "$c")"
	done
	echo "$out"
}

# cpu_ns PIDS: CPU time of every thread of PIDS (blank-separated), ns
cpu_ns() {
	for p in $1; do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# spread LIST DIGITS: "median (min–max)" of the numbers in LIST ("—" when none)
spread() {
	printf '%s\n' $1 | grep -E '^-?[0-9.]+$' | sort -g | awk -v d="$2" '
		{ x[NR] = $1 }
		END {
			if (!NR) { printf "—"; exit }
			m = x[int((NR + 1) / 2)]
			if (NR == 1) printf "%." d "f", m
			else printf "%." d "f (%." d "f–%." d "f)", m, x[1], x[NR]
		}'
}

# --- the systems under test: each sets SUT_TARGET (host:port the UAC sends to) and
# SUT_PIDS (every process whose CPU counts), with the UAS listening on UAS_PORT.

# kamailio: started once per system, stateless forward() to the UAS
sut_kamailio_start() {
	if ! command -v kamailio >/dev/null 2>&1 || [ ! -f "$KAM_CFG" ]; then
		echo "bench-message: kamailio or $KAM_CFG missing: skipped" >&2
		return 1
	fi
	kport=$(free_port)
	mkdir -p "$TMP/kam"
	$PIN_SUT kamailio -f "$KAM_CFG" -DD -E -Y "$TMP/kam" -m 256 -x "$KAM_MEM" -A MSG_PORT="$kport" \
		-A "MSG_DEST=\"sip:127.0.0.1:$UAS_PORT\"" -A MSG_CHILDREN="$CHILDREN" \
		-A MSG_DEBUG=-1 >"$TMP/kamailio.out" 2>"$TMP/kamailio.err" &
	KPID=$!
	started kamailio "$KPID" "$kport" "$TMP/kamailio.err" || return 1
	sleep 0.5 # its children fork after the socket is bound
	SUT_TARGET=127.0.0.1:$kport
	SUT_PIDS=$(pid_tree "$KPID")
	SUT_STOP=$KPID
}

# rcsgw gateway: added when issue 6's gateway lands.
# What goes here: start $BUILD/rcsgw pinned with $PIN_SUT (add $(BUILD)/rcsgw to the
# Makefile target's prerequisites), SIP on udp:127.0.0.1:<free port>, the gateway enabled
# and converting every MESSAGE (gateway.enabled, no rules, await_delivery as the row
# wants), and the MSRP side that the sessions reach (a generator playing the RCS phone:
# answering the INVITE and every SEND, e.g. rcsbench's ua peer); the page-mode side of
# the reverse direction is $UAS_PORT. Then set SUT_TARGET, SUT_PIDS and SUT_STOP as
# sut_kamailio_start does. Until then there is nothing to measure and no row is faked.
sut_rcsgw_start() {
	echo "bench-message: rcsgw: the SIP MESSAGE gateway (issue 6) is not in this tree yet: no rcsgw rows" >&2
	return 1
}

# run_once RATE SECONDS: one run at RATE MESSAGEs/s through the started SUT, a fresh UAS.
# Sets R_RATE R_P50 R_P99 R_MEAN R_CPU R_SUTB R_GENB R_FAIL R_SENT (empty when the run
# failed).
run_once() {
	rate=$1 secs=$2
	R_RATE="" R_P50="" R_P99="" R_MEAN="" R_CPU="" R_EST="" R_SUTB="" R_GENB="" R_FAIL="" R_SENT=""
	calls=$(awk "BEGIN { printf \"%d\", $rate * $secs }")
	limit=$(awk "BEGIN { printf \"%d\", ($rate * 3 > 1000) ? $rate * 3 : 1000 }")
	rm -rf "$TMP/uas" "$TMP/uac"
	mkdir -p "$TMP/uas" "$TMP/uac"
	(cd "$TMP/uas" && exec $PIN_GEN "$SIPP" -sf "$SF_UAS" -i 127.0.0.1 -p "$UAS_PORT" -t u1 \
		-nostdin -buff_size "$SIPP_BUF" -set quiet 1 >out 2>&1) &
	uas_pid=$!
	started "the UAS" "$uas_pid" "$UAS_PORT" "$TMP/uas/out" || return 1
	uac_port=$(free_port)
	sut0=$(cpu_ns "$SUT_PIDS")
	uas0=$(cpu_ns "$uas_pid")
	t0=$(date +%s%N)
	(cd "$TMP/uac" && exec timeout $((secs + 30)) /usr/bin/time -f '%U %S' -o time.txt \
		$PIN_GEN "$SIPP" -sf "$SF_UAC" "$SUT_TARGET" -i 127.0.0.1 -p "$uac_port" -t u1 \
		-nostdin -s bob -set size "$SIZE" -set expect_code 200 -m "$calls" -r "$rate" \
		-rp 1000 -l "$limit" -nr -recv_timeout 2000 -buff_size "$SIPP_BUF" -trace_rtt -rtt_freq 100 \
		-trace_stat -stf stat.csv -fd 1 >out 2>&1)
	uac_rc=$?
	t1=$(date +%s%N)
	sut1=$(cpu_ns "$SUT_PIDS")
	uas1=$(cpu_ns "$uas_pid")
	stop "$uas_pid"
	rtt=$(ls "$TMP"/uac/*_rtt.csv 2>/dev/null | head -1)
	if [ -z "$rtt" ] || [ ! -s "$TMP/uac/stat.csv" ]; then
		echo "bench-message: sipp UAC failed (exit $uac_rc):" >&2
		tail -5 "$TMP/uac/out" | sed 's/^/  /' >&2
		return 1
	fi
	# sipp's response times (Date_ms;response_time_ms;rtd_no; written by 100: the last
	# <100 of a run are not): the rate over the time from the first answer to the last
	awk -F';' 'NR > 1 && $2 != "" { print $2 }' "$rtt" | sort -n >"$TMP/rt.txt"
	set -- $(awk -F';' 'NR > 1 && $2 != "" { n++; if (n == 1) a = $1; b = $1 }
		END { printf "%d %s %s\n", n, a + 0, b + 0 }' "$rtt")
	rt_rows=$1 rt_first=$2 rt_last=$3
	R_RATE=$(awk "BEGIN { d = ($rt_last - $rt_first) / 1000; if (d > 0 && $rt_rows > 1) printf \"%.0f\", ($rt_rows - 1) / d }")
	set -- $(awk '{ x[NR] = $1; s += $1 } END {
		if (!NR) { print "- - -"; exit }
		p50 = int(NR * 0.50 + 0.999999); p99 = int(NR * 0.99 + 0.999999)
		printf "%s %s %.2f\n", x[p50], x[p99], s / NR }' "$TMP/rt.txt")
	R_P50=$1 R_P99=$2 R_MEAN=$3
	# calls created, succeeded and failed: the last row of the statistics
	set -- $(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
		NR > 1 { o = $col["OutgoingCall(C)"]; k = $col["SuccessfulCall(C)"]; f = $col["FailedCall(C)"] }
		END { print o + 0, k + 0, f + 0 }' "$TMP/uac/stat.csv")
	R_SENT=$1 answered=$2 R_FAIL=$3
	wall=$(awk "BEGIN { print ($t1 - $t0) / 1e9 }")
	set -- $(cat "$TMP/uac/time.txt" 2>/dev/null | tail -1)
	uac_cpu=$(awk "BEGIN { print ${1:-0} + ${2:-0} }")
	if [ "$answered" -gt 0 ]; then
		R_CPU=$(awk "BEGIN { printf \"%.2f\", ($sut1 - $sut0) / 1000 / $answered }")
	fi
	R_SUTB=$(awk "BEGIN { printf \"%.2f\", ($sut1 - $sut0) / 1e9 / $wall }")
	# what one fully busy SUT core would answer at this CPU per MESSAGE
	[ -n "$R_CPU" ] && R_EST=$(awk "BEGIN { if ($R_CPU > 0) printf \"%.0f\", 1e6 / $R_CPU }")
	R_GENB=$(awk "BEGIN { printf \"%.2f\", ($uas1 - $uas0) / 1e9 / $wall + $uac_cpu / $wall }")
	if [ -n "$JSON_OUT" ]; then
		printf '{"system":"%s","rate":%s,"seconds":%s,"size":%s,"sent":%s,"answered":%s,"failed":%s,"msgs_per_s":%s,"rt_p50_ms":%s,"rt_p99_ms":%s,"rt_mean_ms":%s,"sut_cpu_us_per_msg":%s,"sut_cores":%s,"gen_cores":%s}\n' \
			"$SYS" "$rate" "$secs" "$SIZE" "$R_SENT" "$answered" "$R_FAIL" "${R_RATE:-null}" \
			"$R_P50" "$R_P99" "$R_MEAN" "${R_CPU:-null}" "$R_SUTB" "$R_GENB" >>"$JSON_OUT"
	fi
	echo "bench-message: $SYS ${rate}/s: ${R_RATE:-?} answered/s, p50 $R_P50 ms, p99 $R_P99 ms, mean $R_MEAN ms, SUT ${R_CPU:-?} us/msg, failed $R_FAIL of $R_SENT (sut $R_SUTB, gen $R_GENB cores)" >&2
}

ROWS=""
# point LABEL RATE: MSG_RUNS runs at RATE, one row
point() {
	label=$1 rate=$2
	rates="" p50s="" p99s="" means="" cpus="" ests="" sutb="" genb="" fails=0 sent=0 ok=0
	r=1
	while [ "$r" -le "$RUNS" ]; do
		if run_once "$rate" "$DUR"; then
			ok=$((ok + 1))
			rates="$rates $R_RATE" p50s="$p50s $R_P50" p99s="$p99s $R_P99" means="$means $R_MEAN"
			cpus="$cpus $R_CPU" ests="$ests $R_EST" sutb="$sutb $R_SUTB" genb="$genb $R_GENB"
			fails=$((fails + R_FAIL)) sent=$((sent + R_SENT))
		fi
		r=$((r + 1))
	done
	ROWS="$ROWS| $SYS | $label | ${rate}/s | $ok | $(spread "$rates" 0) | $(spread "$p50s" 0) | $(spread "$p99s" 0) | $(spread "$means" 2) | $(spread "$cpus" 2) | $(spread "$ests" 0) | $(spread "$sutb" 2) | $(spread "$genb" 2) | $fails / $sent |
"
}

# find_max START: steps up from START; MAX = the highest rate that passed (empty if none)
find_max() {
	rate=$1 MAX="" s=0
	while [ "$s" -lt "$MAX_STEPS" ]; do
		run_once "$rate" "$STEP_DUR" || break
		pass=$(awk "BEGIN { print (${R_RATE:-0} >= 0.97 * $rate && $R_FAIL * 1000 <= $R_SENT) ? 1 : 0 }")
		[ "$pass" = 1 ] || break
		MAX=$rate
		rate=$(awk "BEGIN { printf \"%d\", $rate * $FACTOR }")
		s=$((s + 1))
	done
}

echo "bench-message: SUT on CPU $SUT_CPUS, both sipps on CPU $GEN_CPUS; $RUNS runs of ${DUR} s per rate, ${SIZE}-byte bodies, UDP; Kamailio: $CHILDREN UDP worker(s), -x $KAM_MEM" >&2

for SYS in $SYSTEMS; do
	UAS_PORT=$(free_port)
	SUT_STOP=""
	case $SYS in
	kamailio) sut_kamailio_start || { ROWS="$ROWS| kamailio | (not available) | | | | | | | | | | | |
"; continue; } ;;
	rcsgw) sut_rcsgw_start || { ROWS="$ROWS| rcsgw | (gateway not in this tree: issue 6) | | | | | | | | | | | |
"; continue; } ;;
	*) echo "bench-message: unknown system '$SYS'" >&2; continue ;;
	esac
	last=""
	for fixed_rate in $RATES; do
		point fixed "$fixed_rate"
		last=$fixed_rate
	done
	if [ "$MAX_STEPS" -gt 0 ] && [ -n "$last" ]; then
		find_max "$last"
		if [ -n "$MAX" ]; then
			point "max (stepped ×$FACTOR)" "$MAX"
		else
			ROWS="$ROWS| $SYS | max | below ${last}/s | | | | | | | | | | |
"
		fi
	fi
	[ -n "$SUT_STOP" ] && stop "$SUT_STOP"
done

echo
echo "| SUT | point | offered | runs | answered msgs/s | p50 ms | p99 ms | mean ms | SUT CPU µs/msg | 1 SUT core at that cost, msgs/s | SUT cores busy | gen cores busy | failed / sent (all runs) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$ROWS"
echo
echo "Median of the runs, (min–max) across them. One MESSAGE per sipp call (${SIZE}-byte body),"
echo "UDP, answered 200 by the UAS. Response time: sipp's, MESSAGE sent -> final response, on"
echo "sipp's coarse clock (4 ms steps here: p50/p99 are 0 or a multiple of 4; the mean averages"
echo "the steps out). SUT CPU: all its processes per answered MESSAGE (the request and its"
echo "response cross it); 1e6 / that is what one SUT core would answer if the cost per MESSAGE"
echo "stayed the same up to saturation (an estimate: the cost usually falls with load, as"
echo "wake-ups get shared). Both sipps share the generator's cores: a gen figure near the"
echo "number of its cores means sipp was the limit, not the SUT."
