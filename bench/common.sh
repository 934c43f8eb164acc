# bench/common.sh — shell pieces shared by bench/run.sh and bench/relay.sh (sourced, not run).
#
#   bench_init PREFIX   a private temporary directory in $TMP, $PIDS for what the script
#                       starts, and a clean-up on exit (or INT / TERM) that stops those by pid
#                       and removes $TMP
#   stop PID            SIGTERM, up to 5 s, then SIGKILL; PID leaves $PIDS
#   field JSON KEY      the number (or null/true/false) of KEY in a one-line JSON object
#   fmt VALUE DIGITS    VALUE with DIGITS decimals, "—" when empty or null
#   pct VALUE           a fraction as a percentage, "—" when empty or null

bench_init() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	PIDS=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	PIDS=""
	rm -rf "$TMP"
}

stop() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rest=""
	for p in $PIDS; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	PIDS=$rest
}

field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\|null\|true\|false\).*/\1/p"
}

fmt() {
	case $1 in
	'' | null) printf -- '—' ;;
	*) printf "%.${2}f" "$1" ;;
	esac
}

pct() {
	case $1 in
	'' | null) printf -- '—' ;;
	*) awk "BEGIN { printf \"%.0f %%\", $1 * 100 }" ;;
	esac
}
