// Runs CUDA C kernels on the CPU, one block at a time, each thread a fiber (ucontext), to check their
// indexing without a GPU. Only what the GEMM kernels use is provided.
//
// __syncthreads() switches back to the scheduler; a block runs as rounds in which every live thread runs
// up to its next barrier. Alternate rounds go through the threads in reverse order, so a thread that
// reads shared memory another thread writes before a barrier sees stale data in one of the two orders:
// a missing barrier shows up as a wrong result.
//
// mma.sync is emulated from the PTX ISA's fragment layout: each lane deposits its fragments, all threads
// meet at a barrier, each lane computes its four outputs from its warp's deposits (fp64 sums), and a
// second barrier keeps the deposits until every lane has read them.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ucontext.h>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 { unsigned x = 0, y = 0, z = 0; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }

namespace emu {
inline dim3 thread_idx, block_idx;
inline int block_threads = 0;
inline ucontext_t scheduler;
inline std::vector<ucontext_t> fibers;
inline std::vector<char> finished;
inline int current = 0;
inline std::function<void()> body;

inline void fiber_main() {
    body();
    finished[current] = 1;
    swapcontext(&fibers[current], &scheduler);
}

// Runs `kernel` for every block of `grid` with `threads` threads per block.
inline void launch(dim3 grid, int threads, std::function<void()> kernel) {
    constexpr size_t STACK = 256 * 1024;
    static std::vector<std::vector<char>> stacks;
    if ((int)stacks.size() < threads) stacks.resize(threads, std::vector<char>(STACK));
    body = kernel;
    block_threads = threads;
    for (unsigned by = 0; by < grid.y; ++by) {
        for (unsigned bx = 0; bx < grid.x; ++bx) {
            block_idx = dim3{bx, by, 0};
            fibers.assign(threads, ucontext_t{});
            finished.assign(threads, 0);
            for (int t = 0; t < threads; ++t) {
                getcontext(&fibers[t]);
                fibers[t].uc_stack.ss_sp = stacks[t].data();
                fibers[t].uc_stack.ss_size = STACK;
                fibers[t].uc_link = nullptr;
                makecontext(&fibers[t], fiber_main, 0);
            }
            for (int round = 0;; ++round) {
                int live = 0;
                for (int i = 0; i < threads; ++i) {
                    int t = (round % 2) ? threads - 1 - i : i;
                    if (finished[t]) continue;
                    current = t;
                    thread_idx = dim3{(unsigned)t, 0, 0};
                    swapcontext(&scheduler, &fibers[t]);
                    live += !finished[t];
                }
                if (live == 0) break;
                // Either all threads finished or all reached a barrier; a mix is a divergent barrier.
                for (int t = 0; t < threads; ++t)
                    if (finished[t]) { std::fprintf(stderr, "divergent __syncthreads\n"); std::abort(); }
            }
        }
    }
}
}  // namespace emu

#define threadIdx (emu::thread_idx)
#define blockIdx (emu::block_idx)

inline void __syncthreads() { swapcontext(&emu::fibers[emu::current], &emu::scheduler); }

// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero (finite inputs).
inline unsigned emu_cvt_rna_tf32(float x) {
    unsigned u = __float_as_uint(x);
    if ((u & 0x7f800000u) == 0x7f800000u) return u;
    return (u + 0x1000u) & 0xffffe000u;
}

namespace emu {
struct MmaDeposit { unsigned a[4], b[2]; float c[4]; };
inline std::vector<MmaDeposit> mma_deposits;
inline float bf16_value(unsigned word, int half) { return __uint_as_float(((word >> (16 * half)) & 0xffffu) << 16); }
}  // namespace emu

// mma.sync.aligned.m16n8k8 (tf32) or m16n8k16 (bf16), row.col, f32 accumulate, D = A * B + C in place.
// Fragment layout, g = lane / 4, t = lane % 4, r = register, in 32-bit words (one tf32 / two bf16 each):
//   A (16 x 8 words): register r of lane l holds row g + 8 * (r % 2), word t + 4 * (r / 2)
//   B (8 words x 8):  register r of lane l holds column g, word t + 4 * r
//   C/D (16 x 8):     register r of lane l holds row g + 8 * (r / 2), column 2t + r % 2
inline void emu_mma_sync(bool tf32, float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    int tid = emu::thread_idx.x, lane = tid % 32, warp0 = tid - lane;
    emu::mma_deposits.resize(emu::block_threads);
    auto& mine = emu::mma_deposits[tid];
    std::memcpy(mine.a, a, sizeof mine.a);
    std::memcpy(mine.b, b, sizeof mine.b);
    std::memcpy(mine.c, c, sizeof mine.c);
    __syncthreads();
    const int kwords = 8;  // both shapes: 8 words of k
    auto a_elem = [&](int row, int k) -> double {  // k in elements
        int w = tf32 ? k : k / 2;
        int l = (row % 8) * 4 + w % 4, r = row / 8 + 2 * (w / 4);
        unsigned word = emu::mma_deposits[warp0 + l].a[r];
        return tf32 ? __uint_as_float(word & 0xffffe000u) : emu::bf16_value(word, k % 2);
    };
    auto b_elem = [&](int k, int col) -> double {
        int w = tf32 ? k : k / 2;
        int l = col * 4 + w % 4, r = w / 4;
        unsigned word = emu::mma_deposits[warp0 + l].b[r];
        return tf32 ? __uint_as_float(word & 0xffffe000u) : emu::bf16_value(word, k % 2);
    };
    float out[4];
    for (int r = 0; r < 4; ++r) {
        int row = lane / 4 + 8 * (r / 2), col = 2 * (lane % 4) + r % 2;
        double s = mine.c[r];
        for (int k = 0; k < (tf32 ? kwords : 2 * kwords); ++k) s += a_elem(row, k) * b_elem(k, col);
        out[r] = (float)s;
    }
    __syncthreads();
    std::memcpy(c, out, sizeof out);
}
