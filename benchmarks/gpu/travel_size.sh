#!/usr/bin/env bash
# Bytes that travel to the GPU machine with a call: the working tree (tracked files, and
# untracked ones git does not ignore) plus the carried paths given as arguments. The limit
# is 64 MiB a call.
#
#   benchmarks/gpu/travel_size.sh .whl scratch/gpu-train
#   benchmarks/gpu/travel_size.sh --bytes .whl             # the total alone, in bytes
set -euo pipefail
cd "$(dirname "$0")/../.."
bytes_only=false
if [ "${1:-}" = "--bytes" ]; then bytes_only=true; shift; fi
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null \
  | awk '{ s += $1 } END { print s + 0 }')
carried=0
for path in "$@"; do
  [ -e "$path" ] || { echo "$path: not here" >&2; exit 1; }
  carried=$((carried + $(find "$path" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')))
done
if $bytes_only; then echo $((tree + carried)); exit 0; fi
awk -v t="$tree" -v c="$carried" 'BEGIN {
  printf "working tree %.2f MiB + carried %.2f MiB = %.2f MiB of 64\n", t / 1048576, c / 1048576, (t + c) / 1048576
}'
