#!/usr/bin/env bash
# Regenerates kernels/cuda/NAME.ptx from every kernels/cuda/NAME.cu with NVRTC 12.9 (from PyPI, installed
# into a cache folder by toolchain.sh) for compute_80, so the PTX JIT-compiles on sm_80 (A100) and sm_90
# (H100/H200). Commit the .ptx files: building the crate never needs a CUDA compiler.
#
#   kernels/cuda/build_ptx.sh                 # all .cu files, written beside them
#   kernels/cuda/build_ptx.sh gemm_mma ...    # only these (file stems)
#   kernels/cuda/build_ptx.sh --out DIR [...] # write into DIR instead (check_ptx.sh uses this for staleness)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here"
if [ "${1:-}" = "--out" ]; then out="$2"; mkdir -p "$out"; shift 2; fi
. "$here/toolchain.sh"
cuda_tools_setup || { echo "build_ptx: could not set up NVRTC (see above)" >&2; exit 1; }
shopt -s nullglob
sources=("$here"/*.cu)
if [ $# -gt 0 ]; then sources=(); for stem in "$@"; do sources+=("$here/$stem.cu"); done; fi
for cu in "${sources[@]}"; do
  [ -f "$cu" ] || { echo "build_ptx: no such source $cu" >&2; exit 1; }
  name="$(basename "$cu" .cu)"
  python3 "$here/nvrtc_ptx.py" "$LIBNVRTC" "$cu" "$out/$name.ptx" compute_80
  echo "built $out/$name.ptx"
done
