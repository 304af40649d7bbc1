#!/usr/bin/env bash
# Fill .device/ (git-ignored) with what the GPU check needs on a lent machine, where nothing can be fetched and the
# checkout plus its carried paths must stay under 64 MiB: CIFAR-10 as the 55 MB JPEG bundle and the tool that
# rebuilds it (both from ../shared), and wheels of the packages the machine lacks (jsonschema and its
# dependencies, for its Python 3.12): about 57 MB in all. Then, with the device tool, in one call:
#   run  command: python3 -m pip install -q --no-index --find-links .device/wheels jsonschema &&
#                 PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py $OUT
#        carry: [".device"]   timeout_s: 540
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
mkdir -p .device/wheels
cp "$shared/cifar10/cifar10-jpeg.npz" "$shared/tools/cifar10_from_jpeg.py" .device/
pip download -q --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 -d .device/wheels jsonschema
du -sh .device
