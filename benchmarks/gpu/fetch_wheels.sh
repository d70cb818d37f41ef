#!/usr/bin/env bash
# The packages hidt needs that the GPU machine's image lacks (benchmarks/gpu/wheels.py says
# which: PyAV, typer and what they need), as CPython 3.12 x86-64 manylinux wheels in ./.whl,
# ignored by git, for the device calls to carry. Run it in the project's virtual environment
# (the versions come from there).
#
#   benchmarks/gpu/fetch_wheels.sh            # download into .whl (emptied first)
#   benchmarks/gpu/fetch_wheels.sh --check    # then install them into a fresh environment that
#                                             # holds only what the image holds of hidt's needs,
#                                             # as the calls do, and import every command
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
mapfile -t wanted < <("$python" benchmarks/gpu/wheels.py)
rm -rf .whl && mkdir .whl
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
  platforms+=(--platform "${tag}_x86_64")
done
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d .whl "${wanted[@]}"
ls -l .whl
du -cb .whl/*.whl | awk 'END { printf "wheels: %.1f MiB\n", $1 / 1048576 }'

if [ "${1:-}" != "--check" ]; then exit 0; fi
# The image's side of hidt's needs (benchmarks/gpu/image-packages.txt), here at the versions
# pip picks; the same versions of the carried packages built for this Python (binary wheels
# for 3.12 do not install into another Python); hidt itself, as the calls install it; then
# every command's imports.
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
"$python" -m venv "$check/venv"
mapfile -t image_side < <("$python" benchmarks/gpu/wheels.py --provided)
image_side+=(pytest hypothesis matplotlib setuptools) # the tests, evaluate's plots, the install
"$check/venv/bin/python" -m pip install -q -c .ci/constraints.txt "${image_side[@]}"
"$python" -m pip download -q --no-deps --only-binary=:all: -d "$check/wheels" "${wanted[@]}"
export PATH="$check/venv/bin:$PATH" HIDT_SITE="$check/site" HIDT_WHEELS="$check/wheels"
source benchmarks/gpu/install.sh
python3 -m hidt_cli --help >/dev/null
python3 -c "import av, typer; print('image-like check: hidt imports; av', av.__version__, 'typer', typer.__version__)"
