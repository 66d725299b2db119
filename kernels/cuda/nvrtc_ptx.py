#!/usr/bin/env python3
"""Compile one CUDA C file to PTX with NVRTC (libnvrtc from the PyPI package nvidia-cuda-nvrtc-cu12).

Why NVRTC and not nvcc: the CUDA 12 PyPI package nvidia-cuda-nvcc-cu12 ships ptxas but no nvcc driver
(12.9.86 holds bin/ptxas only), and the CUDA 13 split packages would need four of them. NVRTC is the same
front end (NVVM) as nvcc -ptx, needs no host compiler, no GPU and no driver.

The sources include no headers (bf16 values travel as raw 16-bit integers and tensor-core instructions
are written as inline PTX), so no include path is needed.

Usage: nvrtc_ptx.py LIBNVRTC_SO INPUT.cu OUTPUT.ptx [ARCH]   (ARCH defaults to compute_80)
"""
import ctypes
import sys


def check(lib, status, what):
    if status != 0:
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        raise SystemExit(f"nvrtc: {what} failed: {lib.nvrtcGetErrorString(status).decode()}")


def main():
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    lib_path, src_path, out_path = sys.argv[1:4]
    arch = sys.argv[4] if len(sys.argv) == 5 else "compute_80"
    lib = ctypes.CDLL(lib_path)
    src = open(src_path, "rb").read()
    prog = ctypes.c_void_p()
    # The program's name appears in diagnostics only, so use the file name (not the full path) to keep
    # the output the same wherever the repository is checked out.
    name = src_path.rsplit("/", 1)[-1].encode()
    check(lib, lib.nvrtcCreateProgram(ctypes.byref(prog), src, name, 0, None, None), "nvrtcCreateProgram")
    # No -lineinfo: it writes the file path into the PTX, which would then depend on the checkout's location.
    opts = [f"--gpu-architecture={arch}", "--std=c++17", "--fmad=true"]
    c_opts = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
    status = lib.nvrtcCompileProgram(prog, len(opts), c_opts)
    log_size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(log_size))
    log = ctypes.create_string_buffer(log_size.value)
    lib.nvrtcGetProgramLog(prog, log)
    text = log.value.decode(errors="replace").strip()
    if text:
        print(f"{src_path}:\n{text}", file=sys.stderr)
    check(lib, status, f"compiling {src_path}")
    ptx_size = ctypes.c_size_t()
    check(lib, lib.nvrtcGetPTXSize(prog, ctypes.byref(ptx_size)), "nvrtcGetPTXSize")
    ptx = ctypes.create_string_buffer(ptx_size.value)
    check(lib, lib.nvrtcGetPTX(prog, ptx), "nvrtcGetPTX")
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    with open(out_path, "wb") as f:
        f.write(ptx.value)


if __name__ == "__main__":
    main()
