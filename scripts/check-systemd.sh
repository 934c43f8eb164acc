#!/bin/sh
# check-systemd.sh — checks of etc/rcsgw.service and `make install` (called by `make test`);
# starts no service.
#
#   unit      the unit runs rcsgw as its own user from /usr/local/bin with
#             /etc/rcsgw/rcsgw.conf, reloads with SIGHUP, restarts on failure, raises
#             nofile and memlock, and keeps its hardening: no capabilities (the configured
#             listeners' ports are all above 1023), no new privileges, a read-only system,
#             IPv4, IPv6 and Unix sockets only; Type= is not notify (rcsgw has no sd_notify)
#   filter    its SystemCallFilter, expanded by this systemd's own sets, admits io_uring and
#             what rcsgw's engine needs, and nothing of @privileged
#   verify    systemd-analyze verify accepts it (a copy whose ExecStart is the built rcsgw)
#   exposure  systemd-analyze security --offline rates it 2.0 or less ("OK")
#   install   make install DESTDIR=... puts the binaries, the configuration and the unit
#             where the unit looks for them, and keeps a configuration already there
#
# The systemd-analyze checks are skipped where it is missing; those that need a built rcsgw,
# where there is none ($RCSGW_BUILD, default build). Ends with "systemd: N passed, N
# failed[, N skipped]"; exits 1 when any check failed.
set -eu

cd "$(dirname "$0")/.."

UNIT=etc/rcsgw.service
RCSGW_BUILD=${RCSGW_BUILD:-build}
EXPOSURE_MAX=2.0

passed=0
failed=0
skipped=0
tmp=$(mktemp -d /tmp/rcsgw-systemd.XXXXXX)
# shellcheck disable=SC2064  # $tmp is set now
trap "rm -rf '$tmp'" EXIT

# The value of <key> in the unit: the last assignment, as systemd takes it for most keys.
unit_value() {
    sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

# Every line of <key> in the unit, one value per line.
unit_values() {
    sed -n "s/^$1=//p" "$UNIT"
}

# Calls <check> in a subshell: 0 passed, 77 skipped, else failed; what it printed says why.
check() {
    name=$1
    set +e
    why=$("$2" 2>&1)
    rc=$?
    set -e
    case $rc in
        0) echo "systemd: ok    $name"; passed=$((passed + 1)) ;;
        77) echo "systemd: skip  $name: $why"; skipped=$((skipped + 1)) ;;
        *) echo "systemd: FAIL  $name: $why"; failed=$((failed + 1)) ;;
    esac
}

check_unit() {
    [ -f "$UNIT" ] || { echo "$UNIT is missing"; return 1; }
    # shellcheck disable=SC2016  # $MAINPID is systemd's
    for kv in 'User=rcsgw' 'Group=rcsgw' \
              'ExecStart=/usr/local/bin/rcsgw -c /etc/rcsgw/rcsgw.conf' \
              'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' \
              'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
              'CapabilityBoundingSet=' 'AmbientCapabilities=' 'LimitMEMLOCK=infinity' \
              'SystemCallArchitectures=native' 'WantedBy=multi-user.target'; do
        k=${kv%%=*}
        if ! grep -q "^$k=" "$UNIT" || [ "$(unit_value "$k")" != "${kv#*=}" ]; then
            echo "not $kv"
            return 1
        fi
    done
    case $(unit_value Type) in
        simple|exec) ;;
        notify|notify-reload)
            grep -rqs sd_notify cmd common || { echo "Type=notify, but rcsgw has no sd_notify"; \
                return 1; } ;;
        *) echo "Type=$(unit_value Type): want exec or simple"; return 1 ;;
    esac
    nofile=$(unit_value LimitNOFILE)
    [ "${nofile:-0}" = infinity ] || [ "${nofile:-0}" -ge 65536 ] 2>/dev/null \
        || { echo "LimitNOFILE=$nofile: one descriptor per connection wants 65536 or more"; \
             return 1; }
    fam=" $(unit_values RestrictAddressFamilies | tr '\n' ' ') "
    for f in AF_INET AF_INET6 AF_UNIX; do
        case $fam in *" $f "*) ;; *) echo "RestrictAddressFamilies lacks $f"; return 1 ;; esac
    done
    # With no capabilities every listener of the sample configuration (the embedded
    # defaults) must be on an unprivileged port.
    low=$(grep -E '^[[:space:]]*(listen|ws_listen|wss_listen)[[:space:]]*=' etc/rcsgw.conf \
          | grep -oE ':[0-9]+"' | tr -d ':"' | awk '$1 < 1024' | xargs)
    [ -z "$low" ] || { echo "etc/rcsgw.conf listens on port(s) $low: the unit has no" \
        "CAP_NET_BIND_SERVICE"; return 1; }
}

# The system calls of a set as this systemd knows it, its nested sets expanded.
expand_set() {
    systemd-analyze syscall-filter --no-pager 2>/dev/null | awk -v want="$1" '
        /^@/ { set = $1; next }
        /^[[:space:]]+[^#[:space:]]/ { members[set] = members[set] " " $1 }
        function walk(s,    n, i, m) {
            if (seen[s]++) return
            n = split(members[s], m, " ")
            for (i = 1; i <= n; i++)
                if (m[i] ~ /^@/) walk(m[i]); else out[m[i]] = 1
        }
        END { walk(want); for (c in out) print c }' | sort -u
}

check_filter() {
    command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
    allow=$tmp/allow
    deny=$tmp/deny
    : > "$allow"
    : > "$deny"
    # allow-lists add up; a ~ line takes its sets away again
    for f in $(unit_values SystemCallFilter | tr ' ' '\n'); do
        case $f in
            ~*) for s in ${f#\~}; do
                    case $s in @*) expand_set "$s" ;; *) echo "$s" ;; esac
                done >> "$deny" ;;
            @*) expand_set "$f" >> "$allow" ;;
            *) echo "$f" >> "$allow" ;;
        esac
    done
    [ -s "$allow" ] || { echo "no SystemCallFilter allow-list"; return 1; }
    sort -u "$deny" -o "$deny"
    sort -u "$allow" | comm -23 - "$deny" > "$tmp/allowed"
    for s in io_uring_setup io_uring_enter io_uring_register epoll_wait eventfd2 accept4 \
             sendmsg recvmsg futex clone3 sched_setaffinity mlock getrandom; do
        grep -qx "$s" "$tmp/allowed" || { echo "$s is not allowed"; return 1; }
    done
    expand_set @privileged > "$tmp/priv"
    [ -s "$tmp/priv" ] || { echo "systemd-analyze lists no @privileged"; return 1; }
    extra=$(comm -12 "$tmp/allowed" "$tmp/priv" | tr '\n' ' ')
    [ -z "$extra" ] || { echo "allowed from @privileged: $extra"; return 1; }
}

# A copy of the unit whose ExecStart is the built rcsgw, for systemd-analyze.
built_unit() {
    command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
    [ -x "$RCSGW_BUILD/rcsgw" ] || { echo "no $RCSGW_BUILD/rcsgw (make)"; exit 77; }
    sed "s#^ExecStart=/usr/local/bin/rcsgw #ExecStart=$PWD/$RCSGW_BUILD/rcsgw #" "$UNIT" \
        > "$tmp/rcsgw.service"
}

check_verify() {
    built_unit
    out=$(systemd-analyze verify "$tmp/rcsgw.service" 2>&1) \
        || { echo "$out"; return 1; }
    # what it says of other units on this machine is not ours
    ours=$(echo "$out" | grep rcsgw || true)
    [ -z "$ours" ] || { echo "$ours"; return 1; }
}

check_exposure() {
    built_unit
    systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' \
        || { echo "systemd-analyze security has no --offline (systemd < 250)"; exit 77; }
    out=$(systemd-analyze security --offline=yes --no-pager "$tmp/rcsgw.service" 2>&1 \
          | tail -n 1)
    level=$(echo "$out" | sed -n 's/.*exposure level for rcsgw.service: \([0-9.]*\).*/\1/p')
    [ -n "$level" ] || { echo "no exposure level in: $out"; return 1; }
    awk -v l="$level" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(l <= m) }' \
        || { echo "exposure $level, more than $EXPOSURE_MAX: $out"; return 1; }
}

check_install() {
    if [ ! -x "$RCSGW_BUILD/rcsgw" ] || [ ! -x "$RCSGW_BUILD/rcsgwctl" ]; then
        echo "no $RCSGW_BUILD/rcsgw (make)"
        exit 77
    fi
    d=$tmp/dest
    # -o: the binaries as they are, never rebuilt here
    mk="make --no-print-directory -s BUILD=$RCSGW_BUILD -o $RCSGW_BUILD/rcsgw"
    mk="$mk -o $RCSGW_BUILD/rcsgwctl install DESTDIR=$d"
    out=$($mk 2>&1) || { echo "make install: $out"; return 1; }
    for f in usr/local/bin/rcsgw usr/local/bin/rcsgwctl; do
        [ -x "$d/$f" ] || { echo "no $f"; return 1; }
    done
    cmp -s etc/rcsgw.conf "$d/etc/rcsgw/rcsgw.conf" || { echo "no etc/rcsgw/rcsgw.conf"; \
        return 1; }
    cmp -s "$UNIT" "$d/etc/systemd/system/rcsgw.service" \
        || { echo "etc/systemd/system/rcsgw.service is not $UNIT"; return 1; }
    # a configuration already there is kept
    echo "# edited" >> "$d/etc/rcsgw/rcsgw.conf"
    out=$($mk 2>&1) || { echo "make install again: $out"; return 1; }
    tail -n 1 "$d/etc/rcsgw/rcsgw.conf" | grep -qx '# edited' \
        || { echo "a second make install replaced etc/rcsgw/rcsgw.conf"; return 1; }
    # another PREFIX: the unit starts the rcsgw installed there
    out=$($mk PREFIX=/opt/rcsgw 2>&1) || { echo "make install PREFIX=/opt/rcsgw: $out"; \
        return 1; }
    grep -qx 'ExecStart=/opt/rcsgw/bin/rcsgw -c /etc/rcsgw/rcsgw.conf' \
        "$d/etc/systemd/system/rcsgw.service" \
        || { echo "with PREFIX=/opt/rcsgw the unit does not start /opt/rcsgw/bin/rcsgw"; \
             return 1; }
}

check "unit     ($UNIT)" check_unit
check "filter   (SystemCallFilter)" check_filter
check "verify   (systemd-analyze verify)" check_verify
check "exposure (systemd-analyze security)" check_exposure
check "install  (make install DESTDIR=...)" check_install

if [ "$skipped" -gt 0 ]; then
    echo "systemd: $passed passed, $failed failed, $skipped skipped"
else
    echo "systemd: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
