#!/usr/bin/env bash
# The GPU path, ready to prove: on a machine with an NVIDIA GPU, encode 100k
# WordNet passages with a MiniLM-shaped model on ONNX Runtime's CUDA
# execution provider and print passages/s and the largest difference from the
# CPU provider's vectors. Bounded: every step has a time limit. Where no
# NVIDIA GPU is present it says so and exits 0.
#
#   scripts/gpu-check.sh [PASSAGES]        (default 100000; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
PASSAGES="${1:-100000}"

if ! { [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; } || ! command -v nvidia-smi > /dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU on this machine (no /dev/nvidia* or nvidia-smi): nothing to check"
  exit 0
fi
timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# The project builds as usual (system packages, npm ci, the Faiss addon, tsc), where it has not yet.
timeout 900 make --no-print-directory build

# ONNX Runtime's CUDA provider: its libraries come from NuGet (the npm install skips them, offline).
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if [ ! -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
  echo "gpu-check: installing ONNX Runtime's CUDA 12 provider (needs network access to api.nuget.org) …"
  if ! ONNXRUNTIME_NODE_INSTALL=cuda12 timeout 600 node node_modules/onnxruntime-node/script/install.js; then
    echo "gpu-check: the CUDA provider could not be installed here; the deploy/Dockerfile.gpu image carries it" >&2
    exit 1
  fi
fi
# The provider needs CUDA 12's runtime, cuBLAS and cuDNN 9: in the linker cache or on LD_LIBRARY_PATH.
known_libs="$(ldconfig -p 2>/dev/null || true)"
for lib in libcudart.so.12 libcublas.so.12 libcudnn.so.9; do
  found=no
  case "$known_libs" in *"$lib"*) found=yes ;; esac
  IFS=: read -r -a lib_dirs <<< "${LD_LIBRARY_PATH:-}"
  for d in "${lib_dirs[@]}"; do [ -n "$d" ] && [ -e "$d/$lib" ] && found=yes; done
  [ "$found" = yes ] || echo "gpu-check: warning: $lib is not on the library path (install CUDA 12 and cuDNN 9 runtime libraries)" >&2
done

timeout 1200 node dist/bench/gpu-check.js --passages "$PASSAGES"
