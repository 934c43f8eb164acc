#!/bin/sh
# bench/suite.sh — `make bench`: every benchmark of rcsgw and its references in one run,
# each scenario BENCH_RUNS times, the figures as median (min–max), the ratios the project
# claims, a JSON file, a Markdown report and PNG plots in bench/results/<date>-<commit>/.
# Builds nothing (make bench builds first). It drives the per-area scripts, which keep their
# own targets and documentation (bench/README.md):
#
#   relay    bench/relay.sh: rcsgw's MSRP relay, Kamailio's msrp relay and engfwd (the bare
#            engine forwarder: this machine's limit) under the same MSRP load, one after the
#            other in every run: peak (closed loop) and light load (open loop); rcsgw also
#            with 2 workers on the same core (1 worker vs 2)
#   memory   bench/relay.sh: idle authenticated relay sessions on a fresh rcsgw, over TCP
#            (BENCH_IDLE, 100 000 asked: capped by the open-files limit) and over TLS
#            (BENCH_IDLE_TLS, 10 000): rcsgw's RSS per session
#   rest     bench/ua.sh: the MSRP user agent through the REST API: session set-up rate,
#            sessions held (RSS per live session), REST send of 100 B and 2 KiB, and the
#            IMDN round trip (rcsbench ua-send --imdn)
#   sip-message  bench/message.sh (Kamailio forwarding MESSAGE statelessly to a sipp UAS)
#            and bench/gateway.sh (rcsgw's SIP MESSAGE -> MSRP gateway to rcsbench ua-sink),
#            the same sipp client at the same rates, alternately in every run
#   diameter bench/diameter.sh: Diameter requests through the REST API to freeDiameterd
#   replication  bench/cluster.sh: REST set-up and send, relay peak and idle memory, with
#            the cluster's replication (Redis) off and on, alternately
#   engine   bench/run.sh: engfwd on io_uring and on epoll, and the harness alone
#
# Pinning (every script): the system under test on CPU 0, the generators (and Redis,
# freeDiameterd, sipp) on CPU 1. A run = every system of a scenario once, back to back, so
# the references see the same load and the same moment of the machine as rcsgw.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]  runs per scenario         BENCH_DURATION [8]  measured seconds per run
#   BENCH_SCENARIOS ["relay memory rest sip-message diameter replication engine"]
#   BENCH_IDLE [100000]  BENCH_IDLE_TLS [10000]  idle sessions (TCP capped by ulimit -n)
#   BENCH_OUT [bench/results/<UTC date>-<short commit>]   BENCH_NOTE [""] a note for the
#   report (e.g. what else ran on the machine)     BUILD [build]
#   BENCH_REPORT_ONLY [0]  1: measure nothing, make the report of BENCH_OUT's raw runs again
#
# BENCH_OUT gets: raw/*.jsonl (each script's JSON lines as they came), runs.jsonl (the same,
# tagged with scenario, system and phase), machine.json, results.json (machine, ratios, the
# groups' median/min/max and per-run values: bench/aggregate.jq, and every run), results.md
# (bench/report.jq), the plots (bench/plots.sh, *.png and their *.dat) and suite.log (the
# scripts' own tables).
# With the defaults it takes about 15 minutes on 2 cores (one run of every scenario: ~5).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RUNS=${BENCH_RUNS:-3}
DUR=${BENCH_DURATION:-8}
SCEN=" ${BENCH_SCENARIOS:-relay memory rest sip-message diameter replication engine} "
IDLE=${BENCH_IDLE:-100000}
IDLE_TLS=${BENCH_IDLE_TLS:-10000}
NOTE=${BENCH_NOTE:-}
export BUILD

for t in jq gnuplot; do
	command -v $t >/dev/null 2>&1 || { echo "bench: $t is needed (make deps)" >&2; exit 1; }
done
ONLY=${BENCH_REPORT_ONLY:-0}
[ "$ONLY" = 1 ] && [ -z "${BENCH_OUT:-}" ] && { echo "bench: BENCH_REPORT_ONLY needs BENCH_OUT" >&2; exit 2; }
for b in rcsgw rcsbench engfwd; do
	[ "$ONLY" = 1 ] || [ -x "$BUILD/$b" ] ||
		{ echo "bench: $BUILD/$b not built (make bench builds it)" >&2; exit 1; }
done

COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
SHORT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
DAY=$(date -u +%Y-%m-%d)
OUT=${BENCH_OUT:-$SRC/bench/results/$DAY-$SHORT}
mkdir -p "$OUT" || exit 1
RAW=$OUT/raw
if [ "$ONLY" != 1 ]; then
	rm -rf "$RAW"
	mkdir -p "$RAW"
fi
T0=$(date +%s)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

on() { case $SCEN in *" $1 "*) return 0 ;; esac; return 1; }
say() { echo "bench: $(date -u +%H:%M:%S) $*" >&2; }
LOG=$OUT/suite.log
FAILS=""
[ "$ONLY" = 1 ] || : >"$LOG"
[ "$ONLY" = 1 ] && SCEN=" "

# part NAME SCRIPT VAR=VALUE...: runs bench/SCRIPT with those variables; its table (stdout)
# is appended to suite.log, its progress (stderr) goes to ours
part() {
	name=$1 script=$2
	shift 2
	say "$name: $script $*"
	echo "## $name ($script $*)" >>"$LOG"
	env "$@" sh "$SRC/bench/$script" >>"$LOG"
	rc=$?
	if [ $rc -ne 0 ]; then
		say "$name: $script exited $rc"
		FAILS="$FAILS${FAILS:+, }$name ($script exit $rc)"
	fi
	echo >>"$LOG"
}

r=1
while [ "$r" -le "$RUNS" ]; do
	if on relay; then
		part "relay run $r" relay.sh RELAY_JSON="$RAW/relay.jsonl" RELAY_DURATION="$DUR" \
			RELAY_PHASES="peak light 2w" RELAY_SYSTEMS="rcsgw kamailio engfwd"
	fi
	if on memory; then
		part "memory run $r" relay.sh RELAY_JSON="$RAW/memory.jsonl" RELAY_SYSTEMS=rcsgw \
			RELAY_PHASES="idle idle-tls" RELAY_IDLE="$IDLE" RELAY_IDLE_TLS="$IDLE_TLS"
	fi
	if on sip-message; then
		part "sip-message run $r (Kamailio)" message.sh MSG_JSON="$RAW/message.jsonl" \
			MSG_SYSTEMS=kamailio MSG_RATES="1000 4000" MSG_RUNS=1 MSG_MAX_STEPS=0 \
			MSG_DURATION="$DUR"
		part "sip-message run $r (rcsgw)" gateway.sh GW_JSON="$RAW/gateway.jsonl" \
			GW_RATES="1000 4000" GW_RUNS=1 GW_MAX_STEPS=0 GW_PAIRS=0 GW_EXTRA=0 \
			GW_DURATION="$DUR"
	fi
	r=$((r + 1))
done
if on rest; then
	part rest ua.sh UA_JSON="$RAW/rest.jsonl" UA_RUNS="$RUNS" UA_DURATION="$DUR" \
		UA_SIZES="100 2048" UA_IMDN_SIZES=100
fi
if on diameter; then
	part diameter diameter.sh DM_JSON="$RAW/diameter.jsonl" DM_RUNS="$RUNS" \
		DM_CONCS="1 64" DM_DURATION="$DUR"
fi
if on replication; then
	part replication cluster.sh CLUSTER_JSON="$RAW/replication.jsonl" UA_RUNS="$RUNS" \
		UA_SEND_CONC=256 UA_DURATION="$DUR" CLUSTER_RELAY_RUNS="$RUNS" \
		CLUSTER_RELAY_IDLE=10000 RELAY_PHASES="peak idle" RELAY_DURATION="$DUR"
fi
if on engine; then
	part engine run.sh BENCH_JSON="$RAW/engine.jsonl" BENCH_DURATION="$DUR"
	# run.sh's runs are inside one invocation: run it RUNS times
	r=2
	while [ "$r" -le "$RUNS" ]; do
		part "engine run $r" run.sh BENCH_JSON="$RAW/engine.jsonl" BENCH_DURATION="$DUR"
		r=$((r + 1))
	done
fi

# ---- every run's line, tagged: scenario, system, phase ------------------------------------
tag() {
	[ -s "$RAW/$1.jsonl" ] && jq -c ". + ($2)" "$RAW/$1.jsonl"
}
{
	tag relay '{scenario: "relay", system: .label, phase: .phase}'
	tag memory '{scenario: "memory", system: .label,
		phase: (if .tls then "idle TLS" else "idle TCP" end)}'
	tag rest '{scenario: "rest", system: "rcsgw", phase: .config}'
	tag message '{scenario: "sip-message", system: "kamailio stateless", phase: "\(.rate)/s"}'
	tag gateway '{scenario: "sip-message", system: "rcsgw gateway", phase: "\(.rate)/s"}
		+ ((.sink // {}) | with_entries(.key |= "sink_" + .))
		+ {msgs_per_s: .msgs_202_per_s, sut_cpu_us_per_msg: .sink.sut_cpu_us_per_msg,
		   others_cores: .sink.others_cores}' | jq -c 'del(.sink)'
	tag diameter '{scenario: "diameter", system: "rcsgw + freeDiameterd",
		phase: "\(.conc) in flight"}'
	tag replication '{scenario: "replication", system: "replication \(.replication)",
		phase: (.config // (if .mode == "msrp-idle" then "relay idle" else "relay \(.phase)" end))}'
	tag engine '{scenario: "engine", system: .label, phase: .phase}'
} >"$OUT/runs.jsonl"

RATIOS='[
 {"name": "MSRP relay peak msgs/s: rcsgw / engfwd (the bare forwarder)", "num": ["relay","rcsgw","peak","msgs_per_s"], "den": ["relay","engfwd","peak","msgs_per_s"], "target": "≥ 0.5", "read": "higher is better"},
 {"name": "MSRP relay peak msgs/s: rcsgw / Kamailio msrp", "num": ["relay","rcsgw","peak","msgs_per_s"], "den": ["relay","kamailio","peak","msgs_per_s"], "target": "≥ 10", "read": "higher is better"},
 {"name": "MSRP relay CPU per message, light load: rcsgw / engfwd", "num": ["relay","rcsgw","light","sut_cpu_us_per_msg"], "den": ["relay","engfwd","light","sut_cpu_us_per_msg"], "target": "≤ 1.10", "read": "lower is better"},
 {"name": "MSRP relay CPU per message, light load: rcsgw / Kamailio msrp", "num": ["relay","rcsgw","light","sut_cpu_us_per_msg"], "den": ["relay","kamailio","light","sut_cpu_us_per_msg"], "target": "", "read": "lower is better"},
 {"name": "MSRP relay p50 latency, light load: rcsgw / engfwd", "num": ["relay","rcsgw","light","lat_p50_us"], "den": ["relay","engfwd","light","lat_p50_us"], "target": "", "read": "lower is better"},
 {"name": "MSRP relay peak: rcsgw 2 workers / 1 worker (same core)", "num": ["relay","rcsgw 2w","peak","msgs_per_s"], "den": ["relay","rcsgw","peak","msgs_per_s"], "target": "", "read": "info"},
 {"name": "SIP MESSAGE CPU per message at 1000/s: rcsgw gateway (to MSRP) / Kamailio stateless forward", "num": ["sip-message","rcsgw gateway","1000/s","sut_cpu_us_per_msg"], "den": ["sip-message","kamailio stateless","1000/s","sut_cpu_us_per_msg"], "target": "", "read": "lower is better"},
 {"name": "SIP MESSAGE CPU per message at 4000/s: rcsgw gateway (to MSRP) / Kamailio stateless forward", "num": ["sip-message","rcsgw gateway","4000/s","sut_cpu_us_per_msg"], "den": ["sip-message","kamailio stateless","4000/s","sut_cpu_us_per_msg"], "target": "", "read": "lower is better"},
 {"name": "Idle relay session bytes: TLS / TCP", "num": ["memory","rcsgw","idle TLS","sut_rss_per_session_b"], "den": ["memory","rcsgw","idle TCP","sut_rss_per_session_b"], "target": "", "read": "info"},
 {"name": "REST send 100 B msgs/s: with an IMDN round trip each / without", "num": ["rest","rcsgw","imdn 100 B","msgs_per_s"], "den": ["rest","rcsgw","send 100 B","msgs_per_s"], "target": "", "read": "higher is better"},
 {"name": "IMDN round trip p50 / REST send p50 (POST to SEND at the far end)", "num": ["rest","rcsgw","imdn 100 B","imdn_p50_us"], "den": ["rest","rcsgw","send 100 B","lat_p50_us"], "target": "", "read": "info"},
 {"name": "REST send 100 B msgs/s: replication on / off", "num": ["replication","replication on","send 100 B","msgs_per_s"], "den": ["replication","replication off","send 100 B","msgs_per_s"], "target": "≥ 0.85", "read": "higher is better"},
 {"name": "REST session set-up sessions/s: replication on / off", "num": ["replication","replication on","setup","sessions_per_s"], "den": ["replication","replication off","setup","sessions_per_s"], "target": "", "read": "higher is better"},
 {"name": "MSRP relay peak msgs/s: replication on / off", "num": ["replication","replication on","relay peak","msgs_per_s"], "den": ["replication","replication off","relay peak","msgs_per_s"], "target": "≥ 0.85", "read": "higher is better"},
 {"name": "Idle relay session bytes: replication on / off", "num": ["replication","replication on","relay idle","sut_rss_per_session_b"], "den": ["replication","replication off","relay idle","sut_rss_per_session_b"], "target": "", "read": "info"},
 {"name": "Diameter, 64 in flight: rcsgw CPU / freeDiameterd CPU per request", "num": ["diameter","rcsgw + freeDiameterd","64 in flight","sut_cpu_us_per_req"], "den": ["diameter","rcsgw + freeDiameterd","64 in flight","peer_cpu_us_per_req"], "target": "", "read": "info"},
 {"name": "engfwd peak msgs/s: io_uring / epoll", "num": ["engine","engfwd io_uring","peak","msgs_per_s"], "den": ["engine","engfwd epoll","peak","msgs_per_s"], "target": "", "read": "info"}
]'

# ---- the machine, once the measuring is over ----------------------------------------------
if [ "$ONLY" != 1 ]; then
	jq -n --arg commit "$COMMIT" --arg short "$SHORT" --argjson dirty "$DIRTY" \
		--arg start "$START" --arg stop "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--argjson secs "$(($(date +%s) - T0))" \
		--arg kernel "$(uname -r)" --argjson nproc "$(nproc)" \
		--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
		--argjson mem "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" \
		--arg nofile "$(ulimit -n)" --arg load0 "$LOAD0" \
		--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
		--arg note "$NOTE" --argjson nruns "$RUNS" --argjson dur "$DUR" --arg fails "$FAILS" \
		'{commit: $commit, short: $short, uncommitted_changes: $dirty, start: $start,
		  "end": $stop, seconds: $secs, kernel: $kernel, nproc: $nproc, cpu: $cpu,
		  mem_kib: $mem, open_files_limit: $nofile, loadavg_start: $load0,
		  loadavg_end: $load1, note: $note, runs: $nruns, duration_s: $dur,
		  failed_parts: $fails}' \
		>"$OUT/machine.json" || { say "machine.json failed"; exit 1; }
fi

# ---- aggregates, report, plots --------------------------------------------------------------
jq -s --argjson spec "$RATIOS" -f "$SRC/bench/aggregate.jq" "$OUT/runs.jsonl" >"$OUT/agg.json" ||
	{ say "aggregation failed"; exit 1; }
jq -n --slurpfile runs "$OUT/runs.jsonl" --slurpfile agg "$OUT/agg.json" \
	--slurpfile m "$OUT/machine.json" '
	($runs | map(.others_cores | select(type == "number"))) as $oc
	| {machine: ($m[0] + {others_cores: {median: ($oc | sort | if length == 0 then null
							 else .[(length - 1) / 2 | floor] end),
					     max: ($oc | max), n: ($oc | length)}}),
	   ratios: $agg[0].ratios, groups: $agg[0].groups, runs: $runs}' >"$OUT/results.json" ||
	{ say "results.json failed"; exit 1; }
rm -f "$OUT/agg.json"
jq -r -f "$SRC/bench/report.jq" "$OUT/results.json" >"$OUT/results.md" ||
	{ say "results.md failed"; exit 1; }
sh "$SRC/bench/plots.sh" "$OUT" || say "plots failed"
say "done: $OUT/results.md ($(jq .machine.seconds "$OUT/results.json") s of measuring)"
cat "$OUT/results.md"
