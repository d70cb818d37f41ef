#!/usr/bin/env bash
# Join the pieces of generator.safetensors that call 2 returned, check them against the
# sha256 in its summary.txt, and load the result as hidt does (sizes, presets, a translation).
#
#   benchmarks/gpu/join_weights.sh FOLDER [DEST]    # DEST default: FOLDER/generator.safetensors
set -euo pipefail
folder=${1:?usage: join_weights.sh FOLDER_WITH_PIECES [DEST]}
dest=${2:-$folder/generator.safetensors}
pieces=("$folder"/generator.safetensors.part-*)
[ -e "${pieces[0]}" ] || { echo "$folder: no generator.safetensors.part-* pieces" >&2; exit 1; }
expected=$(awk '$1 == "sha256" { print $2 }' "$folder/summary.txt")
temporary="$dest.joining"
cat "${pieces[@]}" >"$temporary"
actual=$(sha256sum "$temporary" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
  rm -f "$temporary"
  echo "$dest: sha256 $actual of the joined pieces is not $expected (summary.txt)" >&2
  exit 1
fi
mv "$temporary" "$dest"
python3 - "$dest" <<'EOF'
import sys

import numpy as np

import hidt_cli

model = hidt_cli.load(sys.argv[1], device="cpu")
parameters = sum(p.numel() for p in model.generator.parameters())
photo = np.random.default_rng(0).integers(0, 256, (128, 192, 3), dtype=np.uint8)
night = model.translate(photo, "night" if "night" in model.presets else (0.0, 0.0, 0.0))
print(f"{sys.argv[1]}: {parameters:,} parameters, {model.generator.config}")
print(f"presets: {', '.join(model.presets)}; a 192×128 photo translated to {night.size}")
EOF
