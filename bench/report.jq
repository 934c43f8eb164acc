# bench/report.jq — results.md from results.json (bench/suite.sh): the machine, the ratios,
# then one table per scenario, each cell the median of the runs with (min–max).
#   jq -r -f bench/report.jq results.json

def num($d):
  if . == null then "—"
  else (. * pow(10; $d) | round) / pow(10; $d)
       | tostring end;

def cell($f; $d):
  if $f == null then "—"
  elif $f.n > 1 then "\($f.median | num($d)) (\($f.min | num($d))–\($f.max | num($d)))"
  else ($f.median | num($d)) end;

# [key, header, decimals] per scenario
def columns:
  {
    "relay": [["msgs_per_s", "msgs/s", 0], ["lat_p50_us", "p50 µs", 0], ["lat_p99_us", "p99 µs", 0],
              ["sut_cpu_us_per_msg", "SUT CPU µs/msg", 2], ["sut_cpu_cores", "SUT cores", 2],
              ["gen_cpu_cores", "generator cores", 2], ["lost", "lost", 0],
              ["verify_errors", "verify errors", 0], ["sut_rss_kib", "SUT RSS KiB", 0]],
    "memory": [["authenticated", "sessions", 0], ["sut_rss_per_session_b", "RSS B per session", 0],
               ["sut_rss0_kib", "RSS before KiB", 0], ["sut_rss_kib", "RSS after KiB", 0],
               ["seconds", "set-up s", 1], ["failed", "failed", 0]],
    "rest": [["sessions_per_s", "sessions/s", 0], ["msgs_per_s", "msgs/s", 0],
             ["setup_p50_us", "set-up p50 µs", 0], ["lat_p50_us", "send p50 µs", 0],
             ["lat_p99_us", "send p99 µs", 0], ["imdn_p50_us", "IMDN round trip p50 µs", 0],
             ["imdn_p99_us", "IMDN round trip p99 µs", 0],
             ["sut_cpu_us_per_session", "rcsgw CPU µs/session", 1],
             ["sut_cpu_us_per_msg", "rcsgw CPU µs/msg", 1],
             ["sut_rss_per_session_b", "RSS B per live session", 0], ["failures", "failures", 0],
             ["lost", "lost", 0], ["imdn_missing", "IMDNs missing", 0]],
    "sip-message": [["msgs_per_s", "answered/s", 0], ["sink_msgs_per_s", "MSRP SENDs/s", 0],
                    ["sut_cpu_us_per_msg", "SUT CPU µs/MESSAGE", 1], ["rt_p50_ms", "p50 ms", 0],
                    ["rt_p99_ms", "p99 ms", 0], ["rt_mean_ms", "mean ms", 2],
                    ["failed", "failed", 0], ["lost", "lost", 0]],
    "diameter": [["requests_per_s", "requests/s", 0], ["lat_p50_us", "p50 µs", 0],
                 ["lat_p99_us", "p99 µs", 0], ["sut_cpu_us_per_req", "rcsgw CPU µs/req", 1],
                 ["peer_cpu_us_per_req", "freeDiameterd CPU µs/req", 1],
                 ["sut_cpu_cores", "rcsgw cores", 2], ["errors", "errors", 0]],
    "replication": [["msgs_per_s", "msgs/s", 0], ["sessions_per_s", "sessions/s", 0],
                    ["sut_cpu_us_per_msg", "rcsgw CPU µs/msg", 1],
                    ["sut_cpu_us_per_session", "rcsgw CPU µs/session", 1],
                    ["lat_p99_us", "p99 µs", 0], ["sut_rss_per_session_b", "RSS B per session", 0],
                    ["failures", "failures", 0], ["lost", "lost", 0]],
    "engine": [["msgs_per_s", "msgs/s", 0], ["lat_p50_us", "p50 µs", 0], ["lat_p99_us", "p99 µs", 0],
               ["sut_cpu_us_per_msg_rtt", "SUT CPU µs/msg RTT", 2], ["sut_cpu_cores", "SUT cores", 2],
               ["gen_cpu_cores", "harness cores", 2], ["errors", "errors", 0]]
  };

def titles:
  {"relay": "MSRP relay: rcsgw, Kamailio's msrp relay, engfwd (same load, same run)",
   "memory": "Idle relay sessions (rcsgw RSS growth per authenticated session)",
   "rest": "MSRP user agent through the REST API (set-up, send, IMDN round trip)",
   "sip-message": "SIP MESSAGE: rcsgw's MESSAGE → MSRP gateway and Kamailio forwarding statelessly (same sipp load)",
   "diameter": "Diameter requests through the REST API to freeDiameterd",
   "replication": "Cluster replication (Redis) off and on",
   "engine": "The engine alone: engfwd on io_uring and epoll, and the harness (echo-direct)"};

. as $r
| $r.machine as $m
| "# make bench results, \($m.start | .[0:10]) (\($m.short))\n",
  "Commit \($m.commit)\(if $m.uncommitted_changes > 0 then " (+\($m.uncommitted_changes) uncommitted files in the tree)" else "" end); \($m.start) → \($m.end) (\($m.seconds) s); \($m.nproc) CPUs (\($m.cpu)), kernel \($m.kernel), \($m.mem_kib / 1048576 | num(1)) GiB, open files limit \($m.open_files_limit); load average \($m.loadavg_start) at the start, \($m.loadavg_end) at the end.",
  "\($m.runs) runs per scenario, \($m.duration_s) s measured per run. Noise: cores kept busy by processes outside the bench during the measured windows, median \($m.others_cores.median | num(2)) (max \($m.others_cores.max | num(2)), over \($m.others_cores.n) windows).\(if $m.note != "" then " " + $m.note else "" end)\n",
  (if ($m.failed_parts // "") != "" then "**Parts that failed** (their script exited non-zero: see suite.log): \($m.failed_parts).\n" else empty end),
  "Each cell: the median of the runs, (min–max) across them. Ratios: median of A / median of B, then the range of the per-run ratios (run i of A / run i of B).\n",
  "## Ratios\n",
  "| ratio | value | per run (min–max) | target | read |",
  "|---|---:|---:|---:|---|",
  ($r.ratios[] | "| \(.name) | **\(.value | num(2))** | \(if (.per_run | length) > 1 then "\(.min | num(2))–\(.max | num(2))" else "—" end) | \(.target // "") | \(.read // "") |"),
  "",
  (columns | keys_unsorted[] as $s
   | ($r.groups | map(select(.scenario == $s))) as $gs
   | select($gs | length > 0)
   | (columns[$s] | map(. as $c | select(any($gs[]; .figures[$c[0]] != null)))) as $cols
   | "## \(titles[$s])\n",
     "| system | phase | runs | \($cols | map(.[1]) | join(" | ")) | others (cores) |",
     "|---|---|---:|\($cols | map("---:") | join("|"))|---:|",
     ($gs[] as $g
      | "| \($g.system) | \($g.phase) | \($g.runs) | \($cols | map(. as $c | cell($g.figures[$c[0]]; $c[2])) | join(" | ")) | \(cell($g.figures.others_cores; 2)) |"),
     "")
