#!/bin/sh
# check-docker.sh — checks of docker/ (called by `make test`); runs no Docker.
#
#   compose   docker/docker-compose.yml parses (yamllint, relaxed rules), what it names
#             exists, its cluster (two nodes, Redis, replica, Sentinel) hangs together, the
#             nodes' health is GET /healthz, and what is waited for as healthy has a check
#   diameter  the profile "diameter": the freediameter service, its image and configuration
#             (docker/freediameter/), and the nodes' Diameter settings agree with each other
#   diameter peer  freeDiameterd with that configuration, and rcsgw with each node's
#             settings, in a network namespace of their own: both nodes' peers open (skipped
#             without freeDiameterd, a built rcsgw or unprivileged namespaces)
#   seccomp   docker/seccomp-io_uring.json parses (jq), is an allow-list that admits io_uring
#             and keeps what Docker's default keeps behind capabilities or refuses
#   image     docker/Dockerfile builds with `make deps && make` on debian:12-slim, exposes
#             the ports, runs as a non-root user, checks its health on /healthz, has the
#             entry point
#   runtime   the Dockerfile installs the runtime package of every -dev package in
#             scripts/deps.sh that rcsgw links (read from dpkg; skipped where dpkg is not)
#
# Ends with "docker: N passed, N failed[, N skipped]"; exits 1 when any check failed.
set -eu

cd "$(dirname "$0")/.."

COMPOSE=docker/docker-compose.yml
SECCOMP=docker/seccomp-io_uring.json
DOCKERFILE=docker/Dockerfile
FD_DIR=docker/freediameter
RCSGW_BUILD=${RCSGW_BUILD:-build}
PORTS="2855/tcp 2856/tcp 5060/udp 5060/tcp 8080/tcp"

passed=0
failed=0
skipped=0
why=

# <check> runs in a subshell; it sets $why (one line) on failure, or exits 77 to skip.
run() {
    name=$1
    shift
    set +e
    why=$( "$@" 2>&1 )
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        echo "docker: ok    $name"
        passed=$((passed + 1))
    elif [ "$rc" -eq 77 ]; then
        echo "docker: skip  $name: $why"
        skipped=$((skipped + 1))
    else
        echo "docker: FAIL  $name: $why"
        failed=$((failed + 1))
    fi
}

check_compose() {
    [ -f "$COMPOSE" ] || { echo "$COMPOSE is missing"; return 1; }
    command -v yamllint >/dev/null 2>&1 || { echo "yamllint not found (make deps)"; return 1; }
    # Relaxed rules with longer lines: errors (syntax, duplicate keys) fail, style does not.
    out=$(yamllint -f parsable \
        -d '{extends: relaxed, rules: {line-length: {max: 100}}}' "$COMPOSE" 2>&1) \
        || { echo "yamllint:"; echo "$out"; return 1; }
    for svc in rcsgw rcsgw-b redis redis-replica sentinel; do
        grep -q "^  $svc:" "$COMPOSE" || { echo "no service $svc"; return 1; }
    done
    # both nodes find the master through the Sentinel, under the name it monitors
    n=$(grep -c '^ *RCSGW_REDIS_URL: "sentinel://sentinel:26379/rcsgw"' "$COMPOSE" || true)
    [ "$n" -eq 2 ] || { echo "$n nodes with redis.url sentinel://sentinel:26379/rcsgw, not 2"; \
        return 1; }
    grep -q 'sentinel monitor rcsgw redis 6379' "$COMPOSE" \
        || { echo "the Sentinel does not monitor the master as rcsgw"; return 1; }
    n=$(grep -c '^ *RCSGW_CLUSTER_NODE_ID: ' "$COMPOSE" || true)
    [ "$n" -eq 2 ] || { echo "$n node ids, not 2"; return 1; }
    # Paths in a compose file are relative to its directory.
    grep -q '^ *dockerfile: *docker/Dockerfile *$' "$COMPOSE" \
        || { echo "rcsgw is not built from docker/Dockerfile"; return 1; }
    grep -q '^ *context: *\.\. *$' "$COMPOSE" \
        || { echo "build context is not the repository root (..)"; return 1; }
    prof=$(sed -n 's/^ *- *"\{0,1\}seccomp[=:]\([^"]*\)"\{0,1\} *$/\1/p' "$COMPOSE" | head -n 1)
    [ -n "$prof" ] || { echo "no seccomp profile in security_opt"; return 1; }
    [ -f "docker/$prof" ] || { echo "seccomp profile docker/$prof is missing"; return 1; }
    for p in $PORTS; do
        grep -q "\"[0-9]*:${p%/*}/${p#*/}\"" "$COMPOSE" \
            || { echo "port $p is not published"; return 1; }
    done
    cj=$(compose_json) || return 1
    # Both nodes' health is GET /healthz; every service waited for as healthy has a health
    # check, and one behind a profile is waited for only if it is there (required: false).
    for n in rcsgw rcsgw-b; do
        echo "$cj" | jq -e --arg n "$n" '.services[$n].healthcheck.test
            == ["CMD", "rcsgwctl", "get", "/healthz"]' >/dev/null \
            || { echo "$n's health check is not rcsgwctl get /healthz"; return 1; }
    done
    bad=$(echo "$cj" | jq -r '.services as $s | $s | to_entries[] | .key as $from
        | (.value.depends_on // {}) | to_entries[]
        | select(.value.condition == "service_healthy") | .key as $to
        | if $s[$to] == null then "\($from) waits for \($to), which does not exist"
          elif $s[$to].healthcheck == null then "\($from) waits for \($to) to be healthy: no check"
          elif $s[$to].profiles != null and $s[$from].profiles == null and .value.required != false
          then "\($from) requires \($to), which is there with a profile only"
          else empty end')
    [ -z "$bad" ] || { echo "$bad"; return 1; }
}

# The compose file as JSON (python3-yaml comes with yamllint).
compose_json() {
    python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' \
        "$COMPOSE" 2>&1 || { echo "python3 cannot read $COMPOSE as YAML"; return 1; }
}

# "${COMPOSE_PROFILES:+VALUE}" -> VALUE; anything else -> nothing.
with_profile() {
    # shellcheck disable=SC2016  # a literal ${...}
    sed -n 's/^\${COMPOSE_PROFILES:+\(.*\)}$/\1/p'
}

# <key> = "value"; or <key> = number; from freeDiameter.conf
fd_conf() {
    sed -n -e "/^[[:space:]]*$1[[:space:]]*=/!d" -e 's/^[^=]*=[[:space:]]*//' \
        -e 's/^"\{0,1\}\([^";]*\)"\{0,1\}[[:space:]]*;.*/\1/p' "$FD_DIR/freeDiameter.conf" \
        | head -n 1
}

check_diameter() {
    cj=$(compose_json) || return 1
    svc=$(echo "$cj" | jq -c '.services.freediameter')
    [ "$svc" != null ] || { echo "no service freediameter"; return 1; }
    others=$(echo "$cj" | jq -r '[.services | to_entries[] | select(.value.profiles != null)
                                  | .key] | join(" ")')
    # the nodes' settings hang on COMPOSE_PROFILES being set: no other profile may set it
    if [ "$others" != freediameter ] \
        || ! echo "$svc" | jq -e '.profiles == ["diameter"]' >/dev/null; then
        echo "profiles: want only freediameter's [\"diameter\"], have: $others"
        return 1
    fi
    ctx=$(echo "$svc" | jq -r '.build.context // empty')
    [ -f "docker/$ctx/Dockerfile" ] \
        || { echo "freediameter's build docker/$ctx/Dockerfile is missing"; return 1; }
    # every file mounted exists; the configuration and the whitelist are among them
    for v in $(echo "$svc" | jq -r '.volumes[]'); do
        src=${v%%:*}
        [ -f "docker/$src" ] || { echo "freediameter mounts docker/$src, which is missing"; \
            return 1; }
    done
    for t in /etc/freeDiameter/freeDiameter.conf /etc/freeDiameter/acl_wl.conf; do
        echo "$svc" | jq -e --arg t "$t" '[.volumes[] | split(":")[1]] | index($t) != null' \
            >/dev/null || { echo "freediameter does not mount $t"; return 1; }
    done
    ext='"/usr/lib/freeDiameter/acl_wl.fdx" : "/etc/freeDiameter/acl_wl.conf"'
    grep -q "^LoadExtension = $ext;" "$FD_DIR/freeDiameter.conf" \
        || { echo "freeDiameter.conf does not load acl_wl with /etc/freeDiameter/acl_wl.conf"; \
             return 1; }
    ident=$(fd_conf Identity)
    realm=$(fd_conf Realm)
    port=$(fd_conf Port)
    if [ -z "$ident" ] || [ -z "$realm" ] || [ -z "$port" ]; then
        echo "freeDiameter.conf lacks Identity, Realm or Port"
        return 1
    fi
    # its image: Debian 12, the package, not root, a certificate for that Identity where the
    # configuration looks for it
    df=$(sed -e '/^[[:space:]]*#/d' "$FD_DIR/Dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta')
    echo "$df" | grep -q '^FROM debian:12-slim *$' \
        || { echo "freediameter's image is not FROM debian:12-slim"; return 1; }
    echo "$df" | grep -q '^RUN .*apt-get install .* freediameter ' \
        || { echo "freediameter's image does not install the freediameter package"; return 1; }
    echo "$df" | grep -q "^ARG IDENTITY=$ident *\$" \
        || { echo "the certificate's IDENTITY is not Identity ($ident)"; return 1; }
    for f in $(grep -o '"/etc/freeDiameter/tls/[^"]*"' "$FD_DIR/freeDiameter.conf" | tr -d '"'); do
        echo "$df" | grep -q -- "-\(keyout\|out\) $f\( \|$\)" \
            || { echo "the image does not make $f"; return 1; }
    done
    user=$(echo "$df" | sed -n 's/^USER *//p' | tail -n 1)
    case ${user%%:*} in
        ''|0|root) echo "freediameter runs as root"; return 1 ;;
    esac
    # each node: Diameter with the profile only, that peer, a host the whitelist lets in
    pats=$(sed -n 's/^ALLOW_IPSEC[[:space:]]*//p' "$FD_DIR/acl_wl.conf")
    hosts=
    for n in rcsgw rcsgw-b; do
        env=$(echo "$cj" | jq -c --arg n "$n" '.services[$n].environment')
        h=$(echo "$env" | jq -r '.RCSGW_DIAMETER_ORIGIN_HOST // empty' | with_profile)
        peer=$(echo "$env" | jq -r '.RCSGW_DIAMETER_PEERS // empty' | with_profile)
        if [ -z "$h" ] || [ -z "$peer" ]; then
            echo "$n: RCSGW_DIAMETER_ORIGIN_HOST and _PEERS are not \"\${COMPOSE_PROFILES:+...}\""
            return 1
        fi
        [ "$peer" = "aaa://freediameter:$port;realm=$realm" ] \
            || { echo "$n's peer is $peer, not aaa://freediameter:$port;realm=$realm"; return 1; }
        ok=
        for p in $pats; do
            # shellcheck disable=SC2254  # the whitelist's patterns, as patterns
            case $h in $p) ok=1 ;; esac
        done
        [ -n "$ok" ] || { echo "$n's Origin-Host $h is not in acl_wl.conf ($pats)"; return 1; }
        case " $hosts " in *" $h "*) echo "two nodes are $h"; return 1 ;; esac
        hosts="$hosts $h"
    done
}

# freeDiameterd with docker/freediameter's configuration (paths moved to a temporary
# directory, a fresh certificate) and rcsgw with each node's Diameter settings, in a network
# namespace of their own (unshare -rn): nothing of the host's is bound or reached, and the
# namespace goes with its processes. A veth pair gives freeDiameterd the non-loopback
# address it insists on, 192.0.2.1, which stands for the service name "freediameter".
check_diameter_peer() {
    for c in freeDiameterd openssl unshare ip jq; do
        command -v "$c" >/dev/null 2>&1 || { echo "no $c"; exit 77; }
    done
    [ -r /usr/lib/freeDiameter/acl_wl.fdx ] || { echo "no acl_wl.fdx (freediameter)"; exit 77; }
    if [ ! -x "$RCSGW_BUILD/rcsgw" ] || [ ! -x "$RCSGW_BUILD/rcsgwctl" ]; then
        echo "no $RCSGW_BUILD/rcsgw (make)"
        exit 77
    fi
    unshare -rn true 2>/dev/null || { echo "no unprivileged network namespace"; exit 77; }
    cj=$(compose_json) || return 1
    # without the profile: both settings empty, Diameter off, a configuration rcsgw takes
    RCSGW_DIAMETER_ORIGIN_HOST='' RCSGW_DIAMETER_PEERS='' \
        "$RCSGW_BUILD/rcsgw" --check-config >/dev/null 2>&1 \
        || { echo "rcsgw refuses empty RCSGW_DIAMETER_ORIGIN_HOST and _PEERS"; return 1; }
    tmp=$(mktemp -d /tmp/rcsgw-dockerfd.XXXXXX)
    # shellcheck disable=SC2064  # $tmp is set now
    trap "rm -rf '$tmp'" EXIT
    ident=$(fd_conf Identity)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$ident" \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 \
        || { echo "openssl could not make a certificate"; return 1; }
    sed -e "s#/etc/freeDiameter/tls/#$tmp/#g" \
        -e "s#/etc/freeDiameter/acl_wl.conf#$tmp/acl_wl.conf#" \
        "$FD_DIR/freeDiameter.conf" > "$tmp/freeDiameter.conf"
    cp "$FD_DIR/acl_wl.conf" "$tmp/acl_wl.conf"
    # each node's settings as the profile makes them, the service name as the address
    for n in rcsgw rcsgw-b; do
        env=$(echo "$cj" | jq -c --arg n "$n" '.services[$n].environment')
        h=$(echo "$env" | jq -r '.RCSGW_DIAMETER_ORIGIN_HOST // empty' | with_profile)
        peer=$(echo "$env" | jq -r '.RCSGW_DIAMETER_PEERS // empty' | with_profile \
               | sed 's#^aaa://freediameter:#aaa://192.0.2.1:#')
        printf '%s %s %s\n' "$n" "$h" "$peer" >> "$tmp/nodes"
    done
    cat > "$tmp/run.sh" <<'RUN'
# In the namespace: $1 the directory, $2 the build directory. Exits 0 when every node's peer
# is open within 15 s (freeDiameterd may leave a first CER unanswered: rcsgw waits 5 s for
# its CEA, then connects again), 77 when the namespace cannot have its veth pair.
set -u
dir=$1
bin=$2
pids=
trap 'kill $pids 2>/dev/null; wait' EXIT INT TERM
ip link set lo up && ip link add fd0 type veth peer name fd1 \
    && ip addr add 192.0.2.1/24 dev fd0 && ip link set fd1 up && ip link set fd0 up \
    || { echo "could not set up the namespace's network (veth)"; exit 77; }
freeDiameterd -c "$dir/freeDiameter.conf" > "$dir/fd.log" 2>&1 &
pids="$pids $!"
# listening (as the compose health check sees it) within 5 s
t=0
until grep -q ':0F1C 00000000:0000 0A' /proc/net/tcp; do
    [ $t -lt 25 ] || { echo "freeDiameterd does not listen:"; tail -n 5 "$dir/fd.log"; exit 1; }
    sleep 0.2
    t=$((t + 1))
done
api=18080
while read -r n h peer; do
    RCSGW_API_LISTEN=127.0.0.1:$api RCSGW_SIP_LISTEN= RCSGW_MSRP_LISTEN= \
        RCSGW_ENGINE_WORKERS=1 RCSGW_ENGINE_PIN=false RCSGW_LOG_LEVEL=warn \
        RCSGW_DIAMETER_ORIGIN_HOST=$h RCSGW_DIAMETER_PEERS=$peer RCSGW_DIAMETER_RECONNECT=300 \
        "$bin/rcsgw" > "$dir/$n.log" 2>&1 &
    pids="$pids $!"
    echo "$n $api" >> "$dir/apis"
    api=$((api + 1))
done < "$dir/nodes"
t=0
while [ $t -lt 75 ]; do
    open=0
    while read -r n api; do
        st=$("$bin/rcsgwctl" -a "127.0.0.1:$api" get /v1/diameter/peers 2>/dev/null \
             | jq -r '.peers[0].state' 2>/dev/null)
        [ "$st" = open ] && open=$((open + 1))
    done < "$dir/apis"
    [ "$open" -eq "$(wc -l < "$dir/apis")" ] && exit 0
    sleep 0.2
    t=$((t + 1))
done
while read -r n api; do
    echo "$n: $("$bin/rcsgwctl" -a "127.0.0.1:$api" get /v1/diameter/peers 2>&1 | head -c 300)"
    tail -n 3 "$dir/$n.log"
done < "$dir/apis"
echo "freeDiameterd:"
grep -e ERROR -e rcsgw "$dir/fd.log" | tail -n 5
exit 1
RUN
    timeout 30 unshare -rn sh "$tmp/run.sh" "$tmp" "$RCSGW_BUILD"
}

check_seccomp() {
    [ -f "$SECCOMP" ] || { echo "$SECCOMP is missing"; return 1; }
    command -v jq >/dev/null 2>&1 || { echo "jq not found (make deps)"; return 1; }
    if ! err=$(jq -e . "$SECCOMP" 2>&1 >/dev/null); then
        echo "not valid JSON: $err"
        return 1
    fi
    jq -e '.defaultAction == "SCMP_ACT_ERRNO"' "$SECCOMP" >/dev/null \
        || { echo "defaultAction is not SCMP_ACT_ERRNO (an allow-list)"; return 1; }
    for a in SCMP_ARCH_X86_64 SCMP_ARCH_AARCH64; do
        jq -e --arg a "$a" '[.archMap[].architecture] | index($a) != null' "$SECCOMP" \
            >/dev/null || { echo "archMap lacks $a"; return 1; }
    done
    jq -e '[.syscalls[] | .action
            | IN("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                 "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")]
           | all' "$SECCOMP" >/dev/null || { echo "unknown action"; return 1; }
    # "Unconditional": allowed with no argument check and no includes/excludes (Docker's
    # conditions on capabilities, architectures and kernel versions).
    uncond='[.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and .args == null
             and .includes == null and .excludes == null) | .names[]]'
    # io_uring, and a sample of what rcsgw's engine, threads and sockets need
    for s in io_uring_setup io_uring_enter io_uring_register futex epoll_wait eventfd2 \
             signalfd4 timerfd_create mmap accept4 sched_setaffinity execve exit_group; do
        jq -e --arg s "$s" "$uncond | index(\$s) != null" "$SECCOMP" >/dev/null \
            || { echo "$s is not allowed"; return 1; }
    done
    # What Docker's default keeps behind a capability (or refuses) stays so.
    for s in bpf clone clone3 unshare setns mount umount2 open_tree move_mount pivot_root \
             chroot ptrace process_madvise kcmp perf_event_open keyctl add_key request_key \
             kexec_load init_module finit_module reboot swapon syslog userfaultfd \
             open_by_handle_at iopl settimeofday clock_settime mbind sethostname; do
        if jq -e --arg s "$s" "$uncond | index(\$s) != null" "$SECCOMP" >/dev/null; then
            echo "$s is allowed without condition"
            return 1
        fi
    done
    # clone only without namespace flags, clone3 ENOSYS (glibc falls back to clone), socket
    # of any family but AF_VSOCK (40)
    jq -e '[.syscalls[] | select(.names == ["clone"] and .action == "SCMP_ACT_ALLOW"
            and .args[0].index == 0 and .args[0].value == 2114060288
            and .args[0].op == "SCMP_CMP_MASKED_EQ")] | length == 1' "$SECCOMP" >/dev/null \
        || { echo "clone is not limited to calls without namespace flags"; return 1; }
    jq -e '[.syscalls[] | select(.names == ["clone3"] and .action == "SCMP_ACT_ERRNO"
            and .errnoRet == 38)] | length == 1' "$SECCOMP" >/dev/null \
        || { echo "clone3 does not answer ENOSYS"; return 1; }
    jq -e '[.syscalls[] | select(.names == ["socket"] and .action == "SCMP_ACT_ALLOW"
            and .args == [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}])] | length == 1' \
        "$SECCOMP" >/dev/null || { echo "socket is not allowed but for AF_VSOCK"; return 1; }
    dup=$(jq -r "$uncond | group_by(.) | map(select(length > 1)[0]) | join(\" \")" "$SECCOMP")
    [ -z "$dup" ] || { echo "listed more than once: $dup"; return 1; }
}

check_image() {
    [ -f "$DOCKERFILE" ] || { echo "$DOCKERFILE is missing"; return 1; }
    # Instructions only: comments and continuation lines joined.
    df=$(sed -e '/^[[:space:]]*#/d' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta')
    nfrom=$(echo "$df" | grep -c '^FROM ')
    [ "$nfrom" -ge 2 ] || { echo "not multi-stage"; return 1; }
    [ "$(echo "$df" | grep '^FROM ' | grep -vc '^FROM debian:12-slim\( \|$\)')" -eq 0 ] \
        || { echo "a stage is not FROM debian:12-slim"; return 1; }
    echo "$df" | grep -q '^RUN make deps && make *$' \
        || { echo "the image is not built with 'make deps && make'"; return 1; }
    expose=" $(echo "$df" | sed -n 's/^EXPOSE //p' | tr '\n' ' ') "
    for p in $PORTS; do
        case $expose in
            *" $p "*) ;;
            *) echo "EXPOSE lacks $p"; return 1 ;;
        esac
    done
    for f in build/rcsgw build/rcsgwctl etc/rcsgw.conf; do
        echo "$df" | grep -q "^COPY --from=.*$f" || { echo "does not copy $f"; return 1; }
    done
    user=$(echo "$df" | sed -n 's/^USER *//p' | tail -n 1)
    case ${user%%:*} in
        ''|0|root) echo "runs as root (USER '${user}')"; return 1 ;;
    esac
    echo "$df" | grep -q '^HEALTHCHECK .*CMD \["rcsgwctl", "get", "/healthz"\] *$' \
        || { echo "no HEALTHCHECK with 'rcsgwctl get /healthz'"; return 1; }
    echo "$df" | grep -q '^ENTRYPOINT \["rcsgw"\] *$' \
        || { echo 'ENTRYPOINT is not ["rcsgw"]'; return 1; }
}

check_runtime() {
    command -v dpkg-query >/dev/null 2>&1 || { echo "no dpkg-query"; exit 77; }
    # The -dev packages of BUILD_PKGS, less those rcsgw does not link at run time.
    # shellcheck disable=SC2020  # tr maps both blank and quote to a newline
    devs=$(sed -n '/^BUILD_PKGS="/,/"$/p' scripts/deps.sh | tr ' "' '\n\n' \
           | grep -e '^lib.*-dev$' | grep -v -e '^libcriterion-dev$' -e '^libclang-rt-dev$')
    [ -n "$devs" ] || { echo "no -dev packages found in scripts/deps.sh"; return 1; }
    libs=$(sed -e '/^[[:space:]]*#/d' "$DOCKERFILE")
    for d in $devs; do
        st=$(dpkg-query -W -f='${db:Status-Abbrev}\n' "$d" 2>/dev/null | head -n 1)
        [ "$st" = "ii " ] || { echo "$d is not installed (make deps)"; exit 77; }
        deps=$(dpkg-query -W -f='${Depends}\n' "$d" | head -n 1)
        # "liburing2 (= 2.3-3), libc6-dev | libc-dev" -> liburing2
        rt=$(echo "$deps" | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g' \
             | grep -e '^lib' | grep -v -e '-dev$' -e '^libc6$' | head -n 1)
        [ -n "$rt" ] || { echo "no runtime package found for $d"; return 1; }
        echo "$libs" | grep -q "[[:space:]]$rt\([[:space:]]\|$\)" \
            || { echo "the runtime stage does not install $rt (for $d)"; return 1; }
    done
}

run "compose ($COMPOSE)" check_compose
run "diameter ($FD_DIR)" check_diameter
run "diameter peer (freeDiameterd, $RCSGW_BUILD/rcsgw)" check_diameter_peer
run "seccomp ($SECCOMP)" check_seccomp
run "image   ($DOCKERFILE)" check_image
run "runtime libraries" check_runtime

if [ "$skipped" -gt 0 ]; then
    echo "docker: $passed passed, $failed failed, $skipped skipped"
else
    echo "docker: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
