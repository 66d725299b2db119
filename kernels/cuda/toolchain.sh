# Sourced by build_ptx.sh and check_ptx.sh: puts the pinned CUDA 12.9 compiler pieces from PyPI into a
# virtual environment in a cache folder (never in the repository) and exports
#   PTXAS    the ptxas binary (package nvidia-cuda-nvcc-cu12)
#   LIBNVRTC libnvrtc.so.12 (package nvidia-cuda-nvrtc-cu12), used by nvrtc_ptx.py to turn .cu into .ptx
# The versions are pinned because the committed .ptx files are compared byte for byte with a fresh build.
# Returns non-zero (with a message) when python3 -m pip is unavailable or the install fails.
CUDA_TOOLS_VERSION=12.9.86
CUDA_TOOLS_DIR="${CUDA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rlhf-ci/cuda-tools-$CUDA_TOOLS_VERSION}"

cuda_tools_setup() {
  local site
  if [ ! -x "$CUDA_TOOLS_DIR/venv/bin/python" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1; then
      echo "cuda tools: python3 with venv is needed to install ptxas and NVRTC from PyPI" >&2
      return 1
    fi
    python3 -m venv "$CUDA_TOOLS_DIR/venv" || return 1
  fi
  site="$("$CUDA_TOOLS_DIR/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  PTXAS="$site/nvidia/cuda_nvcc/bin/ptxas"
  LIBNVRTC="$site/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"
  if [ ! -x "$PTXAS" ] || [ ! -f "$LIBNVRTC" ]; then
    "$CUDA_TOOLS_DIR/venv/bin/python" -m pip install --quiet --no-deps \
      "nvidia-cuda-nvcc-cu12==$CUDA_TOOLS_VERSION" "nvidia-cuda-nvrtc-cu12==$CUDA_TOOLS_VERSION" || return 1
  fi
  export PTXAS LIBNVRTC
}
