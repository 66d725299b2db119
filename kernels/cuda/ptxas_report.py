#!/usr/bin/env python3
"""Turns `ptxas -v` output (with "### MODULE ARCH" separators written by check_ptx.sh) on stdin into a
table: one row per kernel and architecture with registers, spill bytes, shared memory and stack frame.
Rows with spills are marked, since a spilling GEMM or reduction is a performance bug to look at."""
import re
import sys

rows = []
module = arch = None
current = None
for line in sys.stdin:
    if line.startswith("### "):
        module, arch = line.split()[1:3]
        continue
    m = re.search(r"Compiling entry function '([^']+)' for '(sm_\d+)'", line)
    if m:
        current = {"module": module, "kernel": m.group(1), "arch": m.group(2), "regs": 0, "spill_st": 0,
                   "spill_ld": 0, "smem": 0, "stack": 0}
        rows.append(current)
        continue
    if current is None:
        continue
    m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m:
        current["stack"], current["spill_st"], current["spill_ld"] = map(int, m.groups())
    m = re.search(r"Used (\d+) registers", line)
    if m:
        current["regs"] = int(m.group(1))
        s = re.search(r"(\d+) bytes smem", line)
        current["smem"] = int(s.group(1)) if s else 0

version = sys.argv[1] if len(sys.argv) > 1 else "ptxas"
print(f"# ptxas -v for every embedded kernel ({version}); written by kernels/cuda/check_ptx.sh")
print(f"# {'module':<16} {'kernel':<40} {'arch':<6} {'regs':>5} {'spill_st':>9} {'spill_ld':>9} {'smem':>7} {'stack':>6}")
for r in sorted(rows, key=lambda r: (r["module"], r["kernel"], r["arch"])):
    flag = "  SPILLS" if r["spill_st"] or r["spill_ld"] else ""
    print(f"  {r['module']:<16} {r['kernel']:<40} {r['arch']:<6} {r['regs']:>5} {r['spill_st']:>9} "
          f"{r['spill_ld']:>9} {r['smem']:>7} {r['stack']:>6}{flag}")
print(f"# {len(rows)} kernel builds, {sum(1 for r in rows if r['spill_st'] or r['spill_ld'])} with spills")
