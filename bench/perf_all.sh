#!/usr/bin/env bash
# Every measurement docs/performance.md cites, one after another, raw outputs in OUT (default bench-out/).
# Needs python3-torch (and libopenblas0 for a fair PyTorch MLP/GEMM baseline). Run on a quiet machine.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-out}; mkdir -p "$out"
dotnet build LossKit.slnx -c Release -nologo -clp:ErrorsOnly >/dev/null || exit 1
cli="dotnet src/LossKit.Cli/bin/Release/net10.0/LossKit.Cli.dll"
{ lscpu | grep -E "Model name|^CPU\(s\)|L2|L3"; nproc; free -g | head -2; uptime; } > "$out/machine.txt"
echo "== ce vs PyTorch";  /usr/bin/python3 bench/compare_torch.py --threads 2 --json "$out/ce_vs_torch.json" | tee "$out/ce_vs_torch.md"
echo "== section B vs ce"; bench/section_b.sh 4096 32000 2 | tee "$out/section_b.md"
echo "== ce, 1 thread";   $cli bench --loss ce --rows 4096 --classes 32000 --threads 1 --json | tee "$out/ce_1thread.json"
echo "== GEMM";           dotnet run -c Release --project bench/LossKit.Benchmarks -- gemm-quick 1 2 | tee "$out/gemm.txt"
echo "== MLP epoch vs PyTorch"; /usr/bin/python3 bench/torch_mlp.py --threads 2 --json "$out/mlp.json" | tee "$out/mlp.txt"
echo "== default compare"; /usr/bin/time -v $cli compare --out "$out/compare" > "$out/compare.txt" 2> "$out/compare.time"; grep -E "Elapsed|Maximum resident" "$out/compare.time"
