#!/usr/bin/env bash
# Device call 1: the CUDA paths proven and the GPU speed table, within BUDGET_S seconds
# (default 230) from the start, the install included; everything into $OUT.
#
#   benchmarks/gpu/call1_proof_and_speed.sh [BUDGET_S]
#
# 1. Install (benchmarks/gpu/install.sh); the machine, torch and package versions → machine.txt.
# 2. The CUDA tests and the parity tests (tests/test_cuda.py, tests/test_parity.py; the parity
#    fixtures live in ../shared, which does not travel, so those skip there and the CUDA tests
#    compare CUDA with the CPU instead) → tests.log, stopped after 45 % of the time left.
# 3. benchmarks/bench_gpu.py → gpu-table.md (written again after every row) and bench.log; no
#    row starts later than 40 s before the budget ends.
#
# HIDT_CALL1_CPU_CHECK=1 runs the same steps on a CPU with small settings, to check this
# script: the tests with HIDT_CUDA_TESTS_ON_CPU=1 (torch.compile left out: minutes on a CPU),
# the benchmark with --quick --device cpu.
set -uo pipefail
budget=${1:-230}
: "${OUT:?OUT must name the folder whose files come back}"
cd "$(dirname "$0")/../.." || exit 1
export PYTHONUNBUFFERED=1
left() { echo $((budget - SECONDS)); }

source benchmarks/gpu/install.sh || exit 1
{
  date -u
  nvidia-smi 2>&1 || echo "no nvidia-smi"
  python3 -c "import sys, torch; print('Python', sys.version.split()[0], '| torch', torch.__version__, '| CUDA', torch.version.cuda, '| cuDNN', torch.backends.cudnn.version(), '| devices', [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])"
  python3 -m pip list 2>/dev/null | grep -iE '^(av|typer|rich|pillow|numpy|opencv-python-headless|safetensors|huggingface.hub|pytest|hypothesis|setuptools|triton|hidt) '
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

tests=(tests/test_cuda.py tests/test_parity.py)
bench=()
if [ "${HIDT_CALL1_CPU_CHECK:-}" = 1 ]; then
  export HIDT_CUDA_TESTS_ON_CPU=1
  tests+=(-k "not compile")
  bench=(--quick --device cpu --skip hires-compiled)
fi
tests_s=$(($(left) * 45 / 100))
echo "== tests, at most ${tests_s} s" | tee "$OUT/tests.log"
timeout -k 5 "$tests_s" python3 -m pytest -v -rs -p no:cacheprovider "${tests[@]}" 2>&1 |
  tee -a "$OUT/tests.log"
echo "== tests exit ${PIPESTATUS[0]} after ${SECONDS} s" | tee -a "$OUT/tests.log"

deadline=$(($(left) - 40))
echo "== benchmark, rows starting within ${deadline} s" | tee "$OUT/bench.log"
timeout -k 5 "$(($(left) - 5))" python3 benchmarks/bench_gpu.py --deadline "$deadline" \
  --out "$OUT/gpu-table.md" "${bench[@]}" 2>&1 | tee -a "$OUT/bench.log"
echo "== benchmark exit ${PIPESTATUS[0]}; done after ${SECONDS} s of ${budget}" | tee -a "$OUT/bench.log"
