#!/usr/bin/env bash
# End-to-end benchmark: for each size (default 1 M and 10 M records, 300 areas, 20 quarters),
# generates the synthetic data, runs `jsna run` on it, and runs an independent DuckDB
# computation of the same record indicators on the same Parquet file (benches/duckdb_indicators.py).
# Prints wall time and peak memory (/usr/bin/time -v) for each, jsna's stage timings from its
# manifest (with the peak memory after each), and the jsna / DuckDB time ratio. Needs the release binary and Python 3.11+:
#   cargo build --release && bash benches/e2e.sh [RECORDS...]
# DuckDB is installed with pip into a virtual environment under ~/.cache (once).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${JSNA:-${CARGO_TARGET_DIR:-target}/release/jsna}
BIN=$(realpath "$BIN" 2>/dev/null || echo "$BIN")
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
VENV=${JSNA_BENCH_VENV:-$HOME/.cache/jsna-bench-venv}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 10000000)
[ -x "$BIN" ] || { echo "no release binary at $BIN: run cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import duckdb" 2>/dev/null; then
  echo "installing duckdb into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q duckdb
fi

measure() { # label, command...: runs it, prints wall and peak RSS, returns the seconds in $SECS
  local label=$1; shift
  /usr/bin/time -v "$@" > "$WORK/out.txt" 2> "$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/time.txt" | awk '{print $NF}')
  SECS=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  printf '  %-34s wall %9s s   peak RSS %7.0f MiB\n' "$label" "$SECS" "$((rss / 1024))"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sm); jsna $("$BIN" --version | awk '{print $2}'); duckdb $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
for n in "${SIZES[@]}"; do
  dir="$WORK/n$n"
  echo "== $n records, 300 areas, 20 quarters ($dir)"
  measure "jsna sample-data" "$BIN" -q sample-data --out "$dir" --records "$n" --areas 300 --periods 20
  measure "jsna run" "$BIN" -q run "$dir/pipeline.toml"
  jsna_secs=$SECS
  python3 -c "
import json, sys
m = json.load(open(sys.argv[1]))
print('  stages (s): ' + ', '.join(f'{k} {v:.2f}' for k, v in m['not_reproducible']['stage_seconds'].items()))
print('  peak memory after each stage (MiB): ' + ', '.join(f'{k} {v}' for k, v in m['not_reproducible'].get('peak_memory_mib_after_stage', {}).items()))
" "$dir/report/manifest.json"
  measure "duckdb (record indicators only)" "$VENV/bin/python" benches/duckdb_indicators.py "$dir/pipeline.toml" "$dir/duckdb.parquet"
  sed 's/^/  /' "$WORK/out.txt"
  awk -v a="$jsna_secs" -v b="$SECS" 'BEGIN { printf "  ratio jsna run / duckdb: %.2f\n", a / b }'
done
