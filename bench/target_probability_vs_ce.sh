#!/usr/bin/env bash
# The target-probability losses against ce on one shape, in one run: prints a Markdown table with each loss's
# loss+gradient time and its ratio to ce. Usage: bench/target_probability_vs_ce.sh [ROWS] [CLASSES] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-4096}; classes=${2:-32000}; threads=${3:-2}
dotnet build src/LossKit.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
run() { dotnet src/LossKit.Cli/bin/Release/net10.0/LossKit.Cli.dll bench --loss "$1" --rows "$rows" --classes "$classes" --threads "$threads" --runs 9 --json; }
ce=$(run ce | sed -E 's/.*"seconds_median":([0-9.eE-]+).*/\1/')
echo "| loss | loss+gradient s | ratio to ce | forward s | GB/s | fraction of copy |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "ce" "ce(smoothing=0.1)" "focal(gamma=2)" "poly(eps=1)" "polyn(eps=[1,0.5])" "gce(q=0.7)" "gce(q=0.7, k=0.5)" "mae" "compsum(tau=0.5)" "sce"; do
  j=$(run "$spec")
  get() { echo "$j" | sed -E "s/.*\"$1\":([0-9.eE-]+).*/\1/"; }
  awk -v s="$spec" -v t="$(get seconds_median)" -v ce="$ce" -v f="$(get forward_seconds_median)" -v g="$(get gbps)" -v c="$(get fraction_of_copy)" \
    'BEGIN { printf "| `%s` | %.4f | %.2f | %.4f | %.1f | %.2f |\n", s, t, t / ce, f, g, c }'
done
