#!/usr/bin/env bash
# The one script a GPU session runs (< 5 minutes on an H200): every CUDA kernel test against the CPU
# path (printing their per-configuration error summaries), then the GEMM benchmark against cuBLAS.
#
#   benches/gpu/run_all.sh [OUTDIR]     # logs go to OUTDIR (default: $OUT if set, else target/gpu-results)
#
# With cargo on the machine it builds in release once (--features cuda). Without cargo it runs the
# binaries that benches/gpu/prepare.sh packed into target/gpu-bin/bundle.tar.xz on a CPU machine (carry
# target/gpu-bin along). Idempotent: it only writes under OUTDIR and a temporary folder.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
results="${1:-${OUT:-$root/target/gpu-results}}"
mkdir -p "$results"
start=$(date +%s)
log() { echo "== $*" | tee -a "$results/summary.txt"; }
: > "$results/summary.txt"
: > "$results/tests.log"   # every test binary's full output; few files, since a device run returns at most 8

nvidia-smi -L 2>&1 | tee -a "$results/summary.txt" || true

# cuBLAS for the peer: cudarc (CUDA 12 bindings) opens libcublas.so / libcublas.so.12. The machine may only
# have CUDA 13's libcublas.so.13 (toolkit or the nvidia-cublas pip package): link it under the plain name
# in a private folder on LD_LIBRARY_PATH. cublasCreate/SetStream/GemmEx keep their signatures across 12/13.
libdir="$(mktemp -d)"
trap 'rm -rf "$libdir"' EXIT
cublas="$(ldconfig -p 2>/dev/null | awk '/libcublas\.so/ {print $NF; exit}')"
if [ -z "$cublas" ]; then
  cublas="$( (ls /usr/local/cuda/lib64/libcublas.so* 2>/dev/null;
             python3 -c 'import nvidia, os; [print(os.path.join(p, r, f)) for p in nvidia.__path__ for r, _, fs in os.walk(p) for f in fs if f.startswith("libcublas.so")]' 2>/dev/null) | head -1)"
fi
if [ -n "$cublas" ]; then
  ln -sf "$cublas" "$libdir/libcublas.so"
  [ -e "$(dirname "$cublas")/libcublasLt.so" ] || for lt in "$(dirname "$cublas")"/libcublasLt.so*; do [ -e "$lt" ] && ln -sf "$lt" "$libdir/libcublasLt.so"; break; done
  export LD_LIBRARY_PATH="$libdir:$(dirname "$cublas")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "cuBLAS: $cublas"
else
  log "cuBLAS: not found; gpu_gemm will time our kernels only"
fi

bindir="$libdir/bin"
mkdir -p "$bindir"
if command -v cargo >/dev/null 2>&1; then
  log "building with cargo (release, --features cuda)"
  tests=()
  for f in kernels/tests/cuda_*.rs; do tests+=(--test "$(basename "$f" .rs)"); done
  cargo test --release -p kernels --features cuda "${tests[@]}" --no-run --message-format=json 2>"$results/build.log" |
    python3 -c '
import json, sys
for line in sys.stdin:
    try: msg = json.loads(line)
    except ValueError: continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["kind"] == ["test"]:
        print(msg["target"]["name"], msg["executable"])
' > "$bindir/list" || { log "build failed: see build.log"; tail -30 "$results/build.log"; exit 1; }
  while read -r name exe; do ln -sf "$exe" "$bindir/$name"; done < "$bindir/list"
  cut -d' ' -f1 "$bindir/list" > "$bindir/TESTS"
  cargo build --release -p benches --features cuda --bin gpu_gemm 2>>"$results/build.log" || { log "gpu_gemm build failed"; exit 1; }
  ln -sf "$root/target/release/gpu_gemm" "$bindir/gpu_gemm"
elif [ -f target/gpu-bin/bundle.tar.xz ]; then
  log "no cargo here: using the binaries from target/gpu-bin/bundle.tar.xz (built from $(tar -xJOf target/gpu-bin/bundle.tar.xz ./BUILT_FROM 2>/dev/null || echo '?'))"
  tar -C "$bindir" -xJf target/gpu-bin/bundle.tar.xz
else
  log "no cargo and no target/gpu-bin/bundle.tar.xz: run benches/gpu/prepare.sh on a machine with Rust first"
  exit 1
fi
log "build/unpack done after $(( $(date +%s) - start )) s"

status=0
export CARGO_MANIFEST_DIR="$root/kernels"   # what cargo would set; tests read kernels/cuda from it
for name in $(cat "$bindir/TESTS"); do
  log "test $name"
  one="$libdir/test.log"
  if (cd "$root/kernels" && timeout 600 "$bindir/$name" --nocapture --test-threads=1) > "$one" 2>&1; then
    { grep -m1 "skipping" "$one"; grep -E "^test result|worst|device:" "$one"; } | tee -a "$results/summary.txt"
  else
    status=1
    log "FAILED: $name"
    grep -E "panicked|FAIL|failures|^test .* FAILED|assert" "$one" | head -20 | tee -a "$results/summary.txt"
  fi
  { echo "===== $name"; cat "$one"; } >> "$results/tests.log"
done
log "tests done after $(( $(date +%s) - start )) s"

log "gpu_gemm"
if timeout 600 "$bindir/gpu_gemm" > "$results/gpu_gemm.log" 2> "$results/gpu_gemm.err"; then
  grep -v '^{' "$results/gpu_gemm.log" | tee -a "$results/summary.txt"
else
  status=1
  log "gpu_gemm FAILED"; tail -20 "$results/gpu_gemm.err" | tee -a "$results/summary.txt"
fi
log "all done after $(( $(date +%s) - start )) s, status $status"
exit $status
