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
echo "== target-probability losses vs ce"; bench/target_probability_vs_ce.sh 4096 32000 2 | tee "$out/target_probability_vs_ce.md"
echo "== ce, 1 thread";   $cli bench --loss ce --rows 4096 --classes 32000 --threads 1 --json | tee "$out/ce_1thread.json"
echo "== GEMM";           dotnet run -c Release --project bench/LossKit.Benchmarks -- gemm-quick 1 2 | tee "$out/gemm.txt"
echo "== GEMM vs OpenBLAS"
for t in 2 1; do
  /usr/bin/python3 bench/gemm_vs_openblas.py --threads $t \
    --shapes 1024x1024x1024,4096x8192x512,128x784x256,128x256x784,8192x1024x32000 | tee "$out/gemm_vs_openblas_$t.md"
done
echo "== linear_ce vs PyTorch"; /usr/bin/python3 bench/compare_torch_linear.py --runs 3 --json "$out/linear_ce.json" | tee "$out/linear_ce.md"
echo "== lambdarank, listmle vs PyTorch"; /usr/bin/python3 bench/compare_torch_ranking.py --runs 5 --rounds 3 | tee "$out/ranking_vs_torch.md"
echo "== linear_ce memory against N"
for n in 2048 4096 8192 16384 32768; do
  $cli bench --loss linear_ce --rows $n --dim 1024 --classes 32000 --threads 2 --runs 1 --fused-only --json
done | tee "$out/linear_ce_memory.jsonl"
echo "== MLP epochs vs PyTorch"; /usr/bin/python3 bench/torch_mlp.py --threads 2 --epochs 3 --json "$out/mlp.json" | tee "$out/mlp.txt"
echo "== default compare"; /usr/bin/time -v $cli compare --out "$out/compare" > "$out/compare.txt" 2> "$out/compare.time"; grep -E "Elapsed|Maximum resident" "$out/compare.time"
