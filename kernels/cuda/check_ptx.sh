#!/usr/bin/env bash
# Checks every kernel without a GPU:
#  1. each NAME.ptx that has a NAME.cu beside it is up to date (regenerated into a temp folder and compared
#     byte for byte; a hand-written .ptx with no .cu is taken as it is);
#  2. each .ptx assembles with ptxas for sm_80 and sm_90;
#  3. registers, spills, shared memory and stack per kernel and architecture go to ptxas_report.txt
#     (committed, so a change in register pressure shows up in review).
# Exits 1 on a stale or non-assembling file, 3 when the tools cannot be installed. Tools come from PyPI
# into a cache folder (toolchain.sh), never into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/toolchain.sh"
# Exit status 3 (not 1) when the tools cannot be installed, so CI can tell "no tools" from "bad kernels".
cuda_tools_setup || { echo "check_ptx: could not set up ptxas/NVRTC (see above)" >&2; exit 3; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
"$here/build_ptx.sh" --out "$tmp/fresh" >/dev/null
shopt -s nullglob
for cu in "$here"/*.cu; do
  name="$(basename "$cu" .cu)"
  if [ ! -f "$here/$name.ptx" ]; then
    echo "check_ptx: $name.ptx is missing: run kernels/cuda/build_ptx.sh and commit it" >&2; status=1
  elif ! cmp -s "$tmp/fresh/$name.ptx" "$here/$name.ptx"; then
    echo "check_ptx: $name.ptx is stale against $name.cu: run kernels/cuda/build_ptx.sh and commit it" >&2
    diff "$here/$name.ptx" "$tmp/fresh/$name.ptx" | head -20 >&2 || true
    status=1
  fi
done
: > "$tmp/ptxas.log"
for ptx in "$here"/*.ptx; do
  for arch in sm_80 sm_90; do
    echo "### $(basename "$ptx" .ptx) $arch" >> "$tmp/ptxas.log"
    if ! "$PTXAS" -arch="$arch" -v -o /dev/null "$ptx" >> "$tmp/ptxas.log" 2>&1; then
      echo "check_ptx: $(basename "$ptx") does not assemble for $arch:" >&2
      grep -v "^ptxas info\|^    [0-9]" "$tmp/ptxas.log" | tail -20 >&2
      status=1
    fi
  done
done
python3 "$here/ptxas_report.py" "ptxas $("$PTXAS" --version | grep -o "release .*")" < "$tmp/ptxas.log" > "$here/ptxas_report.txt"
cat "$here/ptxas_report.txt"
exit $status
