#!/bin/sh
# bench/plots.sh DIR — the PNG plots of DIR/results.json (bench/suite.sh), with gnuplot:
# bars at the median of the runs, error bars from the min to the max.
#   relay-peak.png      MSRP relay peak msgs/s per system (rcsgw 1 and 2 workers, Kamailio, engfwd)
#   relay-latency.png   MSRP relay p50 and p99 at light load per system (log scale)
#   cpu-per-message.png SUT CPU µs per message: relay at light load, SIP MESSAGE at 4000/s
#   memory.png          bytes per session: idle relay TCP / TLS, replication off / on, live UA session
#   rest.png            REST paths: sessions/s, msgs/s (100 B, 2 KiB, with IMDN), Diameter requests/s
#   replication.png     replication on / off, per run range, for REST send, set-up, relay peak
# A plot whose figures are all missing is left out.
set -u
DIR=$1
R=$DIR/results.json
[ -s "$R" ] || { echo "plots: no $R" >&2; exit 1; }

# dat NAME JQ: DIR/NAME.dat from JQ over results.json, which yields [label, median, min, max, ...]
# arrays; quoted labels for gnuplot. Returns 1 when it is empty.
dat() {
	jq -r "($2) | select(.[1] != null) | map(if type == \"string\" then \"\\\"\" + . + \"\\\"\" else tostring end) | join(\" \")" \
		"$R" >"$DIR/$1.dat"
	[ -s "$DIR/$1.dat" ] || { rm -f "$DIR/$1.dat"; return 1; }
}

# the jq expression of [LABEL, median, min, max] of KEY in group SCENARIO/SYSTEM/PHASE
fig() {
	printf '((first(.groups[] | select(.scenario == "%s" and .system == "%s" and .phase == "%s")) // {figures: {}}) as $g | ($g.figures["%s"] // {}) as $f | ["%s", $f.median, $f.min, $f.max])' \
		"$1" "$2" "$3" "$4" "$5"
}

# gp_head NAME TITLE YLABEL [log]: the gnuplot lines every plot starts with (bars with error bars)
gp_head() {
	cat <<EOF
set terminal png size 960,540 noenhanced
set output '$DIR/$1.png'
set title '$2'
set ylabel '$3'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.5 border -1
set grid ytics
set xtics rotate by -20 scale 0
$( [ "${4:-}" = log ] && echo "set logscale y" || echo "set yrange [0:*]" )
EOF
}

# bars NAME TITLE YLABEL [log]: a bar chart with min–max error bars of NAME.dat
bars() {
	[ -f "$DIR/$1.dat" ] || return 0
	{
		gp_head "$@"
		echo "set key off"
		echo "plot '$DIR/$1.dat' using 2:3:4:xtic(1) lc rgb '#4477aa'"
	} | gnuplot
}

if dat relay-peak "$(fig relay rcsgw peak msgs_per_s 'rcsgw (1 worker)'), $(fig relay 'rcsgw 2w' peak msgs_per_s 'rcsgw (2 workers, 1 core)'), $(fig relay kamailio peak msgs_per_s 'Kamailio msrp'), $(fig relay engfwd peak msgs_per_s 'engfwd (bare forwarder)')"; then
	bars relay-peak 'MSRP relay, closed loop 64 pairs x 16: delivered msgs/s (median, min-max)' 'msgs/s'
fi

# p50 and p99 side by side
if jq -e '.groups[] | select(.scenario == "relay" and .phase == "light")' "$R" >/dev/null 2>&1; then
	jq -r '.groups[] | select(.scenario == "relay" and .phase == "light")
		| [.system, .figures.lat_p50_us.median, .figures.lat_p50_us.min, .figures.lat_p50_us.max,
		   .figures.lat_p99_us.median, .figures.lat_p99_us.min, .figures.lat_p99_us.max]
		| "\"" + (.[0]) + "\" " + (.[1:] | map(tostring) | join(" "))' "$R" >"$DIR/relay-latency.dat"
	{
		gp_head relay-latency 'MSRP relay at light load (open loop 5000 msgs/s): latency SEND -> receiver (median, min-max)' 'microseconds (log)' log
		echo "plot '$DIR/relay-latency.dat' using 2:3:4:xtic(1) title 'p50' lc rgb '#4477aa', '' using 5:6:7 title 'p99' lc rgb '#ee6677'"
	} | gnuplot
fi

if dat cpu-per-message "$(fig relay rcsgw light sut_cpu_us_per_msg 'relay: rcsgw'), $(fig relay kamailio light sut_cpu_us_per_msg 'relay: Kamailio'), $(fig relay engfwd light sut_cpu_us_per_msg 'relay: engfwd'), $(fig sip-message 'rcsgw gateway' 4000/s sut_cpu_us_per_msg 'MESSAGE 4000/s: rcsgw gateway'), $(fig sip-message 'kamailio stateless' 4000/s sut_cpu_us_per_msg 'MESSAGE 4000/s: Kamailio forward')"; then
	bars cpu-per-message 'CPU of the system under test per message: MSRP relay at 5000 msgs/s, SIP MESSAGE at 4000/s' 'microseconds per message'
fi

if dat memory "$(fig memory rcsgw 'idle TCP' sut_rss_per_session_b 'idle relay session, TCP'), $(fig memory rcsgw 'idle TLS' sut_rss_per_session_b 'idle relay session, TLS'), $(fig replication 'replication off' 'relay idle' sut_rss_per_session_b 'idle relay session, replication off'), $(fig replication 'replication on' 'relay idle' sut_rss_per_session_b 'idle relay session, replication on'), $(fig rest rcsgw hold sut_rss_per_session_b 'live UA session (REST)')"; then
	bars memory 'rcsgw memory per session (RSS growth / sessions)' 'bytes per session' log
fi

if dat rest "$(fig rest rcsgw setup sessions_per_s 'session set-up + DELETE /s'), $(fig rest rcsgw 'send 100 B' msgs_per_s 'send 100 B msgs/s'), $(fig rest rcsgw 'send 2048 B' msgs_per_s 'send 2 KiB msgs/s'), $(fig rest rcsgw 'imdn 100 B' imdn_per_s 'IMDN round trips/s'), $(fig diameter 'rcsgw + freeDiameterd' '64 in flight' requests_per_s 'Diameter requests/s')"; then
	bars rest 'rcsgw through its REST API, 1 worker (median, min-max)' 'per second'
fi

if dat replication '.ratios[] | select((.name | test("replication on / off")) and (.name | test("bytes") | not)) | [(.name | sub(": replication on / off"; "")), .value, .min, .max]'; then
	bars replication 'Replication on / off (1.0 = no cost; median of ratios of medians, per-run range)' 'on / off'
fi
ls "$DIR"/*.png >/dev/null 2>&1
