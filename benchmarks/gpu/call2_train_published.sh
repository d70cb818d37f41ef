#!/usr/bin/env bash
# Device call 2: published-size generator weights by the model card's recipe (published width
# and depth, weights/training/translator-gpu-published.json; 128-px crops, then 256-px crops;
# the paired term on the card's fixed-camera scenes; the 7 balanced classes of the class
# CSV), trained so that training ends two minutes before the command's limit.
#
#   benchmarks/gpu/call2_train_published.sh LIMIT_S     # LIMIT_S: the command's time limit
#
# 1. Install (benchmarks/gpu/install.sh).
# 2. Calibrate: 25 steps at each phase's crop and batch from random weights, checkpointing at
#    steps 22 and 44; the log's clock gives steps/s of each phase (past the first steps) and
#    what a checkpoint with its export costs, and the run's wall time less all that the fixed
#    cost of a run (start-up, data, the last export and the samples).
# 3. Train: --curriculum N1:128:32,N2:256:8 with N1, N2 from those rates: 60 % of the time left
#    after the fixed cost and one checkpoint half-way at 128 px, 40 % at 256 px (the default
#    curriculum's share), times 0.9 for safety, so that the run ends LIMIT_S − 120 s after the
#    start. `hidt train` has no clock of its own,
#    so a timeout stops it 45 s before the limit if it runs slower than measured; then the
#    weights of its checkpoint half-way (exported with every checkpoint) are returned.
# 4. Into $OUT: generator.safetensors in pieces under 16 MiB (join_weights.sh joins and checks
#    them), the newest sample grid, log.jsonl, the command's output and summary.txt.
#
# For a check on a CPU: HIDT_TRAIN_CONFIG (a small network), HIDT_TRAIN_PHASES (CROP:BATCH of
# the two phases, default 128:32,256:8), HIDT_TRAIN_WORKERS (default 8), HIDT_TRAIN_DATA
# (default scratch/gpu-train, made by prepare_data.sh), HIDT_RUN (default /tmp/hidt-published).
set -uo pipefail
limit=${1:?usage: call2_train_published.sh LIMIT_S, the time limit of the command in seconds}
: "${OUT:?OUT must name the folder whose files come back}"
cd "$(dirname "$0")/../.." || exit 1
export PYTHONUNBUFFERED=1
data=${HIDT_TRAIN_DATA:-scratch/gpu-train}
config=${HIDT_TRAIN_CONFIG:-weights/training/translator-gpu-published.json}
phases=${HIDT_TRAIN_PHASES:-128:32,256:8}
workers=${HIDT_TRAIN_WORKERS:-8}
run=${HIDT_RUN:-/tmp/hidt-published}
margin=120 # seconds between the end of training and the limit
backstop=45 # the timeout stops training this long before the limit
log="$OUT/train.log"
summary="$OUT/summary.txt"
IFS=, read -r first second <<<"$phases"
[ -d "$data/photos" ] || { echo "$data/photos: no training photos (prepare_data.sh)" >&2; exit 1; }

source benchmarks/gpu/install.sh || exit 1
train=(python3 -m hidt_cli train "$data/photos" --classes "$data/classes.csv"
  --pairs weights/training/scenes.json --config "$config" --workers "$workers" --quiet)
rm -rf "$run" "$run-calibration"

echo "== calibration: 25 steps at $first, 25 at $second" | tee -a "$log"
started=$(date +%s.%N)
"${train[@]}" --out "$run-calibration" --curriculum "25:$first,25:$second" --log-every 5 \
  --sample-every 1000000 --checkpoint-every 22 >>"$log" 2>&1 ||
  { echo "calibration failed" >&2; tail -20 "$log" >&2; exit 1; }
calibration_s=$(python3 -c "import time; print(time.time() - $started)")

# N1 N2 CHECKPOINT_EVERY and the numbers behind them
plan=$(python3 - "$run-calibration/log.jsonl" "$calibration_s" "$((limit - margin - SECONDS))" <<'EOF'
import json
import sys

records = [json.loads(line) for line in open(sys.argv[1])]
clock = {r["step"]: r["elapsed_s"] for r in records}
wall, left = float(sys.argv[2]), float(sys.argv[3])
# checkpoints (each with its export) at steps 22 and 44, phase 2 from step 26
first = 15 / (clock[20] - clock[5])  # steps/s
second = 10 / (clock[40] - clock[30])
checkpoint = max(0.0, clock[25] - clock[20] - 5 / first)
fixed = wall - 25 / first - 25 / second - 2 * checkpoint  # start-up, last export, samples
training = max(0.0, left - fixed - checkpoint)  # the run checkpoints once half-way
n1 = max(1, int(0.9 * 0.6 * training * first))
n2 = max(1, int(0.9 * 0.4 * training * second))
print(n1, n2, (n1 + n2) // 2 + 1)
print(
    f"steps/s {first:.2f} (phase 1), {second:.2f} (phase 2); a checkpoint {checkpoint:.0f} s; "
    f"fixed cost of a run {fixed:.0f} s; {left:.0f} s left for the run, {training:.0f} s of it "
    f"training: {n1} + {n2} steps"
)
EOF
) || { echo "no plan from the calibration" >&2; exit 1; }
read -r n1 n2 every <<<"$(head -1 <<<"$plan")"
echo "== $(tail -1 <<<"$plan")" | tee -a "$log"

stop=$((limit - backstop - SECONDS))
echo "== training: --curriculum $n1:$first,$n2:$second, stopped after $stop s at most" | tee -a "$log"
timeout -k 10 "$stop" "${train[@]}" --out "$run" --curriculum "$n1:$first,$n2:$second" --log-every 25 \
  --sample-every $((n1 + n2 + 1)) --checkpoint-every "$every" >>"$log" 2>&1
status=$?
[ -f "$run/generator.safetensors" ] || { echo "no weights written (exit $status)" >&2; tail -20 "$log" >&2; exit 1; }
if [ "$status" -eq 0 ]; then ended="finished all $((n1 + n2)) steps"; else ended="stopped (exit $status): the weights are the half-way checkpoint's"; fi

split -b 15M -d -a 2 "$run/generator.safetensors" "$OUT/generator.safetensors.part-"
cp "$run/log.jsonl" "$OUT/log.jsonl"
sample=$(ls "$run"/samples/*.png 2>/dev/null | tail -1)
if [ -n "$sample" ]; then
  python3 - "$sample" "$OUT" <<'EOF'
import sys
from pathlib import Path

from PIL import Image

sample, out = Path(sys.argv[1]), Path(sys.argv[2])
if sample.stat().st_size < 15 * 2**20:
    (out / sample.name).write_bytes(sample.read_bytes())
else:  # a grid too large to come back as PNG
    Image.open(sample).convert("RGB").save(out / f"{sample.stem}.jpg", quality=92)
EOF
fi
{
  echo "limit ${limit} s; calibration $(tail -1 <<<"$plan")"
  echo "run: $ended; $(tail -1 "$run/log.jsonl")"
  echo "sha256 $(sha256sum "$run/generator.safetensors" | cut -d' ' -f1)  generator.safetensors"
  echo "join: benchmarks/gpu/join_weights.sh THIS_FOLDER"
} >"$summary"
cat "$summary"
ls -l "$OUT"
echo "== done after ${SECONDS} s of ${limit}"
