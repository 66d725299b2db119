#!/usr/bin/env python3
"""numpy's matmul (OpenBLAS) on the SGEMM benchmark shapes: one JSON line of GFLOP/s per shape.

Run with the machine's OpenBLAS overrides removed (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pin a slower
kernel and cache size here) and two threads, the same as `--threads 2` for the Rust command:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/python/gemm_numpy.py --threads 2

Timing matches benches::median_seconds: warm-up runs, then the median of timed runs (plus the best).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

SHAPES = [  # (m, n, k): C (m×n) = A (m×k) · B (k×n)
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (768, 128, 512),
    (768, 512, 128),
    (2048, 384, 1536),
    (2048, 1536, 384),
]


def timed_runs(f, warmup, reps):
    """Sorted wall times of `reps` runs after `warmup` untimed ones."""
    for _ in range(warmup):
        f()
    times = []
    for _ in range(max(reps, 1)):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shape", action="append", help="MxNxK, repeatable (default: the benchmark shapes)")
    args = p.parse_args()
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shape] if args.shape else SHAPES

    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"warning: {var}={os.environ[var]} is set; it slows OpenBLAS here (unset it)", file=sys.stderr)
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                print(
                    f"blas: {info.get('internal_api')} {info.get('version')} kernel={info.get('architecture')} "
                    f"threads={info.get('num_threads')} ({info.get('filepath')})",
                    file=sys.stderr,
                )
        for m, n, k in shapes:
            a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
            c = np.empty((m, n), dtype=np.float32)
            f = lambda: np.matmul(a, b, out=c)
            t0 = time.perf_counter()
            f()
            one = max(time.perf_counter() - t0, 1e-7)
            reps = int(min(max(1.0 / one, 5), 2000))
            times = timed_runs(f, 3, reps)
            flops = 2.0 * m * n * k
            # gflops from the median (as the Rust command); gflops_best from the fastest run, because
            # OpenBLAS's idle threads sleep, and on a busy machine waking them can cost a scheduler tick.
            print(json.dumps({"m": m, "n": n, "k": k, "threads": args.threads,
                              "gflops": round(flops / times[len(times) // 2] / 1e9, 2),
                              "gflops_best": round(flops / times[0] / 1e9, 2),
                              "impl": "numpy-openblas"}), flush=True)


if __name__ == "__main__":
    main()
