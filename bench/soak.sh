#!/bin/sh
# bench/soak.sh — `make soak`: one rcsgw (the ASan + UBSan build, so that LeakSanitizer runs
# when it exits) with every path on, under a steady mixed load for SOAK_SECONDS, sessions
# coming and going on all of them; its RSS, fd count and sessions sampled every SOAK_SAMPLE
# seconds into a CSV and plotted. Fails (exit 1) when, after the warm-up, RSS, fds or
# sessions grow by more than SOAK_LIMIT % (median of the first SOAK_WINDOW seconds after
# SOAK_WARMUP against the median of the last SOAK_WINDOW seconds of load), when sessions do
# not drain to zero once the load stops, when a generator lost or got a wrong message, or
# when ASan / LSan / UBSan reported anything (rcsgw is stopped with SIGTERM at the end).
#
# The daemon: relay (htdigest credentials), user agent, SIP MESSAGE gateway (every MESSAGE
# converted; a pair ends SOAK_GW_TIMEOUT after its last MESSAGE), Diameter to a throw-away
# freeDiameterd (bench/fd_srv.sh), webhooks to a small receiver (python3) plus one SSE
# subscriber (GET /v1/events), replication to a redis-server started here. The load, each
# from its own loop of the normal build's rcsbench (rounds, so that processes, connections
# and sessions come and go):
#   relay    msrp-relay open loop, SOAK_RELAY_RATE msgs/s over SOAK_RELAY_PAIRS pairs, in
#            rounds of SOAK_RELAY_ROUND s (new connections and AUTHs each round)
#   setup    ua-setup: SOAK_UA_SESSIONS sessions (SOAK_UA_CONC at a time), each DELETEd once
#            up, every SOAK_UA_PERIOD s
#   send     ua-send: SOAK_SEND_SESSIONS sessions, one REST send in flight for
#            SOAK_SEND_SECONDS, every SOAK_SEND_PERIOD s
#   gateway  sipp page mode (tests/peers/sipp/uac_message.xml), SOAK_GW_RATE MESSAGEs/s
#            from SOAK_GW_USERS users in turn, to `rcsbench ua-sink` (the RCS phone)
#   diameter dm-request --rate SOAK_DM_RATE requests/s on SOAK_DM_CONC connections, in
#            rounds of SOAK_DM_ROUND s
# Rounds are cut to end at SOAK_SECONDS; then the load stops, sessions drain (up to
# SOAK_DRAIN s, sampled), rcsgw gets SIGTERM.
#
# Environment (defaults in brackets):
#   SOAK_SECONDS [1800]  SOAK_WARMUP [420]  SOAK_SAMPLE [5]  SOAK_WINDOW [300]  SOAK_LIMIT [5]
#   SOAK_DRAIN [90]  SOAK_BUILD [build-asan] rcsgw's build (ASan: LSan at exit)
#   SOAK_GEN_BUILD [build] the generators' build   SOAK_OUT [bench/results/soak-<UTC date>]
#   SOAK_RELAY_RATE [400]  SOAK_RELAY_PAIRS [8]  SOAK_RELAY_ROUND [60]  SOAK_RELAY_SIZE [200]
#   SOAK_UA_SESSIONS [20]  SOAK_UA_CONC [2]  SOAK_UA_PERIOD [5]
#   SOAK_SEND_SESSIONS [4]  SOAK_SEND_SECONDS [1]  SOAK_SEND_PERIOD [10]  SOAK_SEND_SIZE [200]
#   SOAK_GW_RATE [20]  SOAK_GW_USERS [1000]  SOAK_GW_TIMEOUT [20s]
#   SOAK_GW_ANSWER_MS [5000] a MESSAGE without its 202 within this fails (sipp -recv_timeout;
#            sipp does not retransmit: -nr); SIP itself would wait 64*T1 = 32 s
#   SOAK_DM_RATE [100]  SOAK_DM_CONC [2]  SOAK_DM_ROUND [60]
# Writes into SOAK_OUT: soak.csv (one row per sample), soak.png, summary.md, and the
# generators' JSON lines (gen-*.json).
set -u

SECS=${SOAK_SECONDS:-1800}
WARM=${SOAK_WARMUP:-420}
SAMPLE=${SOAK_SAMPLE:-5}
WIN=${SOAK_WINDOW:-300}
LIMIT=${SOAK_LIMIT:-5}
DRAIN=${SOAK_DRAIN:-90}
BUILD=${SOAK_BUILD:-build-asan}
GBUILD=${SOAK_GEN_BUILD:-build}
OUT=${SOAK_OUT:-bench/results/soak-$(date -u +%Y-%m-%d)}
RELAY_RATE=${SOAK_RELAY_RATE:-400}
RELAY_PAIRS=${SOAK_RELAY_PAIRS:-8}
RELAY_ROUND=${SOAK_RELAY_ROUND:-60}
RELAY_SIZE=${SOAK_RELAY_SIZE:-200}
UA_SESSIONS=${SOAK_UA_SESSIONS:-20}
UA_CONC=${SOAK_UA_CONC:-2}
UA_PERIOD=${SOAK_UA_PERIOD:-5}
SEND_SESSIONS=${SOAK_SEND_SESSIONS:-4}
SEND_SECONDS=${SOAK_SEND_SECONDS:-1}
SEND_PERIOD=${SOAK_SEND_PERIOD:-10}
SEND_SIZE=${SOAK_SEND_SIZE:-200}
GW_RATE=${SOAK_GW_RATE:-20}
GW_USERS=${SOAK_GW_USERS:-1000}
GW_TIMEOUT=${SOAK_GW_TIMEOUT:-20s}
GW_ANSWER_MS=${SOAK_GW_ANSWER_MS:-5000}
DM_RATE=${SOAK_DM_RATE:-100}
DM_CONC=${SOAK_DM_CONC:-2}
DM_ROUND=${SOAK_DM_ROUND:-60}
SRC=$(cd "$(dirname "$0")/.." && pwd)
REV=${SOAK_REV:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)}
GW=$BUILD/rcsgw
GEN=$GBUILD/rcsbench
REDIS=${REDIS_SERVER:-/usr/bin/redis-server}
SF_UAC=$SRC/tests/peers/sipp/uac_message.xml
USER_NAME=soak
PASSWORD=soak-secret
REALM=soak.test

fail_early() {
	echo "soak: $*" >&2
	exit 1
}
for b in "$GW" "$GEN"; do
	[ -x "$b" ] || fail_early "$b not built (make soak builds both; or set SOAK_BUILD / SOAK_GEN_BUILD)"
done
for t in sipp curl jq python3 gnuplot "$REDIS"; do
	command -v "$t" >/dev/null 2>&1 || fail_early "$t is needed (make deps)"
done
if ! readelf -d "$GW" 2>/dev/null | grep -q libasan && ! nm "$GW" 2>/dev/null | grep -q __lsan_; then
	echo "soak: $GW is not an ASan build: no leak check" >&2
fi

. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/fd_srv.sh"
fd_available || fail_early "freeDiameterd, its acl_wl extension or openssl missing (make deps)"
bench_init rcsgw-soak
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/gen-*.json "$OUT/soak.csv"

# a port free for TCP and UDP
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q . &&
			! printf ' %s ' "$USED" | grep -q " $p "; then
			USED="$USED $p"
			echo "$p"
			return
		fi
	done
}
USED=""
wait_listen() { # PORT PID SECONDS
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- the peers ------------------------------------------------------------------------
RPORT=$(free_port)
"$REDIS" --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --logfile /dev/null \
	--daemonize no &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
wait_listen "$RPORT" "$REDIS_PID" 10 || fail_early "redis-server did not start"

FD_PORT=$(free_port)
mkdir -p "$TMP/fd"
fd_start "$TMP/fd" "$FD_PORT" fd.test.local test.local '*.test.local' 1 || exit 1

# the webhook receiver: answers every POST 204 and counts them by X-Rcsgw-Event-Id (each
# event once, the same id again as a duplicate: webhooks are at least once), a POST without
# it apart; GET /count: "posts distinct duplicates without_id" so far; at SIGTERM the same
# line into argv[2], and each POST's id and event type (status.changed: its group and
# status) into argv[2].log
cat >"$TMP/hook.py" <<'EOF'
import http.server, json, signal, sys, threading
lock = threading.Lock()
seen, log = {}, []
n = {"posts": 0, "dup": 0, "noid": 0}
def counts():
    with lock:
        return "%d %d %d %d\n" % (n["posts"], len(seen), n["dup"], n["noid"])
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        eid = self.headers.get("X-Rcsgw-Event-Id")
        try:
            ev = json.loads(body)
            what = ev.get("type", "?")
            if what == "status.changed":
                what += ":%s:%s" % (ev.get("group"), ev.get("status"))
        except ValueError:
            what = "unparsable"
        with lock:
            n["posts"] += 1
            if eid is None:
                n["noid"] += 1
            elif eid in seen:
                n["dup"] += 1
            else:
                seen[eid] = 1
            log.append("%s %s" % (eid, what))
        self.send_response(204)
        self.end_headers()
    def do_GET(self):
        b = counts().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *args):
        pass
def done(*args):
    with open(sys.argv[2], "w") as f:
        f.write(counts())
    with lock, open(sys.argv[2] + ".log", "w") as f:
        f.write("\n".join(log) + "\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
EOF
HOOK_PORT=$(free_port)
python3 "$TMP/hook.py" "$HOOK_PORT" "$TMP/hook.count" 2>"$TMP/hook.err" &
HOOK_PID=$!
PIDS="$PIDS $HOOK_PID"
wait_listen "$HOOK_PORT" "$HOOK_PID" 10 || fail_early "the webhook receiver did not start"

# ---- rcsgw ------------------------------------------------------------------------------
HTD=$TMP/htdigest
printf '%s:%s:%s\n' "$USER_NAME" "$REALM" \
	"$(printf '%s:%s:%s' "$USER_NAME" "$REALM" "$PASSWORD" | md5sum | cut -d' ' -f1)" >"$HTD"
API=$(free_port)
MSRP=$(free_port)
SIP=$(free_port)
# ASan's quarantine (256 MB by default) would grow RSS for a long time by itself: 16 MB
# fills within the warm-up, after which RSS shows what rcsgw keeps
ASAN_OPTIONS=${SOAK_ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:halt_on_error=0} \
	LSAN_OPTIONS=suppressions=$SRC/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1 \
	RCSGW_ENGINE_WORKERS=2 RCSGW_LOG_LEVEL=warn \
	RCSGW_API_LISTEN=127.0.0.1:$API RCSGW_API_WEBHOOKS=http://127.0.0.1:$HOOK_PORT/hook \
	RCSGW_MSRP_LISTEN=127.0.0.1:$MSRP \
	RCSGW_SIP_LISTEN=udp:127.0.0.1:$SIP,tcp:127.0.0.1:$SIP \
	RCSGW_RELAY_CREDENTIALS_FILE=$HTD RCSGW_RELAY_REALM=$REALM \
	RCSGW_RELAY_MAX_SESSIONS_PER_USER=10000 RCSGW_RELAY_MAX_SESSIONS_PER_IP=10000 \
	RCSGW_GATEWAY_ENABLED=true RCSGW_GATEWAY_MESSAGE_TIMEOUT=$GW_TIMEOUT \
	RCSGW_DIAMETER_ORIGIN_HOST=rcsgw.test.local RCSGW_DIAMETER_RECONNECT=300ms \
	RCSGW_DIAMETER_PEERS="aaa://127.0.0.1:$FD_PORT;realm=test.local" \
	RCSGW_REDIS_URL=redis://127.0.0.1:$RPORT \
	"$GW" >"$TMP/rcsgw.out" 2>"$TMP/rcsgw.err" &
GW_PID=$!
PIDS="$PIDS $GW_PID"
if ! wait_listen "$API" "$GW_PID" 30; then
	sed 's/^/  /' "$TMP/rcsgw.err" >&2
	fail_early "rcsgw did not start"
fi
i=0
until curl -s -m 2 "http://127.0.0.1:$API/v1/diameter/peers" | grep -q '"state":"open"'; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail_early "rcsgw's Diameter peer did not open within 15 s"
	sleep 0.1
done
i=0
until [ "$(curl -s -m 2 "http://127.0.0.1:$API/v1/status" | jq -r .subsystems.redis)" = ready ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail_early "rcsgw's Redis did not get ready within 10 s"
	sleep 0.1
done

# the SSE subscriber: counts the events of the stream until rcsgw closes it
(curl -sN "http://127.0.0.1:$API/v1/events" 2>/dev/null |
	awk '/^event:/ { n++ } END { print n + 0 }' >"$TMP/sse.count") &
SSE_PID=$!

T0=$(date +%s)
END=$((T0 + SECS))
echo "soak: rcsgw $GW (pid $GW_PID), ${SECS} s of load (warm-up ${WARM} s), sample every ${SAMPLE} s, into $OUT" >&2

# ---- the load ---------------------------------------------------------------------------
# left: seconds of load left (0 when over)
left() {
	l=$((END - $(date +%s)))
	[ $l -gt 0 ] && echo $l || echo 0
}
# loop NAME PERIOD MINSECS CMD...: runs CMD every PERIOD s while at least MINSECS s of load
# are left; "$ROUND" in CMD is min(its round, what is left); JSON lines to gen-NAME.json,
# stderr to $TMP/NAME.err
loop() {
	name=$1 period=$2 min=$3
	shift 3
	while [ "$(left)" -ge "$min" ]; do
		s=$(date +%s)
		"$@" >>"$OUT/gen-$name.json" 2>>"$TMP/$name.err"
		rc=$?
		[ $rc -eq 0 ] || echo "soak: $name round at $((s - T0)) s: exit $rc" >>"$TMP/$name.err"
		n=$((s + period - $(date +%s)))
		[ $n -gt 0 ] && sleep $n
	done
}
relay_round() {
	r=$(left)
	[ "$r" -gt "$RELAY_ROUND" ] && r=$RELAY_ROUND
	timeout $((r + 60)) "$GEN" msrp-relay --relay "127.0.0.1:$MSRP" --pairs "$RELAY_PAIRS" \
		--size "$RELAY_SIZE" --rate "$RELAY_RATE" --duration "$r" --warmup 0 \
		--user "$USER_NAME" --password "$PASSWORD" --realm "$REALM" --workers 1 --no-pin \
		--drain 5 --json
}
ua_round() {
	timeout 120 "$GEN" "$@" --api "127.0.0.1:$API" --sip-listen 127.0.0.1:0 \
		--msrp-listen 127.0.0.1:0 --no-pin --json
}
loop relay "$RELAY_ROUND" 2 relay_round &
L_RELAY=$!
loop setup "$UA_PERIOD" 1 ua_round ua-setup --sessions "$UA_SESSIONS" --concurrency "$UA_CONC" &
L_SETUP=$!
loop send "$SEND_PERIOD" $((SEND_SECONDS + 1)) ua_round ua-send --sessions "$SEND_SESSIONS" \
	--concurrency 1 --size "$SEND_SIZE" --duration "$SEND_SECONDS" --warmup 0 &
L_SEND=$!
dm_round() {
	r=$(left)
	[ "$r" -gt "$DM_ROUND" ] && r=$DM_ROUND
	timeout $((r + 60)) "$GEN" dm-request --api "127.0.0.1:$API" --conc "$DM_CONC" \
		--rate "$DM_RATE" --duration "$r" --warmup 0 --no-pin --json
}
loop diameter "$DM_ROUND" 2 dm_round &
L_DM=$!
PIDS="$PIDS $L_RELAY $L_SETUP $L_SEND $L_DM"

# the gateway: the RCS phone, then sipp for the whole time (From u0..u<USERS-1> in turn)
GW_CALLS=$((GW_RATE * SECS))
"$GEN" ua-sink --sip-listen 127.0.0.1:0 --msrp-listen 127.0.0.1:0 --duration $((SECS + 30)) \
	--warmup 0 --count "$GW_CALLS" --idle 10 --timeout 60 --no-pin --json \
	>"$OUT/gen-gateway-sink.json" 2>"$TMP/sink.err" &
SINK_PID=$!
PIDS="$PIDS $SINK_PID"
SINK_SIP=""
i=0
while [ -z "$SINK_SIP" ] && [ $i -lt 100 ] && kill -0 "$SINK_PID" 2>/dev/null; do
	sleep 0.05
	SINK_SIP=$(sed -n 's/.*ready sip=[0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/sink.err")
	i=$((i + 1))
done
[ -n "$SINK_SIP" ] || fail_early "the gateway's sink did not start: $(cat "$TMP/sink.err")"
sed 's/\[\$from_user\]/[field0]/' "$SF_UAC" >"$TMP/uac_users.xml"
{ echo SEQUENTIAL; seq 0 $((GW_USERS - 1)) | sed 's/.*/u&;/'; } >"$TMP/users.csv"
mkdir -p "$TMP/sipp"
SIPP_PORT=$(free_port)
(cd "$TMP/sipp" && exec timeout $((SECS + 120)) sipp -sf "$TMP/uac_users.xml" \
	-inf "$TMP/users.csv" "127.0.0.1:$SIP" -i 127.0.0.1 -p "$SIPP_PORT" -t u1 -nostdin \
	-s s0 -set to_host "127.0.0.1:$SINK_SIP" -set size 100 -m "$GW_CALLS" -r "$GW_RATE" \
	-rp 1000 -l 1000 -nr -recv_timeout "$GW_ANSWER_MS" -buff_size 4194304 -trace_stat \
	-stf stat.csv -fd 5 -trace_err -trace_rtt \
	>out 2>&1) &
SIPP_PID=$!
PIDS="$PIDS $SIPP_PID"

# ---- the sampler ------------------------------------------------------------------------
# sum of the numbers of KEY over the JSON lines of a generator's file
gsum() {
	[ -s "$OUT/gen-$1.json" ] || { echo 0; return; }
	sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$OUT/gen-$1.json" | awk '{ s += $1 } END { print s + 0 }'
}
CSV=$OUT/soak.csv
rm -f "$OUT/stalls.txt"
# snap T: rcsgw's threads as they stand (name, state, kernel wait channel, CPU seconds so
# far, kernel stack) and the host's pressure stall figures (PSI), appended to stalls.txt: taken when /metrics (which every worker must
# answer) is not answered within a second, to tell a worker stuck in rcsgw (a state R, or
# a wait outside io_uring_enter) from one that is left waiting
snap() {
	{
		echo "== t=$1 s: /metrics not answered within 1 s"
		for f in cpu memory io; do
			echo "pressure $f: $(head -1 /proc/pressure/$f)"
		done
		for d in /proc/"$GW_PID"/task/*; do
			printf '%s %s state=%s wchan=%s cpu_s=%s\n' "${d##*/}" "$(cat "$d/comm")" \
				"$(sed 's/.*) //' "$d/stat" | cut -d' ' -f1)" "$(cat "$d/wchan")" \
				"$(sed 's/.*) //' "$d/stat" | awk '{ printf "%.2f", ($12 + $13) / 100 }')"
			sed 's/^/    /' "$d/stack"
		done
	} >>"$OUT/stalls.txt" 2>/dev/null
}
echo "t_s,phase,rss_kib,fds,threads,sessions,ua,ua_active,relay,gateway,events_held,redis_keys,relay_delivered,ua_setups,ua_msgs,gw_sink_msgs,dm_requests,webhooks_delivered,cpu_s" >"$CSV"
sample() {
	t=$(($(date +%s) - T0))
	st=$(cat "/proc/$GW_PID/status" 2>/dev/null) || return 1
	rss=$(printf '%s\n' "$st" | awk '/^VmRSS:/ { print $2 }')
	thr=$(printf '%s\n' "$st" | awk '/^Threads:/ { print $2 }')
	fds=$(ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l)
	cpu=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$GW_PID/stat" 2>/dev/null)
	(sleep 1 && snap "$t") &
	snap_pid=$!
	m=$(curl -s -m 4 "http://127.0.0.1:$API/metrics")
	kill "$snap_pid" 2>/dev/null
	set -- $(printf '%s\n' "$m" | awk '
		/^rcsgw_sessions\{/ {
			k = $1; sub(/.*kind="/, "", k); sub(/".*/, "", k)
			s = $1; sub(/.*state="/, "", s); sub(/".*/, "", s)
			n[k] += $2; all += $2
			if (k == "ua" && s != "ended" && s != "failed") act += $2
		}
		/^rcsgw_events_held / { held = $2 }
		/^rcsgw_webhook_delivered_total / { wh = $2 }
		END { printf "%d %d %d %d %d %d %d\n", all, n["ua"], act, n["relay"], n["gateway"], held, wh }')
	keys=$(redis-cli -p "$RPORT" dbsize 2>/dev/null || echo "")
	echo "$t,$PHASE,$rss,$fds,$thr,$1,$2,$3,$4,$5,$6,$keys,$(gsum relay delivered_total),$(gsum setup established_total),$(gsum send delivered_total),$(sed -n 's/.*"msgs_total":\([0-9]*\).*/\1/p' "$OUT/gen-gateway-sink.json"),$(gsum diameter requests),$7,$cpu" >>"$CSV"
	LAST="$1 $3 $4 $5 $6"
}
PHASE=load
next=$T0
while [ "$(date +%s)" -lt "$END" ]; do
	sample || break
	next=$((next + SAMPLE))
	n=$((next - $(date +%s)))
	[ $n -gt 0 ] && sleep $n
done

# ---- the end: the load stops, sessions drain ---------------------------------------------
echo "soak: load over at $(($(date +%s) - T0)) s; waiting for the generators" >&2
for p in $L_RELAY $L_SETUP $L_SEND $L_DM; do
	wait "$p"
done
# gone PID SECONDS: waits that long for PID to end by itself, then stops it
gone() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt "$2" ]; do
		sleep 1
		i=$((i + 1))
	done
	kill -0 "$1" 2>/dev/null && stop "$1"
}
gone "$SIPP_PID" 60
PHASE=drain
d0=$(date +%s)
drained=0
while [ $(($(date +%s) - d0)) -lt "$DRAIN" ]; do
	sample || break
	# drained: no session but lingering ended ones, no event held
	set -- $LAST
	if [ "$2" = 0 ] && [ "$3" = 0 ] && [ "$4" = 0 ] && [ "$5" = 0 ]; then
		drained=1
		break
	fi
	sleep "$SAMPLE"
done
DRAIN_S=$(($(date +%s) - d0))
DRAIN_LAST=${LAST:-}
gone "$SINK_PID" 30
curl -s -m 4 "http://127.0.0.1:$API/metrics" >"$OUT/metrics-end.txt"
# what the webhook receiver had by then (rcsgw's SIGTERM may add events of its own: the
# engine's status.changed "draining", POSTed while it drains)
HOOK_END=$(curl -s -m 4 "http://127.0.0.1:$HOOK_PORT/count")

# SIGTERM, and time for LSan (it scans the heap at exit)
kill -TERM "$GW_PID"
i=0
while kill -0 "$GW_PID" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$GW_PID" 2>/dev/null; then
	GW_RC=killed
	kill -KILL "$GW_PID"
	wait "$GW_PID" 2>/dev/null
else
	wait "$GW_PID"
	GW_RC=$?
fi
wait "$SSE_PID" 2>/dev/null
stop "$HOOK_PID"
fd_stop
stop "$REDIS_PID"

# ---- verdict --------------------------------------------------------------------------
FAIL=""
failed() {
	FAIL="$FAIL
- $*"
}
SAN=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$TMP/rcsgw.err" | head -20)
if [ -n "$SAN" ]; then
	failed "sanitizer report (see rcsgw.err)"
	cp "$TMP/rcsgw.err" "$OUT/rcsgw.err"
	LSAN="**reports** (rcsgw.err): $(printf '%s' "$SAN" | head -3 | tr '\n' ' ')"
else
	LSAN="clean (rcsgw exit status $GW_RC after SIGTERM, no ASan/LSan/UBSan report)"
fi
[ "$GW_RC" = 0 ] || failed "rcsgw exit status $GW_RC after SIGTERM"

# median of column COL over the load rows with FROM <= t < TO
median() {
	awk -F, -v c="$1" -v a="$2" -v b="$3" 'NR > 1 && $2 == "load" && $1 >= a && $1 < b { print $c }' "$CSV" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'
}
LAST_T=$(awk -F, '$2 == "load" { t = $1 } END { print t + 0 }' "$CSV")
A0=$WARM A1=$((WARM + WIN))
B0=$((LAST_T - WIN + 1)) B1=$((LAST_T + 1))
[ $B0 -lt $A0 ] && B0=$A0
GROWTH=""
for col in 3:RSS_KiB 4:fds 6:sessions 7:ua_sessions 9:relay_sessions 10:gateway_sessions 12:redis_keys; do
	c=${col%%:*} name=${col#*:}
	a=$(median "$c" "$A0" "$A1")
	b=$(median "$c" "$B0" "$B1")
	g=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "" || b == "") print "—"; else if (a > 0) printf "%+.1f", 100 * (b - a) / a; else print (b > 0 ? "+inf" : "0.0") }')
	GROWTH="$GROWTH| $name | $a | $b | $g % |
"
	case $name in
	RSS_KiB | fds | sessions)
		bad=$(awk -v a="$a" -v b="$b" -v l="$LIMIT" 'BEGIN { print (a == "" || b == "" || b > a * (1 + l / 100)) ? 1 : 0 }')
		[ "$bad" = 1 ] && failed "$name grew beyond $LIMIT %: median $a -> $b"
		;;
	esac
done
# rcsgw's CPU (user + system, all threads) over the compared span, in cores
CORES=$(awk -F, -v a="$A0" -v b="$B1" 'NR > 1 && $2 == "load" && $1 >= a && $1 < b {
	if (t0 == "") { t0 = $1; c0 = $19 } t1 = $1; c1 = $19 }
	END { if (t1 > t0) printf "%.2f", (c1 - c0) / (t1 - t0); else print "—" }' "$CSV")
[ "$drained" = 1 ] || failed "sessions did not drain within $DRAIN s (sessions, ua active, relay, gateway, events held: $DRAIN_LAST)"

# the generators
js() { # FILE KEY: sum over its lines
	[ -s "$1" ] || { echo 0; return; }
	sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}
rounds() { [ -s "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
gf() { echo "$OUT/gen-$1.json"; }
R_ROUNDS=$(rounds "$(gf relay)") R_SENT=$(js "$(gf relay)" sent_total) R_DEL=$(js "$(gf relay)" delivered_total)
R_BAD=$(($(js "$(gf relay)" lost) + $(js "$(gf relay)" verify_errors) + $(js "$(gf relay)" conn_errors) + $(js "$(gf relay)" rejects) + $(js "$(gf relay)" bad_tid)))
S_ROUNDS=$(rounds "$(gf setup)") S_POSTS=$(js "$(gf setup)" posts) S_UP=$(js "$(gf setup)" established_total)
S_BAD=$(($(js "$(gf setup)" failures) + $(js "$(gf setup)" delete_errors) + $(js "$(gf setup)" bye_missing) + $(js "$(gf setup)" timeouts)))
M_ROUNDS=$(rounds "$(gf send)") M_POSTED=$(js "$(gf send)" posted) M_DEL=$(js "$(gf send)" delivered_total)
M_BAD=$(($(js "$(gf send)" lost) + $(js "$(gf send)" verify_errors) + $(js "$(gf send)" duplicates) + $(js "$(gf send)" api_other) + $(js "$(gf send)" failures) + $(js "$(gf send)" delete_errors)))
D_ROUNDS=$(rounds "$(gf diameter)") D_SENT=$(js "$(gf diameter)" sent) D_OK=$(js "$(gf diameter)" ok_total)
D_BAD=$(js "$(gf diameter)" errors)
set -- $(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
	NR > 1 { o = $c["OutgoingCall(C)"]; k = $c["SuccessfulCall(C)"]; f = $c["FailedCall(C)"] }
	END { print o + 0, k + 0, f + 0 }' "$TMP/sipp/stat.csv" 2>/dev/null)
G_SENT=${1:-0} G_202=${2:-0} G_FAILED=${3:-0}
G_SINK=$(js "$(gf gateway-sink)" msgs_total)
G_LOST=$((G_202 > G_SINK ? G_202 - G_SINK : 0))
G_BAD=$((G_FAILED + G_LOST + $(js "$(gf gateway-sink)" errors)))
# sipp's own account of what failed (its statistics, its errors log) kept for a look
[ "$G_BAD" = 0 ] || cp "$TMP"/sipp/stat.csv "$TMP"/sipp/*errors.log "$OUT/" 2>/dev/null
# the 202s' response times (sipp -trace_rtt, ms): p50 p99 max
G_RTT=$(cat "$TMP"/sipp/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n |
	awk '{ v[NR] = $1 } END { if (NR) printf "%s %s %s", v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)], v[NR]; else print "— — —" }')
# MESSAGEs that got no answer in time: how many, and when (seconds of load) they timed out
G_TO=$(cat "$TMP"/sipp/*errors.log 2>/dev/null | grep -o '[0-9]*\.[0-9]*: Call-Id: [^,]*, receive timeout' |
	awk -v t0="$T0" '{ t = int($1) - t0; if (!n++ || t < a) a = t; if (t > b) b = t }
		END { if (n) printf "%d MESSAGEs timed out (at %d-%d s)", n, a, b; else print "no receive timeout" }')
# how long each worker stood still at worst: its longest replication lag (a record waits
# for its worker to write it)
W_LAG=$(awk -F'[ "]' '/^rcsgw_cluster_replication_lag_max_ms\{/ { printf "%sworker %s: %s ms", n++ ? ", " : "", $2, $NF }' \
	"$OUT/metrics-end.txt")
# the webhook receiver: POSTs, distinct events, duplicates, POSTs without an event id; at
# the last scrape (HOOK_END) and at its own end (after rcsgw's)
set -- $HOOK_END 0 0 0 0
H_POSTS=$1 H_EVENTS=$2 H_DUP=$3 H_NOID=$4
set -- $(cat "$TMP/hook.count" 2>/dev/null) 0 0 0 0
H_POSTS_ALL=$1 H_EVENTS_ALL=$2
H_LATE=$((H_EVENTS_ALL - H_EVENTS))
H_LATE_WHAT=$(tail -n "$((H_POSTS_ALL - H_POSTS))" "$TMP/hook.count.log" 2>/dev/null | cut -d' ' -f2 |
	sort | uniq -c | awk '{ printf "%s%s x%d", NR > 1 ? ", " : "", $2, $1 }')
[ "$H_POSTS_ALL" -gt "$H_POSTS" ] 2>/dev/null || H_LATE_WHAT=""
SSE=$(cat "$TMP/sse.count" 2>/dev/null || echo 0)
metric() { # NAME: summed over its series in the last scrape
	awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }' "$OUT/metrics-end.txt"
}
EV_PUB=$(metric rcsgw_events_published_total) EV_DROP=$(metric rcsgw_events_dropped_total)
WH_FAIL=$(metric rcsgw_webhook_failed_total) WH_DEL=$(metric rcsgw_webhook_delivered_total)
WH_RETRIES=$(metric rcsgw_webhook_retries_total)
[ "$R_ROUNDS" -gt 0 ] && [ "$R_DEL" -gt 0 ] || failed "relay: no round delivered anything"
[ "$R_BAD" = 0 ] || failed "relay: $R_BAD lost / wrong / rejected"
[ "$S_ROUNDS" -gt 0 ] && [ "$S_UP" -gt 0 ] || failed "ua-setup: no session came up"
[ "$S_BAD" = 0 ] || failed "ua-setup: $S_BAD failures"
[ "$M_ROUNDS" -gt 0 ] && [ "$M_DEL" -gt 0 ] || failed "ua-send: nothing delivered"
[ "$M_BAD" = 0 ] || failed "ua-send: $M_BAD lost / wrong / failed"
[ "$D_ROUNDS" -gt 0 ] && [ "$D_OK" -gt 0 ] || failed "diameter: no request answered"
[ "$D_BAD" = 0 ] || failed "diameter: $D_BAD errors"
[ "$G_202" -gt 0 ] || failed "gateway: no MESSAGE answered 202"
[ "$G_BAD" = 0 ] || failed "gateway: $G_FAILED MESSAGEs failed, $G_LOST answered 202 without their SEND"
[ "$EV_DROP" = 0 ] || failed "$EV_DROP events dropped"
[ "$WH_FAIL" = 0 ] || failed "$WH_FAIL webhook deliveries failed"
[ "$H_EVENTS" -gt 0 ] || failed "the webhook receiver got nothing"
[ "$H_EVENTS" = "$WH_DEL" ] ||
	failed "webhooks: the receiver got $H_EVENTS distinct events by the last scrape, rcsgw counted $WH_DEL delivered"
[ "$H_NOID" = 0 ] || failed "webhooks: $H_NOID POSTs without X-Rcsgw-Event-Id"
[ "$SSE" -gt 0 ] || failed "the SSE subscriber got nothing"
for f in relay setup send diameter sink hook; do
	[ -s "$TMP/$f.err" ] && grep -v '^rcsbench ua-sink: ready' "$TMP/$f.err" | grep -q . &&
		{ echo "--- $f"; tail -5 "$TMP/$f.err"; }
done >"$OUT/generators.err"
[ -s "$OUT/generators.err" ] || rm -f "$OUT/generators.err"
grep -v '^$' "$TMP/rcsgw.err" | grep -c . >"$TMP/warn.count"
# the warnings themselves, with their times (a stall may follow one: a write to the log)
if [ -s "$TMP/rcsgw.err" ]; then head -200 "$TMP/rcsgw.err" >"$OUT/rcsgw-warnings.txt"; fi

# ---- the plot ---------------------------------------------------------------------------
cat >"$TMP/plot.gp" <<EOF
set terminal pngcairo size 1100,900 font ",9"
set output "$OUT/soak.png"
set datafile separator ","
set key inside left top vertical noopaque samplen 2
set lmargin 12
set rmargin 4
set multiplot layout 3,1 title "rcsgw soak ($(basename "$BUILD"), $SECS s of load then drain, sample $SAMPLE s): grey = warm-up, blue = the windows compared"
set xrange [0:$(awk -F, 'NR > 1 { t = $1 } END { print t + 5 }' "$CSV")]
set grid
set style rect fc rgb "#dddddd" fs solid 0.5 noborder
set obj 1 rect from 0, graph 0 to $WARM, graph 1 back
set style rect fc rgb "#cce0ff" fs solid 0.4 noborder
set obj 2 rect from $A0, graph 0 to $A1, graph 1 back
set obj 3 rect from $B0, graph 0 to $B1, graph 1 back
set ylabel "RSS MiB"
plot "$CSV" using 1:(\$3/1024) with lines lw 2 title "VmRSS"
set ylabel "open fds"
plot "$CSV" using 1:4 with lines lw 2 title "fds"
set xlabel "seconds"
set ylabel "sessions"
plot "$CSV" using 1:7 with lines lw 2 title "ua (incl. ended ones, 5 min)", "" using 1:8 with lines title "ua not ended (incl. gateway legs)", \
	"" using 1:9 with lines title "relay", "" using 1:10 with lines title "gateway", \
	"" using 1:12 with lines title "redis keys"
unset multiplot
EOF
gnuplot "$TMP/plot.gp" 2>"$TMP/plot.err" || { failed "gnuplot failed"; cat "$TMP/plot.err" >&2; }

# ---- summary ----------------------------------------------------------------------------
VERDICT=PASS
[ -n "$FAIL" ] && VERDICT=FAIL
{
	echo "# rcsgw soak, $(date -u -d "@$T0" '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "**$VERDICT**: $SECS s of mixed load, warm-up $WARM s, sampled every $SAMPLE s; rcsgw $GW at $REV"
	echo "(2 workers, ASan quarantine 16 MB), generators $GEN; host $(nproc) cores, shared with"
	echo "other builds and tests while it ran (a growth check, not a benchmark). Load average at"
	echo "the end: $(cut -d' ' -f1-3 /proc/loadavg). rcsgw's CPU after the warm-up: $CORES cores (all threads)."
	echo
	echo "## Growth after the warm-up"
	echo
	echo "Median of [$A0 s, $A1 s) against median of [$B0 s, $B1 s); limit +$LIMIT % for RSS, fds, sessions."
	echo
	echo "| series | start | end | growth |"
	echo "|---|---:|---:|---:|"
	printf '%s' "$GROWTH"
	echo
	echo "Drain: $([ "$drained" = 1 ] && echo "no active session, nothing held ${DRAIN_S} s after the load stopped" || echo "NOT drained after ${DRAIN_S} s ($DRAIN_LAST)")."
	echo
	echo "## Sanitizers"
	echo
	echo "ASan + UBSan + LeakSanitizer at exit: $LSAN. rcsgw's warnings logged: $(cat "$TMP/warn.count") (rcsgw-warnings.txt)."
	echo
	echo "## Load and losses"
	echo
	echo "| path | load | rounds | sent | delivered | lost / wrong / failed |"
	echo "|---|---|---:|---:|---:|---:|"
	echo "| MSRP relay | $RELAY_RATE msgs/s open loop, $RELAY_PAIRS pairs, AUTH again every ${RELAY_ROUND} s | $R_ROUNDS | $R_SENT | $R_DEL | $R_BAD |"
	echo "| UA set-up + DELETE | $UA_SESSIONS sessions every ${UA_PERIOD} s | $S_ROUNDS | $S_POSTS | $S_UP | $S_BAD |"
	echo "| UA REST send | $SEND_SESSIONS sessions, 1 in flight for ${SEND_SECONDS} s every ${SEND_PERIOD} s | $M_ROUNDS | $M_POSTED | $M_DEL | $M_BAD |"
	echo "| SIP MESSAGE → MSRP | $GW_RATE MESSAGEs/s from $GW_USERS users, pairs end ${GW_TIMEOUT} after their last | 1 | $G_SENT (202: $G_202) | $G_SINK | $G_BAD |"
	echo "| Diameter (Sh UDR → 3002) | $DM_RATE requests/s on $DM_CONC connections, new ones every ${DM_ROUND} s | $D_ROUNDS | $D_SENT | $D_OK | $D_BAD |"
	echo "| events | webhooks + 1 SSE stream | | $EV_PUB published | $H_EVENTS webhook events ($WH_DEL delivered), $SSE SSE events | $EV_DROP dropped, $WH_FAIL webhooks failed |"
	echo
	set -- $G_RTT
	echo "SIP MESSAGE → MSRP: sipp's 202s came in $1 ms (median), $2 ms (p99), $3 ms at most; $G_TO"
	echo "(sipp fails a MESSAGE without its 202 within $GW_ANSWER_MS ms; it does not retransmit)."
	echo "rcsgw's longest replication lag, by worker (a worker that stood still shows it): ${W_LAG:-—}."
	echo
	echo "Webhooks are delivered at least once: the receiver counts each X-Rcsgw-Event-Id once,"
	echo "checked against rcsgw_webhook_delivered_total at the last scrape (after the drain);"
	echo "duplicates: $H_DUP (rcsgw_webhook_retries_total: $WH_RETRIES). After the scrape, rcsgw's"
	echo "SIGTERM published $H_LATE more, POSTed while it drained (not in the counts above${H_LATE_WHAT:+: $H_LATE_WHAT});"
	echo "the SSE count, read until rcsgw closes the stream, may include them too."
	echo
	echo "Replication to Redis was on all along. redis_keys (reported, not judged): the live sessions'"
	echo "records plus a tombstone of each ended session's ownership for 10 minutes (shards/sh_node.h),"
	echo "so they level off 10 minutes after the start, later than the sessions (an ended user-agent"
	echo "session stays readable for 5 minutes: GW_UA_LINGER_MS)."
	if [ -s "$OUT/stalls.txt" ]; then
		echo
		echo "/metrics took over 1 s $(grep -c '^== ' "$OUT/stalls.txt") times: rcsgw's threads then (state, wait channel, kernel stack) in stalls.txt."
	fi
	if [ -n "$FAIL" ]; then
		echo
		echo "## Failures"
		printf '%s\n' "$FAIL"
	fi
	echo
	echo "Files: soak.csv (columns: $(head -1 "$CSV")), soak.png, gen-*.json.gz (one JSON line per generator round), metrics-end.txt (rcsgw's /metrics after the drain), rcsgw-warnings.txt (its log at warn level), stalls.txt (only when /metrics was slow)."
} >"$OUT/summary.md"
gzip -f "$OUT"/gen-*.json
cat "$OUT/summary.md"
[ "$VERDICT" = PASS ]
