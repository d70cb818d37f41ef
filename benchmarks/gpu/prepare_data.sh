#!/usr/bin/env bash
# The training photos for the published-size run on the GPU machine, which ../shared does not
# reach: the model card's training set (daytime/ and daytime-extra/ less the held-out split
# and the long exposures; weights/README.md, "How they were trained", step 1) shrunk to a
# 256-px shorter side (the last phase's crop) and saved as JPEG at the highest quality that
# keeps the call within 64 MiB beside the working tree and the wheels; with its class CSV.
# The folder must be one git ignores: the photos are not the project's to commit.
#
#   benchmarks/gpu/prepare_data.sh [FOLDER] [SHORTER_SIDE]    # default scratch/gpu-train 256
set -euo pipefail
cd "$(dirname "$0")/../.."
folder=${1:-scratch/gpu-train}
side=${2:-256}
shared=${HIDT_SHARED:-../shared/data}
mkdir -p "$folder"
if ! git check-ignore -q "$folder"; then
  echo "$folder: git does not ignore it; the photos must not be committed" >&2
  exit 1
fi
rm -rf "$folder/photos" "$folder/classes.csv"
[ -d .whl ] || { echo ".whl: fetch the wheels first (benchmarks/gpu/fetch_wheels.sh)" >&2; exit 1; }
# what travels without the photos, and 1.5 MiB to spare for what is added before the call
used=$(benchmarks/gpu/travel_size.sh --bytes .whl)
budget=$(((64 * 1048576 - 1572864) - used))
python3 - "$shared" "$folder" "$side" "$budget" <<'EOF'
import csv
import io
import json
import sys
from pathlib import Path

from PIL import Image

from hidt_cli.photosets import LONG_EXPOSURES, TRANSLATOR_CLASS_RULES, class_of, held_out

shared, folder, side, budget = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scenes = json.loads(Path("weights/training/heldout-scenes.json").read_text())["scenes"]
held = frozenset(frame for frames in scenes.values() for frame in frames)
photos = {}
for source in ("daytime", "daytime-extra"):
    for path in sorted((shared / source).glob("*.jpg")):
        if path.name in LONG_EXPOSURES or held_out(path.name, held):
            continue
        image = Image.open(path).convert("RGB")
        scale = side / min(image.size)
        if scale < 1:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        photos[path.name] = image


def encoded(quality: int) -> dict[str, bytes]:
    out = {}
    for name, image in photos.items():
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        out[name] = buffer.getvalue()
    return out


for quality in (95, 90, 85, 80, 75, 70, 65, 60):
    files = encoded(quality)
    total = sum(map(len, files.values()))
    if total <= budget:
        break
else:
    sys.exit(f"{len(photos)} photos at quality 60 take {total / 2**20:.1f} MiB, more than the "
             f"{budget / 2**20:.1f} MiB left: give a smaller shorter side")
(folder / "photos").mkdir()
for name, data in files.items():
    (folder / "photos" / name).write_bytes(data)
with open(folder / "classes.csv", "w", newline="") as stream:
    writer = csv.writer(stream)
    writer.writerow(("file", "class"))
    writer.writerows((name, class_of(name, TRANSLATOR_CLASS_RULES)) for name in files)
print(f"{folder}: {len(files)} photos, shorter side ≤ {side} px, JPEG quality {quality}, "
      f"{total / 2**20:.1f} MiB (room for {budget / 2**20:.1f})")
EOF
benchmarks/gpu/travel_size.sh .whl "$folder"
