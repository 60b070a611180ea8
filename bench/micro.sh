#!/usr/bin/env bash
# micro.sh - runs the BenchmarkDotNet suite (bench/Postfix.Bench) in Release and
# copies its GitHub-markdown reports to perf-results/micro/, with a README noting
# date, commit and machine. Bounded: the whole suite is capped by TIMEOUT seconds.
# Usage:   bench/micro.sh [BenchmarkDotNet args]      (default: --filter '*')
# Knobs:   TIMEOUT=1200
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMEOUT=${TIMEOUT:-1200}
ART="$ROOT/bench/BenchmarkDotNet.Artifacts"
OUT="$ROOT/perf-results/micro"
(( $# )) || set -- --filter '*'

rm -rf "$ART/results"
mkdir -p "$OUT"
cd "$ROOT"
timeout "$TIMEOUT" dotnet run -c Release --project bench/Postfix.Bench -- --artifacts "$ART" "$@"

shopt -s nullglob
reports=("$ART"/results/*-report-github.md)
(( ${#reports[@]} )) || { echo "micro.sh: no reports in $ART/results" >&2; exit 1; }
for f in "${reports[@]}"; do
  name=$(basename "$f"); name=${name#Postfix.Bench.}
  cp "$f" "$OUT/$name"
done

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$([[ -n $(git -C "$ROOT" status --porcelain -- src bench 2>/dev/null) ]] && echo " (+ uncommitted changes in src/ or bench/)" || true)
{
  echo "# Micro-benchmarks (BenchmarkDotNet)"
  echo
  ran=$(for f in "${reports[@]}"; do n=$(basename "$f"); n=${n#Postfix.Bench.}; printf '%s ' "${n%-report-github.md}"; done)
  echo "Last run: $(date -u +%FT%TZ), commit \`$commit\`$dirty, $(nproc) CPUs, $(uname -r); it ran: ${ran% }."
  echo
  echo "Reproduce: \`bench/micro.sh\` (Release, \`--filter '*'\`; short jobs: 3 warmup + 8 measured iterations)."
  echo "Every smtpd hot-path benchmark must show \`-\` (0 B) in the Allocated column."
  echo
  echo "| file | benchmarks |"
  echo "|---|---|"
  # Every report kept here, not only this run's (a filtered run updates its own files).
  for f in "$OUT"/*-report-github.md; do
    name=$(basename "$f")
    echo "| [$name]($name) | ${name%-report-github.md} |"
  done
} > "$OUT/README.md"
echo "micro.sh: reports copied to $OUT"
