# bench/aggregate.jq — the figures of `make bench` (bench/suite.sh): every run's JSON line in,
# per figure the median, min and max out, and the ratios the suite claims.
#
#   jq -s --argjson spec RATIOS -f bench/aggregate.jq RUNS.jsonl
#
# Input (slurped): one object per run, each with "scenario", "system" and "phase" (strings:
# what was measured, on what, how) and any number of figures. Runs that share the three are
# one group, in input order (run 1, 2, ...). Every key whose value is a number in at least
# one run of a group is a figure of that group, except "run" and "seq" (the scripts' own
# counters).
#
# Output: {"groups": [...], "ratios": [...]}, the groups in the order of their first run.
#   group: {scenario, system, phase, runs: N,
#           figures: {KEY: {median, min, max, n}}   (over the runs where KEY is a number;
#                                                    median of an even n: the mean of the
#                                                    two middle values)
#           values:  {KEY: [run 1's value or null, run 2's, ...]}}
#   ratio: the spec's object plus {num_median, den_median: the two groups' medians of the
#          figure, value: num_median / den_median (null when either is missing or the
#          denominator is 0), per_run: [run i's num / run i's den, for the runs that have
#          both], min, max (of per_run)}.
# RATIOS (--argjson spec): [{"name": "...", "num": [SCENARIO, SYSTEM, PHASE, KEY],
#                            "den": [SCENARIO, SYSTEM, PHASE, KEY], ...}, ...]; other keys
# (target, note) pass through.

def median:
  sort | length as $n
  | if $n == 0 then null
    elif $n % 2 == 1 then .[($n - 1) / 2]
    else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;

def stats: {median: median, min: min, max: max, n: length};

def skip: . == "run" or . == "seq" or . == "_i";

def groups:
  [to_entries[] | .value + {_i: .key}]
  | group_by([.scenario, .system, .phase])
  | map(sort_by(._i)
        | . as $runs
        | ([$runs[] | to_entries[] | select((.value | type) == "number" and (.key | skip | not))
            | .key] | unique) as $keys
        | {_first: $runs[0]._i,
           scenario: $runs[0].scenario, system: $runs[0].system, phase: $runs[0].phase,
           runs: ($runs | length),
           figures: ([$keys[] as $k
                      | {key: $k,
                         value: ([$runs[] | .[$k] | select(type == "number")] | stats)}]
                     | from_entries),
           values: ([$keys[] as $k
                     | {key: $k,
                        value: [$runs[] | .[$k] | if type == "number" then . else null end]}]
                    | from_entries)})
  | sort_by(._first) | map(del(._first));

def find($g; $q):
  first($g[] | select(.scenario == $q[0] and .system == $q[1] and .phase == $q[2])) // null;

def ratio($g):
  . as $r
  | find($g; $r.num) as $a
  | find($g; $r.den) as $b
  | ($a.figures[$r.num[3]].median // null) as $x
  | ($b.figures[$r.den[3]].median // null) as $y
  | (($a.values[$r.num[3]] // []) as $xs
     | ($b.values[$r.den[3]] // []) as $ys
     | [range(0; [($xs | length), ($ys | length)] | min) as $i
        | [$xs[$i], $ys[$i]]
        | select(.[0] != null and .[1] != null and .[1] != 0)
        | .[0] / .[1]]) as $pr
  | $r + {num_median: $x, den_median: $y,
          value: (if $x != null and $y != null and $y != 0 then $x / $y else null end),
          per_run: $pr, min: ($pr | min), max: ($pr | max)};

groups as $g | {groups: $g, ratios: [$spec[] | ratio($g)]}
