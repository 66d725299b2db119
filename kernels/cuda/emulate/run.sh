#!/usr/bin/env bash
# Builds the CPU emulation of the GEMM kernels (host_shim.h + gemm_emulate.cpp, which #include the .cu
# files) with the system C++ compiler and runs it: every entry point against an fp64 reference.
# Needs only g++ (or $CXX); no CUDA. Exit status 0 when every case passes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cxx="${CXX:-g++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "emulate: no C++ compiler ($cxx) found" >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$cxx" -std=c++17 -O2 -fno-strict-aliasing -Wall -Wno-unknown-pragmas -Wno-unused-variable -Wno-unused-function \
  -o "$out/gemm_emulate" "$here/gemm_emulate.cpp"
"$out/gemm_emulate"
