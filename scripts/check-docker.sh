#!/bin/sh
# check-docker.sh — static checks of docker/ (called by `make check`); runs no Docker.
#
#   compose   docker/docker-compose.yml parses (yamllint, relaxed rules), what it names
#             exists, and its cluster (two nodes, Redis, replica, Sentinel) hangs together
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
run "seccomp ($SECCOMP)" check_seccomp
run "image   ($DOCKERFILE)" check_image
run "runtime libraries" check_runtime

if [ "$skipped" -gt 0 ]; then
    echo "docker: $passed passed, $failed failed, $skipped skipped"
else
    echo "docker: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
