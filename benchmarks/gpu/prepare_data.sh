#!/usr/bin/env bash
# The training photos for the published-size run on the GPU machine, which ../shared does not
# reach: the model card's training set (daytime/ and daytime-extra/ less the held-out split
# and the long exposures) shrunk to a 256-px shorter side (the last phase's crop), as JPEG,
# with its class CSV, within what is left of the call's 64 MiB beside the working tree and
# the wheels (benchmarks/gpu/training_set.py: all of it at the highest quality that fits,
# else a share of each class). The folder must be one git ignores: the photos are not the
# project's to commit.
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
python3 benchmarks/gpu/training_set.py "$shared" "$folder" "$side" "$budget"
benchmarks/gpu/travel_size.sh .whl "$folder"
