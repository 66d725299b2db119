#!/usr/bin/env bash
# Checks every GPU op kernel (kernels/cuda/{elementwise,reduce,softmax,layernorm,cross_entropy,attention,
# embedding,adamw}.cu) against its CPU counterpart on a real GPU, in one go.
#
#   kernels/tests/cuda_ops_gpu_check.sh prepare   # build machine: build the cuda_ops_* test binaries and
#                                                  # copy them, stripped, into target/cuda-ops-gpu/
#   kernels/tests/cuda_ops_gpu_check.sh run       # GPU machine: run them; a missing GPU fails (no skips)
#   kernels/tests/cuda_ops_gpu_check.sh           # both, on a GPU machine with cargo
#
# `run` needs only the binaries (no Rust toolchain): carry target/cuda-ops-gpu to the GPU machine. Logs go
# to target/cuda-ops-gpu/*.log; the exit status is non-zero if any test failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/cuda-ops-gpu"
tests=(cuda_ops_ptx cuda_ops_attention_reference cuda_ops_elementwise cuda_ops_reduce cuda_ops_softmax
       cuda_ops_layernorm cuda_ops_embedding_adamw cuda_ops_attention cuda_ops_attention_cpu cuda_ops_throughput)

prepare() {
  mkdir -p "$out"
  for t in "${tests[@]}"; do
    exe="$(cd "$root" && cargo test -p kernels --features cuda --test "$t" --no-run --message-format=json 2>/dev/null \
      | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])' | tail -1)"
    [ -n "$exe" ] || { echo "prepare: could not build $t (run: cargo test -p kernels --features cuda --test $t)" >&2; exit 1; }
    cp "$exe" "$out/$t"
    strip "$out/$t" 2>/dev/null || true
  done
  du -sh "$out"
}

run() {
  export CUDA_OPS_REQUIRE_GPU=1
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  local failed=()
  for t in "${tests[@]}"; do
    [ -x "$out/$t" ] || { echo "run: $out/$t is missing: run '$0 prepare' first" >&2; exit 1; }
    echo "=== $t"
    local start=$SECONDS
    if timeout 300 "$out/$t" --test-threads 1 --nocapture > "$out/$t.log" 2>&1; then
      echo "ok ($((SECONDS - start)) s): $(grep -E '^test result' "$out/$t.log" | tail -1)"
      # The throughput test's figures are the point of running it: show them.
      [ "$t" = cuda_ops_throughput ] && grep -E 'GB/s|GFLOP/s|^device' "$out/$t.log"
    else
      failed+=("$t")
      echo "FAILED ($((SECONDS - start)) s); last lines of $out/$t.log:"
      tail -30 "$out/$t.log"
    fi
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
  fi
  echo "all ${#tests[@]} cuda_ops test binaries passed on the GPU"
}

case "${1:-all}" in
  prepare) prepare ;;
  run) run ;;
  all) prepare && run ;;
  *) echo "usage: $0 [prepare|run|all]" >&2; exit 2 ;;
esac
