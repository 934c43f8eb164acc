#!/bin/sh
# bench/relay.sh — `make bench-relay`: three MSRP systems under test, one after the other,
# under the same load from `rcsbench msrp-relay`, then a markdown table and the ratios of
# project issue 4. Builds nothing: run `make` first (or set BUILD).
#
#   (a) rcsgw's relay      build/rcsgw, RCSGW_ENGINE_WORKERS = SUT cores, htdigest credentials
#   (b) Kamailio's relay   kamailio -f tests/peers/kamailio-msrp.cfg, as many TCP children as
#                          SUT cores (its other processes count too: CPU summed over all)
#   (c) the bare forwarder build/engfwd --workers <SUT cores>, in front of rcsbench's own
#                          MSRP sink (--no-auth --sink): the same four frames per message
#
# The SUT is pinned with `taskset -c $RELAY_SUT_CPUS`, the generator with
# `taskset -c $RELAY_GEN_CPUS` and one engine worker per generator core.
#
# Phases per SUT: peak (closed loop, RELAY_PAIRS pairs x RELAY_WINDOW SENDs in flight) and
# light (open loop, RELAY_RATE msgs/s over RELAY_LIGHT_PAIRS pairs). For rcsgw also: open loop
# at half its measured peak (p99 there), peak with RELAY_WORKERS2 workers, and the memory
# phase (RELAY_IDLE idle authenticated sessions from a fresh rcsgw; RSS delta per session),
# and with RELAY_IDLE_TLS > 0 the same over TLS (rcsgw's msrps.listen with a throw-away
# certificate made by openssl; rcsbench msrp-idle --tls). RELAY_PHASES picks the phases.
#
# Environment (defaults in brackets):
#   RELAY_DURATION [5]  measured seconds per run     RELAY_WARMUP [1]  seconds not measured
#   RELAY_PAIRS [64]  RELAY_WINDOW [16]              peak (closed loop)
#   RELAY_RATE [5000]  RELAY_LIGHT_PAIRS [16]        light (open loop)
#   RELAY_SIZE [200]  body bytes                     RELAY_PATH [single]  single|double
#   RELAY_SUT_CPUS [0]  RELAY_GEN_CPUS [1]           core lists for taskset
#   RELAY_WORKERS2 [2]  rcsgw workers in the extra peak run (same SUT cores)
#   RELAY_IDLE [100000]  idle sessions (0: skip)     RELAY_SYSTEMS ["rcsgw kamailio engfwd"]
#   RELAY_IDLE_TLS [0]  idle TLS sessions (0: skip)
#   RELAY_PHASES ["peak light half 2w idle idle-tls"]  the phases to run (rcsgw: all of them;
#                       Kamailio and engfwd: peak and light)
#   RELAY_KAMAILIO_CFG [tests/peers/kamailio-msrp.cfg]
#   RELAY_JSON [unset]  file to append every run's JSON line to
#   BUILD [build]
# With the defaults the whole script takes about 2 minutes.
set -u

BUILD=${BUILD:-build}
DUR=${RELAY_DURATION:-5}
WARM=${RELAY_WARMUP:-1}
PAIRS=${RELAY_PAIRS:-64}
WINDOW=${RELAY_WINDOW:-16}
RATE=${RELAY_RATE:-5000}
LPAIRS=${RELAY_LIGHT_PAIRS:-16}
SIZE=${RELAY_SIZE:-200}
RPATH=${RELAY_PATH:-single}
SUT_CPUS=${RELAY_SUT_CPUS:-0}
GEN_CPUS=${RELAY_GEN_CPUS:-1}
WORKERS2=${RELAY_WORKERS2:-2}
IDLE=${RELAY_IDLE:-100000}
IDLE_TLS=${RELAY_IDLE_TLS:-0}
PHASES=" ${RELAY_PHASES:-peak light half 2w idle idle-tls} "
SYSTEMS=${RELAY_SYSTEMS:-rcsgw kamailio engfwd}
KAM_CFG=${RELAY_KAMAILIO_CFG:-tests/peers/kamailio-msrp.cfg}
JSON_OUT=${RELAY_JSON:-}
USER_NAME=bench
PASSWORD=bench-secret
REALM=bench.test

GW=$BUILD/rcsgw
FWD=$BUILD/engfwd
GEN=$BUILD/rcsbench
for b in "$GW" "$FWD" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "bench-relay: $b not built (run make first, or set BUILD)" >&2
		exit 1
	fi
done
if ! command -v taskset >/dev/null 2>&1; then
	echo "bench-relay: taskset (util-linux) is needed to pin the SUT and the generator" >&2
	exit 1
fi

# cores in a taskset list ("0", "0-3", "0,2-3")
ncores() {
	printf '%s\n' "$1" | tr ',' '\n' | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }'
}
NSUT=$(ncores "$SUT_CPUS")
NGEN=$(ncores "$GEN_CPUS")
PIN_SUT="taskset -c $SUT_CPUS"
PIN_GEN="taskset -c $GEN_CPUS"

. "$(dirname "$0")/common.sh"
bench_init rcsgw-relay

# a TCP port nobody listens on (from the ephemeral range's neighbourhood)
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# started NAME PID PORT: PID (just started, stderr in $TMP/NAME.err) is ours; waits until
# something listens on PORT (10 s) while PID lives. Otherwise says why, stops it, returns 1.
started() {
	PIDS="$PIDS $2"
	i=0
	while [ $i -lt 100 ]; do
		if ss -Hltn "sport = :$3" 2>/dev/null | grep -q .; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench-relay: $1 did not start:" >&2
	sed 's/^/  /' "$TMP/$1.err" >&2
	stop "$2"
	return 1
}

# PID and all its descendants, comma-separated
pid_tree() {
	out=$1
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		out="$out,$(pid_tree "$c")"
	done
	echo "$out"
}

ROWS=""
LAST=""   # JSON of the last run ("" when it failed)
LAST_RC=0
# measure SUT_LABEL PHASE DESC SUT_PIDS ARGS...: runs rcsbench msrp-relay, adds a row.
measure() {
	label=$1 phase=$2 desc=$3 sut=$4
	shift 4
	limit=$(awk "BEGIN { printf \"%d\", $DUR + $WARM + 60 }")
	out=$(timeout "$limit" $PIN_GEN "$GEN" msrp-relay --workers "$NGEN" --size "$SIZE" \
		--duration "$DUR" --warmup "$WARM" --sut-pid "$sut" --json "$@" 2>"$TMP/gen.err")
	LAST_RC=$?
	LAST=""
	if [ $LAST_RC -eq 4 ]; then
		code=$(field "$out" auth_refused)
		echo "bench-relay: $label $phase: AUTH refused ($code): no relay with these credentials in this build" >&2
		ROWS="$ROWS| $label | $phase | $desc | AUTH refused ($code) | | | | | | | | | | |
"
		return
	fi
	if [ -z "$out" ] || [ -z "$(field "$out" msgs_per_s)" ]; then
		echo "bench-relay: $label $phase: rcsbench failed (exit $LAST_RC):" >&2
		sed 's/^/  /' "$TMP/gen.err" >&2
		ROWS="$ROWS| $label | $phase | $desc | failed (exit $LAST_RC) | | | | | | | | | | |
"
		return
	fi
	LAST=$out
	[ -n "$JSON_OUT" ] && printf '{"label":"%s","phase":"%s",%s\n' "$label" "$phase" "${out#\{}" >>"$JSON_OUT"
	echo "bench-relay: $label $phase: $(fmt "$(field "$out" msgs_per_s)" 0) msgs/s, p99 $(fmt "$(field "$out" lat_p99_us)" 1) us, SUT $(fmt "$(field "$out" sut_cpu_us_per_msg)" 2) us/msg, lost $(field "$out" lost)" >&2
	rss=$(field "$out" sut_rss_kib)
	case $rss in '' | null) rssm='—' ;; *) rssm=$(awk "BEGIN { printf \"%.1f\", $rss / 1024 }") ;; esac
	errs=$(awk "BEGIN { print $(field "$out" verify_errors) + $(field "$out" conn_errors) + $(field "$out" rejects) + $(field "$out" bad_tid) }")
	ROWS="$ROWS| $label | $phase | $desc | $(fmt "$(field "$out" msgs_per_s)" 0) | $(fmt "$(field "$out" lat_p50_us)" 1) | $(fmt "$(field "$out" lat_p99_us)" 1) | $(fmt "$(field "$out" lat_p999_us)" 1) | $(fmt "$(field "$out" sut_cpu_us_per_msg)" 2) | $(pct "$(field "$out" sut_cpu_cores)") | $(pct "$(field "$out" gen_cpu_cores)") | $(field "$out" lost) / $errs | $rssm | $(fmt "$(field "$out" sut_rss_per_session_b)" 0) | $(fmt "$(field "$out" others_cores)" 2) |
"
}

# the usual loads
peak_args() { echo "--pairs $PAIRS --window $WINDOW --path $RPATH"; }
light_args() { echo "--pairs $LPAIRS --rate $RATE --path $RPATH"; }
AUTH_ARGS="--user $USER_NAME --password $PASSWORD --realm $REALM"

# value holders for the ratios
GW_PEAK="" GW_LIGHT_CPU="" GW_HALF_P99="" GW_PEAK2="" GW_IDLE_B="" GW_REFUSED=""
KAM_PEAK="" FWD_PEAK="" FWD_LIGHT_CPU=""

# rcsgw: start_gw WORKERS sets GW_PID and GW_PORT (or returns 1). Every session of the bench
# is one user from 127.0.0.x: rcsgw's per-user and per-IP session limits (abuse guards,
# 100 and 10 000 by default) are raised above the bench's session count.
GW_PER_LIMIT=$((2 * PAIRS + IDLE + IDLE_TLS + 1000))
HTD=$TMP/htdigest
printf '%s:%s:%s\n' "$USER_NAME" "$REALM" \
	"$(printf '%s:%s:%s' "$USER_NAME" "$REALM" "$PASSWORD" | md5sum | cut -d' ' -f1)" >"$HTD"
start_gw() {
	GW_PORT=$(free_port)
	api=$(free_port)
	while [ "$api" = "$GW_PORT" ]; do
		api=$(free_port)
	done
	RCSGW_ENGINE_WORKERS=$1 RCSGW_MSRP_LISTEN=127.0.0.1:$GW_PORT \
		RCSGW_API_LISTEN=127.0.0.1:$api RCSGW_SIP_LISTEN= RCSGW_MSRPS_LISTEN=$GW_TLS_LISTEN \
		RCSGW_MSRPS_CERT=$TMP/cert.pem RCSGW_MSRPS_KEY=$TMP/key.pem \
		RCSGW_RELAY_CREDENTIALS_FILE=$HTD RCSGW_RELAY_REALM=$REALM RCSGW_LOG_LEVEL=warn \
		RCSGW_RELAY_MAX_SESSIONS_PER_USER=$GW_PER_LIMIT RCSGW_RELAY_MAX_SESSIONS_PER_IP=$GW_PER_LIMIT \
		$PIN_SUT "$GW" >"$TMP/rcsgw.out" 2>"$TMP/rcsgw.err" &
	GW_PID=$!
	started rcsgw "$GW_PID" "$GW_PORT"
}
GW_TLS_LISTEN=""
# has PHASE: is PHASE among RELAY_PHASES?
has() {
	case $PHASES in *" $1 "*) return 0 ;; esac
	return 1
}
has idle || IDLE=0
has idle-tls || IDLE_TLS=0
if [ "$IDLE_TLS" -gt 0 ] && ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 -subj /CN=127.0.0.1 \
	>/dev/null 2>&1; then
	echo "bench-relay: openssl could not make a certificate: no TLS idle phase" >&2
	IDLE_TLS=0
fi

# idle_phase LABEL N PORT [--tls]: N idle authenticated sessions on a fresh rcsgw (already
# started: GW_PID) at PORT; one row; the bytes per session in IDLE_B.
idle_phase() {
	ilabel=$1 n=$2 iport=$3
	shift 3
	limit=$((n / 1000 + 90))
	out=$(timeout "$limit" $PIN_GEN "$GEN" msrp-idle --relay "127.0.0.1:$iport" \
		--sessions "$n" $AUTH_ARGS --sut-pid "$GW_PID" --json "$@" 2>"$TMP/idle.err")
	rc=$?
	[ -n "$JSON_OUT" ] && [ -n "$out" ] &&
		printf '{"label":"rcsgw","phase":"%s",%s\n' "$ilabel" "${out#\{}" >>"$JSON_OUT"
	IDLE_B=$(field "$out" sut_rss_per_session_b)
	echo "bench-relay: rcsgw $ilabel: $(field "$out" authenticated) of $n sessions, $(fmt "$IDLE_B" 0) B/session (exit $rc)" >&2
	[ $rc -ne 0 ] && sed 's/^/  /' "$TMP/idle.err" >&2
	ROWS="$ROWS| rcsgw | $ilabel | $(field "$out" authenticated) of $n sessions | | | | | | | | | $(fmt "$(field "$out" sut_rss_kib)" 0) KiB | $(fmt "$IDLE_B" 0) | |
"
}

# raise the fd limit for the idle phase (root can; both the SUT and the generator inherit it)
if [ "$IDLE" -gt 0 ] || [ "$IDLE_TLS" -gt 0 ]; then
	need=$(( (IDLE > IDLE_TLS ? IDLE : IDLE_TLS) + 1000))
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
		ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
	fi
	have=$(ulimit -n)
	if [ "$have" != unlimited ] && [ "$have" -lt "$need" ]; then
		[ "$IDLE" -gt $((have - 1000)) ] && IDLE=$((have - 1000))
		[ "$IDLE_TLS" -gt $((have - 1000)) ] && IDLE_TLS=$((have - 1000))
		[ "$IDLE" -lt 0 ] && IDLE=0
		[ "$IDLE_TLS" -lt 0 ] && IDLE_TLS=0
		echo "bench-relay: open files limited to $have (raising the hard limit needs CAP_SYS_RESOURCE): $IDLE idle sessions, $IDLE_TLS over TLS" >&2
	fi
fi

echo "bench-relay: SUT on CPU $SUT_CPUS ($NSUT core(s)), generator on CPU $GEN_CPUS ($NGEN worker(s)); ${DUR} s per run after ${WARM} s warm-up, ${SIZE}-byte bodies, path $RPATH" >&2

for sys in $SYSTEMS; do
	case $sys in
	rcsgw)
		if has peak || has light || has half; then
			start_gw "$NSUT" || { ROWS="$ROWS| rcsgw | (could not start) | | | | | | | | | | | | |
"; continue; }
		fi
		if has peak || has half; then
			measure rcsgw peak "closed ${PAIRS}x${WINDOW}" "$GW_PID" $(peak_args) $AUTH_ARGS \
				--relay "127.0.0.1:$GW_PORT"
			if [ $LAST_RC -eq 4 ]; then
				GW_REFUSED=yes
				stop "$GW_PID"
				continue
			fi
			GW_PEAK=$(field "$LAST" msgs_per_s)
		fi
		if has light; then
			measure rcsgw light "open ${RATE}/s" "$GW_PID" $(light_args) $AUTH_ARGS \
				--relay "127.0.0.1:$GW_PORT"
			GW_LIGHT_CPU=$(field "$LAST" sut_cpu_us_per_msg)
		fi
		if has half && [ -n "$GW_PEAK" ]; then
			half=$(awk "BEGIN { printf \"%d\", $GW_PEAK / 2 }")
			measure rcsgw half-peak "open ${half}/s" "$GW_PID" --pairs "$PAIRS" --rate "$half" \
				--path "$RPATH" $AUTH_ARGS --relay "127.0.0.1:$GW_PORT"
			GW_HALF_P99=$(field "$LAST" lat_p99_us)
		fi
		[ -n "${GW_PID:-}" ] && stop "$GW_PID"
		GW_PID=""
		if has 2w && start_gw "$WORKERS2"; then
			measure "rcsgw ${WORKERS2}w" peak "closed ${PAIRS}x${WINDOW}" "$GW_PID" $(peak_args) \
				$AUTH_ARGS --relay "127.0.0.1:$GW_PORT"
			GW_PEAK2=$(field "$LAST" msgs_per_s)
			stop "$GW_PID"
		fi
		if [ "$IDLE" -gt 0 ] && start_gw "$NSUT"; then
			idle_phase idle "$IDLE" "$GW_PORT"
			GW_IDLE_B=$IDLE_B
			stop "$GW_PID"
		fi
		if [ "$IDLE_TLS" -gt 0 ]; then
			GW_TLS_LISTEN=127.0.0.1:$(free_port)
			if start_gw "$NSUT"; then
				idle_phase idle-tls "$IDLE_TLS" "${GW_TLS_LISTEN#*:}" --tls
				GW_IDLE_TLS_B=$IDLE_B
				stop "$GW_PID"
			fi
			GW_TLS_LISTEN=""
		fi
		;;
	kamailio)
		if ! command -v kamailio >/dev/null 2>&1 || [ ! -f "$KAM_CFG" ]; then
			echo "bench-relay: kamailio or $KAM_CFG missing: skipped" >&2
			ROWS="$ROWS| kamailio | (not available) | | | | | | | | | | | | |
"
			continue
		fi
		kport=$(free_port)
		mkdir -p "$TMP/kam"
		$PIN_SUT kamailio -f "$KAM_CFG" -DD -E -Y "$TMP/kam" -m 256 \
			-A MSRP_PORT="$kport" -A "MSRP_REALM=\"$REALM\"" -A "MSRP_USER=\"$USER_NAME\"" \
			-A "MSRP_PASSWORD=\"$PASSWORD\"" -A MSRP_CHILDREN="$NSUT" -A MSRP_DEBUG=-1 \
			>"$TMP/kamailio.out" 2>"$TMP/kamailio.err" &
		KPID=$!
		started kamailio "$KPID" "$kport" || continue
		sleep 0.5 # its children fork after the listen socket opens
		kpids=$(pid_tree "$KPID")
		if has peak; then
			measure kamailio peak "closed ${PAIRS}x${WINDOW}" "$kpids" $(peak_args) \
				--relay "127.0.0.1:$kport" $AUTH_ARGS
			KAM_PEAK=$(field "$LAST" msgs_per_s)
		fi
		has light && measure kamailio light "open ${RATE}/s" "$kpids" $(light_args) \
			--relay "127.0.0.1:$kport" $AUTH_ARGS
		stop "$KPID"
		;;
	engfwd)
		sink=$(free_port)
		: >"$TMP/fwd.out"
		$PIN_SUT "$FWD" --listen 127.0.0.1:0 --to "127.0.0.1:$sink" --workers "$NSUT" \
			>>"$TMP/fwd.out" 2>"$TMP/fwd.err" &
		FPID=$!
		PIDS="$PIDS $FPID"
		i=0
		while ! grep -q '^ready port=' "$TMP/fwd.out" && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		fport=$(sed -n 's/^ready port=\([0-9]*\).*/\1/p' "$TMP/fwd.out")
		if [ -z "$fport" ]; then
			echo "bench-relay: engfwd did not start" >&2
			stop "$FPID"
			continue
		fi
		if has peak; then
			measure engfwd peak "closed ${PAIRS}x${WINDOW}" "$FPID" $(peak_args) \
				--relay "127.0.0.1:$fport" --no-auth --sink "127.0.0.1:$sink"
			FWD_PEAK=$(field "$LAST" msgs_per_s)
		fi
		if has light; then
			measure engfwd light "open ${RATE}/s" "$FPID" $(light_args) \
				--relay "127.0.0.1:$fport" --no-auth --sink "127.0.0.1:$sink"
			FWD_LIGHT_CPU=$(field "$LAST" sut_cpu_us_per_msg)
		fi
		stop "$FPID"
		;;
	*)
		echo "bench-relay: unknown system '$sys'" >&2
		;;
	esac
done

# ratio A B [DEC]: A / B, or "—"
ratio() {
	case "$1$2" in
	*null* | '') printf -- '—' ;;
	*) if [ -z "$1" ] || [ -z "$2" ]; then printf -- '—'; else
		awk "BEGIN { if ($2 == 0) printf \"—\"; else printf \"%.${3:-2}f\", $1 / $2 }"; fi ;;
	esac
}
# verdict VALUE OP TARGET: "yes", "no" or "—"
verdict() {
	case $1 in
	'—' | '' | null) printf -- '—' ;;
	*) awk "BEGIN { print ($1 $2 $3) ? \"yes\" : \"no\" }" ;;
	esac
}

echo
echo "| SUT | phase | load | msgs/s | p50 µs | p99 µs | p99.9 µs | SUT CPU µs/msg | SUT core busy | gen core busy | lost / errors | SUT RSS MiB | RSS B/session | other procs (cores) |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$ROWS"
echo
if [ -n "$GW_REFUSED" ]; then
	echo "rcsgw refused AUTH (403): this build has no relay (or it rejects the credentials), so the"
	echo "rcsgw rows and ratios are empty."
	echo
fi
r_kam=$(ratio "$GW_PEAK" "$KAM_PEAK" 1)
r_fwd=$(ratio "$GW_PEAK" "$FWD_PEAK")
r_cpu=$(ratio "$GW_LIGHT_CPU" "$FWD_LIGHT_CPU")
r_2w=$(ratio "$GW_PEAK2" "$GW_PEAK")
echo "| ratio (issue 4) | value | target | met |"
echo "|---|---:|---:|:---:|"
echo "| rcsgw peak / Kamailio peak | $r_kam | ≥ 10 | $(verdict "$r_kam" '>=' 10) |"
echo "| rcsgw peak / engfwd peak | $r_fwd | ≥ 0.5 | $(verdict "$r_fwd" '>=' 0.5) |"
echo "| rcsgw / engfwd CPU per message, light load | $r_cpu | ≤ 1.10 | $(verdict "$r_cpu" '<=' 1.10) |"
echo "| rcsgw p99 at half its peak (µs) | $(fmt "$GW_HALF_P99" 1) | < 1000 | $(verdict "${GW_HALF_P99:-—}" '<' 1000) |"
echo "| rcsgw bytes per idle session | $(fmt "$GW_IDLE_B" 0) | ≤ 2048 | $(verdict "${GW_IDLE_B:-—}" '<=' 2048) |"
[ -n "${GW_IDLE_TLS_B:-}" ] && echo "| rcsgw bytes per idle TLS session | $(fmt "$GW_IDLE_TLS_B" 0) | (info) | |"
echo "| rcsgw peak ${WORKERS2} workers / ${NSUT} | $r_2w | (info) | |"
echo
echo "SUT pinned to CPU $SUT_CPUS, generator to CPU $GEN_CPUS. Latency: SEND sent -> arrival at the"
echo "receiver. SUT CPU: all its threads (Kamailio: all its processes) per delivered message."
echo "lost: sent - delivered after a drain; errors: wrong bytes/order, lost connections, non-200"
echo "answers. engfwd runs in front of rcsbench's own MSRP sink (same four frames per message)."
echo "A core near 100 % busy is the limit of a closed-loop row (gen core: the generator's)."
echo "other procs: cores kept busy by processes outside the bench during the window (noise)."
