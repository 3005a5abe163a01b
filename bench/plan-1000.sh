#!/usr/bin/env bash
# Issue 14 item 4: `surge plan` on the HamBaller 10x scenario over >= 1,000 points, and the
# equality check on a 60-point subgrid (the multi-fidelity answer against the exhaustive
# full-length grid's). Not a test: it takes a long time. Results go under $OUT.
#
#   bench/plan-1000.sh              # the full benchmark (1,080 points, then the 60-point check)
#   bench/plan-1000.sh grid         # only the 1,080-point plan
#   bench/plan-1000.sh check        # only the 60-point equality check
#   SMOKE=1 bench/plan-1000.sh      # a tiny version (2 x 2 points, 1-minute runs) to try the script
#
# Environment: SURGE (binary, default target/release/surge), JOBS (default 2), OUT (default
# results/plan-1000), SCREEN (screening fraction, default 0.2).
set -euo pipefail
cd "$(dirname "$0")/.."
SURGE=${SURGE:-target/release/surge}
JOBS=${JOBS:-2}
OUT=${OUT:-results/plan-1000}
SCREEN=${SCREEN:-0.2}
SCENARIO=scenarios/hamballer-10x-plan.yaml
WHAT=${1:-all}
mkdir -p "$OUT"

# The grid file's flags, one per line; `--param X=Y` becomes two words.
mapfile -t GRID < <(grep -v '^\s*#' scenarios/hamballer-10x-plan-grid.txt | grep -v '^\s*$')
ARGS=()
for line in "${GRID[@]}"; do
  read -r flag value <<<"$line"
  ARGS+=("$flag" "$value")
done

if [[ -n "${SMOKE:-}" ]]; then
  # 2 x 2 points, one replication, runs cut to one simulated minute.
  ARGS=(--param services.api.replicas=8,16
        --param services.backend.replicas=15,25
        --param scenarios.load_10x.duration=1m
        --monotone services.api.replicas
        --monotone services.backend.replicas
        --objective infrastructure --replications 1)
fi

timed() { # name, then the command
  local name=$1; shift
  echo "== $name: $*"
  /usr/bin/time -f "$name: wall %e s, user %U s, sys %S s, max RSS %M KiB" "$@" \
    >"$OUT/$name.log" 2>"$OUT/$name.time" || true
  tail -n 1 "$OUT/$name.time"
}

answer() { # plan.json -> the chosen point's parameters (or "none")
  python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["best"]; print(json.dumps(b["params"] if b else None, sort_keys=True))' "$1"
}

if [[ $WHAT == all || $WHAT == grid ]]; then
  rm -rf "$OUT/grid"
  timed grid "$SURGE" plan "$SCENARIO" "${ARGS[@]}" --screen "$SCREEN" --jobs "$JOBS" --out "$OUT/grid" --quiet
  echo "answer: $(answer "$OUT/grid/plan.json")"
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print("search:", json.dumps(p["search"])); print("screening:", json.dumps({k: v for k, v in p["screening"].items() if k != "rejected_cheaper"}), "rejected_cheaper:", len(p["screening"]["rejected_cheaper"]))' "$OUT/grid/plan.json"
fi

if [[ $WHAT == all || $WHAT == check ]]; then
  # The subgrid: 4 API x 3 backend pod counts x 5 read-replica counts = 60 points, pools of 20,
  # the other parameters at the scenario's values.
  SUB=(--param services.api.replicas=8..20:4
       --param services.backend.replicas=15..25:5
       --param database.read_replicas=4..8
       --param database.pool.max=20
       --objective infrastructure --replications 3 --confidence 0.95)
  if [[ -n "${SMOKE:-}" ]]; then
    SUB=(--param services.api.replicas=8,16
         --param services.backend.replicas=15,25
         --param scenarios.load_10x.duration=1m --objective infrastructure --replications 1)
  fi
  rm -rf "$OUT/sub-exhaustive" "$OUT/sub-fidelity"
  # Exhaustive: every point, full length, every replication run to the end.
  timed sub-exhaustive "$SURGE" plan "$SCENARIO" "${SUB[@]}" --no-early-stop --jobs "$JOBS" --out "$OUT/sub-exhaustive" --quiet
  timed sub-fidelity "$SURGE" plan "$SCENARIO" "${SUB[@]}" \
    --monotone services.api.replicas --monotone services.backend.replicas \
    --monotone database.read_replicas --screen "$SCREEN" --jobs "$JOBS" --out "$OUT/sub-fidelity" \
    --quiet
  a=$(answer "$OUT/sub-exhaustive/plan.json"); b=$(answer "$OUT/sub-fidelity/plan.json")
  echo "exhaustive: $a"
  echo "multi-fidelity: $b"
  if [[ "$a" == null ]]; then echo "VACUOUS: nothing passes in the exhaustive plan"; exit 1; fi
  if [[ "$a" == "$b" ]]; then echo "EQUAL"; else echo "DIFFERENT"; exit 1; fi
fi
