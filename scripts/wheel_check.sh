#!/usr/bin/env bash
# What a user of the wheel gets: build the sdist and the wheel (isolated, as for a release),
# `twine check` them, install the wheel into a fresh virtual environment (no system site
# packages, not editable) and run the README's main job there, from a directory outside the
# checkout: `edgecnn --version`, `edgecnn build --target all`, `edgecnn bench --runs 20`.
#
#   bash scripts/wheel_check.sh [WORKDIR]     (default: a new temporary directory, removed after)
#
# Needs the dev extras (build, twine) in $PYTHON (default python3) and the registry for the
# venv's dependencies. Data sets come from the usual cache ($EDGECNN_DATA_DIR or ~/.cache/edgecnn).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd -P)
PY=${PYTHON:-python3}
if [ $# -ge 1 ]; then
  work=$(mkdir -p "$1" && cd "$1" && pwd -P)
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/edgecnn-wheel.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
case "$work/" in "$repo/"*) echo "wheel_check: $work is inside the checkout $repo" >&2; exit 2 ;; esac
step() { echo "wheel_check: $* ($((SECONDS - t0)) s so far)"; }
t0=$SECONDS

step "building the sdist and the wheel from $repo"
rm -rf "$work/dist"
$PY -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/edgecnn-*.whl)
$PY -m twine check --strict "$work"/dist/*
echo "wheel_check: $(basename "$wheel"): $(stat -c %s "$wheel") bytes"

step "installing it into a fresh virtual environment"
rm -rf "$work/venv"
$PY -m venv "$work/venv"
t_pip=$SECONDS
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
echo "wheel_check: pip install of the wheel and its dependencies took $((SECONDS - t_pip)) s"

step "running the main job from $work/run"
mkdir -p "$work/run"
cd "$work/run"
unset PYTHONPATH PYTHONHOME
export PATH="$work/venv/bin:$PATH" VIRTUAL_ENV="$work/venv"
# The installed copy, not the checkout: package, templates and firmware project inside the venv.
python -c 'import os, sys, edgecnn
from edgecnn.paths import FIRMWARE_DIR
venv = os.path.realpath(sys.argv[1])
for p in (edgecnn.__file__, FIRMWARE_DIR):
    real = os.path.realpath(p)
    assert real.startswith(venv + os.sep), f"{p} resolves to {real}, outside the venv {venv}"
assert not os.path.islink(FIRMWARE_DIR) and (FIRMWARE_DIR / "tflite-micro" / "model_data.h.in").is_file()
print("wheel_check: edgecnn imported from", edgecnn.__file__)' "$work/venv"
edgecnn --version
edgecnn build --target all
edgecnn bench --runs 20
test -f build/mnist/manifest.json -a -f build/mnist/tflite-micro/model_data.cc -a -f build/mnist/c/mnist_model.c
step "passed"
