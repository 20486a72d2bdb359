#!/usr/bin/env bash
# The GPU check, prepared here to run first whenever a session is lent a GPU (the `device` tool's
# `run`, over a copy of this working tree). The GPU machine reaches nothing outside it and its image
# has PyTorch, transformers, accelerate, torch-geometric and scipy but not diffusers: this script
# downloads diffusers (the version this checkout's venv has) and what it needs that the image lacks,
# as wheels, into .whl/ (ignored by git), then prints the arguments for `run`:
#
#   tools/gpu_check.sh            # prepare .whl/ and print carry and command
#   tools/gpu_check.sh --command  # print the command only
#
# The command installs the wheels to /tmp/site, runs `python -m sgcond_app bench gpu` (about 8
# minutes on an H100) and brings back $OUT/gpu.json and $OUT/gpu.log. Give the device back after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

COMMAND='python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 && set -o pipefail && python3 -m sgcond_app bench gpu --json $OUT/gpu.json 2>&1 | tee $OUT/gpu.log'

if [ "${1:-}" = "--command" ]; then
    echo "$COMMAND"
    exit 0
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
diffusers=$("$PY" -c 'import diffusers; print(diffusers.__version__)' 2>/dev/null || echo 0.42.1)
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl && mkdir -p .whl
# The device image runs Python 3.12 on x86-64 (device README): pure-Python wheels serve it.
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
    "diffusers==$diffusers" importlib-metadata
ls -l .whl >&2
echo "carry: [\".whl\"]"
echo "command: $COMMAND"
