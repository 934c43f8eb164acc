#!/bin/sh
# deps.sh — the Debian 12 packages rcsgw needs to build and test.
#
# Called by `make deps` (and so by `make run` and `make test`). Checks with one dpkg-query
# what is missing; when nothing is, it touches neither apt nor the network. When something
# is missing: as root it installs it (apt-get update, then apt-get install without
# recommends); otherwise it prints the exact sudo line and exits 1.
#
# Adding a package is one word in one of the lists below.
#
# Environment:
#   RCSGW_DEPS_LOG   where apt's output goes (default: a temporary file, shown on failure)
set -euf   # -f: no globbing, so the unquoted package lists below only split into words

# Compilers and the libraries rcsgw links (Makefile PKGS, plus wslay and criterion).
# libclang-rt-dev: clang's sanitizer and libFuzzer runtimes, only a Recommends of clang,
# so --no-install-recommends would leave `make fuzz` without them.
BUILD_PKGS="
    build-essential clang libclang-rt-dev pkg-config
    liburing-dev libwolfssl-dev libhiredis-dev libprotobuf-c-dev protobuf-c-compiler
    libmicrohttpd-dev libcriterion-dev libjansson-dev libconfig-dev libexpat1-dev
    libc-ares-dev libwslay-dev libcurl4-openssl-dev
"

# Tools the tests and scripts call. dnsmasq-base ships /usr/sbin/dnsmasq and no service
# (the `dnsmasq` package would start a system DNS server).
TEST_PKGS="
    curl openssl jq yamllint dnsmasq-base procps iproute2
"

# Real peers for the integration tests (DESIGN.md §9), added as their tests arrive:
#   tshark, redis-server, kamailio, sip-tester (sipp), freediameter
# (tshark: wireshark-common asks about setuid dumpcap; noninteractive takes the default, no.)
PEER_PKGS="
    tshark redis-server kamailio sip-tester freediameter
"

# `make bench` (bench/suite.sh): its plots.
BENCH_PKGS="
    gnuplot-nox
"

# shellcheck disable=SC2086,SC2116  # echo joins the lists into one line of words
want=$(echo $BUILD_PKGS $TEST_PKGS $PEER_PKGS $BENCH_PKGS)
count=$(echo "$want" | wc -w | tr -d ' ')

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: no dpkg-query: rcsgw builds on Debian 12; install the equivalents of: $want" >&2
    exit 1
fi

# Installed = some instance of the package (any architecture) is in state "ii".
# dpkg-query exits 1 when it knows nothing of a name: that only means missing.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $want 2>/dev/null \
            | awk '$2 == "ii" { print $1 }' | tr '\n' ' ' || true)

missing=
for p in $want; do
    case " $installed " in
        *" $p "*) ;;
        *) missing="$missing $p" ;;
    esac
done
missing=${missing# }

if [ -z "$missing" ]; then
    echo "deps: all $count packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing: $missing; as root, run:" >&2
    echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
fi

log=${RCSGW_DEPS_LOG:-}
tmplog=
if [ -z "$log" ]; then
    tmplog=$(mktemp "${TMPDIR:-/tmp}/rcsgw-deps.XXXXXX")
    log=$tmplog
fi
cleanup() { [ -z "$tmplog" ] || rm -f "$tmplog"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "deps: $1 failed; apt said:" >&2
    tail -n 40 "$log" >&2
    exit 1
}

# Wait for another apt/dpkg (e.g. unattended-upgrades) instead of failing on its lock.
APT="apt-get -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

# tshark's wireshark-common asks whether dumpcap may capture as non-root: it may not
# (the tests capture as root).
if command -v debconf-set-selections >/dev/null 2>&1; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" \
        | debconf-set-selections >>"$log" 2>&1 || true
fi

$APT update >>"$log" 2>&1 </dev/null || fail "apt-get update"
# shellcheck disable=SC2086
$APT install -y --no-install-recommends $missing >>"$log" 2>&1 </dev/null \
    || fail "apt-get install $missing"

# Trust dpkg, not apt's exit code alone: every missing package must now be installed.
# shellcheck disable=SC2086
still=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $missing 2>/dev/null \
        | awk '$2 == "ii" { print $1 }' | tr '\n' ' ' || true)
for p in $missing; do
    case " $still " in
        *" $p "*) ;;
        *) fail "installing $p" ;;
    esac
done

echo "deps: installed $(echo "$missing" | wc -w | tr -d ' ') of $count packages: $missing"
