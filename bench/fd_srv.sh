# bench/fd_srv.sh — a throw-away freeDiameterd for the benches (sourced after common.sh, not
# run). The same set-up as tests/lib/fd_srv.c, as ../shared/PEERS.md says it must be run:
# a self-signed certificate for the TLS settings it insists on (no TLS is used), the
# acl_wl extension letting plain-TCP peers whose Origin-Host matches a pattern in, no SCTP,
# no IPv6. Unlike the tests it takes its port from the configuration (Port = …; it binds
# 0.0.0.0 whatever ListenOn says), so a bench does not hold the tests' 3868.
#
#   fd_available              0 when freeDiameterd and acl_wl.fdx are installed
#   fd_start DIR PORT IDENTITY REALM ALLOW [QUIET]
#                             writes its files into DIR (which must exist), starts it (with
#                             $FD_PIN before it: "taskset -c 1" or empty), sets FD_PID, adds
#                             it to $PIDS (common.sh stops it), waits until it listens on
#                             PORT (10 s). QUIET 1 (default): -q -q -q, nothing logged but
#                             fatal errors (it writes ~19 lines per request it cannot route
#                             otherwise: 3002 for every Sh request). 0, or 1 with its log
#                             on stderr.
#   fd_stop                   SIGTERM (its DPR to the peers), SIGKILL after 5 s

FD_BIN=${FD_BIN:-/usr/bin/freeDiameterd}
FD_ACL_EXT=${FD_ACL_EXT:-/usr/lib/freeDiameter/acl_wl.fdx}
FD_PIN=${FD_PIN:-}
FD_PID=""

fd_available() {
	[ -x "$FD_BIN" ] && [ -r "$FD_ACL_EXT" ] && command -v openssl >/dev/null 2>&1
}

fd_start() {
	fd_dir=$1 fd_port=$2 fd_id=$3 fd_realm=$4 fd_allow=$5 fd_quiet=${6:-1}
	if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$fd_dir/key.pem" \
		-out "$fd_dir/cert.pem" -days 2 -subj "/CN=$fd_id" >/dev/null 2>&1; then
		echo "fd_start: openssl could not make a certificate" >&2
		return 1
	fi
	printf 'ALLOW_IPSEC %s\n' "$fd_allow" >"$fd_dir/acl.conf"
	cat >"$fd_dir/fd.conf" <<EOF
Identity = "$fd_id";
Realm = "$fd_realm";
Port = $fd_port;
SecPort = 0;
No_SCTP;
No_IPv6;
TLS_Cred = "$fd_dir/cert.pem", "$fd_dir/key.pem";
TLS_CA = "$fd_dir/cert.pem";
LoadExtension = "$FD_ACL_EXT" : "$fd_dir/acl.conf";
EOF
	fd_q=""
	[ "$fd_quiet" = 1 ] && fd_q="-q -q -q"
	# its output to a file (a pipe nobody reads would fill)
	$FD_PIN "$FD_BIN" $fd_q -c "$fd_dir/fd.conf" >"$fd_dir/fd.log" 2>&1 &
	FD_PID=$!
	PIDS="$PIDS $FD_PID"
	i=0
	while [ $i -lt 100 ]; do
		if ss -Hltn "sport = :$fd_port" 2>/dev/null | grep -q .; then
			return 0
		fi
		kill -0 "$FD_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "fd_start: freeDiameterd did not listen on $fd_port (its log; -q hides most of it):" >&2
	tail -20 "$fd_dir/fd.log" | sed 's/^/  /' >&2
	fd_stop
	return 1
}

fd_stop() {
	[ -n "$FD_PID" ] && stop "$FD_PID"
	FD_PID=""
}
