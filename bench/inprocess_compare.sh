#!/usr/bin/env bash
# The same in-process harness (bench/inprocess) against two builds of the library, alternating processes, so that the
# comparison is of the library and not of the CLI's benchmark code. Both checkouts must be at or after the relayout
# (namespaces LossKit.Core/Kernels/Catalog), e.g. commit ac45e8d and main.
# Usage: bench/inprocess_compare.sh OLD_CHECKOUT NEW_CHECKOUT ROUNDS SECONDS "SPEC ROWS CLASSES THREADS" ...
set -euo pipefail
old=$1; new=$2; rounds=$3; secs=$4; shift 4
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
for v in old new; do
  src=${!v}
  dotnet build "$src/src/LossKit" -c Release -nologo -clp:ErrorsOnly >/dev/null
  dotnet build "$here/inprocess" -c Release -nologo -clp:ErrorsOnly -p:LK="$src/src/LossKit/bin/Release/net10.0" -o "$out/$v" >/dev/null
done
echo "| case | old median of p10 ms | new median of p10 ms | new/old | old min p10 | new min p10 |"
echo "|---|---:|---:|---:|---:|---:|"
for c in "$@"; do
  read -r spec rows classes threads <<< "$c"
  : > "$out/r.txt"
  for i in $(seq "$rounds"); do
    for v in old new; do echo "$v $(dotnet "$out/$v/inprocess.dll" "$spec" "$rows" "$classes" "$threads" "$secs")" >> "$out/r.txt"; done
  done
  python3 - "$out/r.txt" "$spec ${rows}×${classes}, $threads threads" <<'PY'
import sys, statistics
p10 = {"old": [], "new": []}
for line in open(sys.argv[1]):
    v, med, q, n = line.split()
    p10[v].append(float(q))
o, n = statistics.median(p10["old"]), statistics.median(p10["new"])
print(f"| {sys.argv[2]} | {o:.3f} | {n:.3f} | {n / o:.3f} | {min(p10['old']):.3f} | {min(p10['new']):.3f} |")
PY
done
rm -rf "$out"
