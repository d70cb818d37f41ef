# Sourced by the device call scripts (from the repository root): the carried wheels
# ($HIDT_WHEELS, default .whl: benchmarks/gpu/fetch_wheels.sh) into $HIDT_SITE (default
# /tmp/site) on PYTHONPATH, hidt itself editable and
# without dependencies (the image has torch and the rest; nothing can be downloaded there),
# and a check that every command's imports are there.
site=${HIDT_SITE:-/tmp/site}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" "${HIDT_WHEELS:-.whl}"/*.whl || return 1
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
if ! python3 -m pip install -q --no-index --no-deps --no-build-isolation -e .; then
  echo "editable install failed: hidt runs from the checkout (PYTHONPATH)" >&2
  export PYTHONPATH="$PWD:$PYTHONPATH"
fi
python3 -c "import hidt_cli.cli.app" || return 1
# the image's versions are not checked by an install without dependencies: name any of hidt's
# requirements it does not meet (a version too old for a feature shows up here first)
python3 -m pip check 2>/dev/null | grep -i '^hidt' >&2 || true
