#!/usr/bin/env bash
# Builds, on this (CPU) machine, everything benches/gpu/run_all.sh runs, for a GPU machine that has no Rust
# toolchain: the release test binaries of kernels/tests/cuda_*.rs and the gpu_gemm benchmark, stripped and
# packed into target/gpu-bin/bundle.tar.xz (with a manifest of test names). Carry the folder target/gpu-bin
# to the GPU machine; run_all.sh unpacks it there when cargo is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="$root/target/gpu-bin"
rm -rf "$out"
mkdir -p "$out/stage"
tests=()
for f in kernels/tests/cuda_*.rs; do tests+=(--test "$(basename "$f" .rs)"); done
# Test binaries: cargo prints their paths as JSON "executable" fields.
cargo test --release -p kernels --features cuda "${tests[@]}" --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    try: msg = json.loads(line)
    except ValueError: continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["kind"] == ["test"]:
        print(msg["target"]["name"], msg["executable"])
' > "$out/tests.txt"
cargo build --release -p benches --features cuda --bin gpu_gemm
while read -r name exe; do strip -o "$out/stage/$name" "$exe"; done < "$out/tests.txt"
strip -o "$out/stage/gpu_gemm" target/release/gpu_gemm
cut -d' ' -f1 "$out/tests.txt" > "$out/stage/TESTS"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo "?") plus the working tree, $(date -u +%Y-%m-%dT%H:%MZ)" > "$out/stage/BUILT_FROM"
tar -C "$out/stage" -cJf "$out/bundle.tar.xz" .
rm -rf "$out/stage" "$out/tests.txt"
ls -la "$out"
