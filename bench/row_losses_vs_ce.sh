#!/usr/bin/env bash
# The row losses (functions of a row given its target that are not target-probability losses) against ce on one
# shape, in one run: prints a Markdown table with each loss's loss+gradient time and its ratio to ce (ce is timed
# first and again last; the ratio uses the mean of the two, so a load change during the run shows as ce's drift).
# Usage: bench/row_losses_vs_ce.sh [ROWS] [CLASSES] [THREADS] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-4096}; classes=${2:-32000}; threads=${3:-2}
[ "${4:-}" = "--no-build" ] || dotnet build src/LossKit.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
run() { dotnet src/LossKit.Cli/bin/Release/net10.0/LossKit.Cli.dll bench --loss "$1" --rows "$rows" --classes "$classes" --threads "$threads" --runs 9 --json; }
seconds() { echo "$1" | sed -E 's/.*"seconds_median":([0-9.eE-]+).*/\1/'; }
specs=("squentropy" "taylor" "spherical" "stablemax" "zloss" "ldr_kl" "logit_adjusted" "decoupled_softmax"
       "hinge_cs" "hinge_ww" "multimargin" "ovr_sq_hinge" "perceptron")
ce1=$(seconds "$(run ce)")
declare -A out
for spec in "${specs[@]}"; do out[$spec]=$(run "$spec"); done
ce2=$(seconds "$(run ce)")
ce=$(awk -v a="$ce1" -v b="$ce2" 'BEGIN { print (a + b) / 2 }')
echo "uptime: $(uptime)"
echo "ce: $ce1 s first, $ce2 s last"
echo
echo "| loss | loss+gradient s | ratio to ce | forward s | GB/s | fraction of copy |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "${specs[@]}"; do
  j=${out[$spec]}
  get() { echo "$j" | sed -E "s/.*\"$1\":([0-9.eE-]+).*/\1/"; }
  awk -v s="$spec" -v t="$(get seconds_median)" -v ce="$ce" -v f="$(get forward_seconds_median)" -v g="$(get gbps)" -v c="$(get fraction_of_copy)" \
    'BEGIN { printf "| `%s` | %.4f | %.2f | %.4f | %.1f | %.2f |\n", s, t, t / ce, f, g, c }'
done
