#!/usr/bin/env bash
# Times `jsna calc rate` on 10 million rows into 100,000 groups (CSV and Parquet input) and
# prints wall time and peak memory from /usr/bin/time -v. Needs the release binary:
#   cargo build --release && bash benches/calc_rate.sh [ROWS] [GROUPS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
NGROUPS=${2:-100000}
BIN=${JSNA:-${CARGO_TARGET_DIR:-target}/release/jsna}
WORK=${WORK:-$(mktemp -d)}
[ -x "$BIN" ] || { echo "no release binary at $BIN: run cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

echo "generating $ROWS rows in $NGROUPS groups in $WORK"
awk -v rows="$ROWS" -v groups="$NGROUPS" 'BEGIN {
  srand(20240331); print "area,numerator,denominator";
  for (i = 0; i < rows; i++) printf "g%06d,%d,%d\n", i % groups, int(rand() * 20), 1000 + int(rand() * 9000)
}' > "$WORK/rates.csv"
ls -l "$WORK/rates.csv"

run() {
  local label=$1; shift
  /usr/bin/time -v "$BIN" -q "$@" 2> "$WORK/time.txt"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/time.txt" | awk '{print $NF}')
  printf '%-40s wall %8s   peak RSS %8.0f MiB\n' "$label" "$wall" "$((rss / 1024))"
}

run "calc rate, CSV in, CSV out" calc rate --input "$WORK/rates.csv" --output "$WORK/out.csv" --group-by area
"$BIN" -q calc rate --input "$WORK/rates.csv" --output "$WORK/out.parquet" --group-by area
run "calc rate, CSV in, Parquet out" calc rate --input "$WORK/rates.csv" --output "$WORK/out.parquet" --group-by area
echo "groups written: $(($(wc -l < "$WORK/out.csv") - 1))"
