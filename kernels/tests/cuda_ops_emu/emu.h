// A tiny CPU emulator for the CUDA kernels: every block runs its threads as OS threads (so __syncthreads
// and warp shuffles really synchronise), blocks run one after another (so function-static "__shared__"
// arrays are per block). Enough for logic checks on small sizes; not for speed.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <math.h>
#include <mutex>
#include <thread>
#include <vector>
using std::max;
using std::min;

struct dim3 { unsigned x = 1, y = 1, z = 1; };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }

struct Warp { std::barrier<> bar{32}; float slot[32]; };
inline std::barrier<>* g_block_barrier;
inline std::vector<Warp*> g_warps;
inline int flat_tid() { return threadIdx.x + threadIdx.y * blockDim.x; }
inline void __syncthreads() { g_block_barrier->arrive_and_wait(); }
inline float shfl_impl(float v, int src_lane) {
    int t = flat_tid(), lane = t & 31;
    Warp& w = *g_warps[t >> 5];
    w.slot[lane] = v;
    w.bar.arrive_and_wait();
    float r = w.slot[src_lane & 31];
    w.bar.arrive_and_wait();
    return r;
}
inline float __shfl_xor_sync(unsigned, float v, int o) { return shfl_impl(v, (flat_tid() & 31) ^ o); }
inline float __shfl_sync(unsigned, float v, int src) { return shfl_impl(v, src); }
inline std::mutex g_atomic;
inline float atomicAdd(float* p, float v) { std::lock_guard<std::mutex> l(g_atomic); float o = *p; *p = o + v; return o; }

// Runs body() over grid x block: one OS thread per thread of a block (so __syncthreads and warp shuffles
// really synchronise); the threads walk the blocks in order together, with a barrier between blocks, so
// function-static "__shared__" arrays are per block.
template <class F>
void launch(dim3 grid, dim3 block, F&& body) {
    gridDim = grid;
    blockDim = block;
    int n = block.x * block.y;
    std::barrier<> bar(n);
    g_block_barrier = &bar;
    std::vector<Warp*> warps;
    for (int w = 0; w < (n + 31) / 32; ++w) warps.push_back(new Warp());
    g_warps = warps;
    std::vector<std::thread> ts;
    for (int t = 0; t < n; ++t)
        ts.emplace_back([&, t] {
            threadIdx = {unsigned(t % block.x), unsigned(t / block.x), 0};
            for (unsigned by = 0; by < grid.y; ++by)
                for (unsigned bx = 0; bx < grid.x; ++bx) {
                    blockIdx = {bx, by, 0};
                    body();
                    bar.arrive_and_wait();
                }
        });
    for (auto& t : ts) t.join();
    for (auto* w : warps) delete w;
}

// Comparison helper: returns the worst |a - b| - tol excess; prints the first failure.
inline bool close(const char* what, const std::vector<float>& got, const std::vector<double>& want, double atol, double rtol) {
    for (size_t i = 0; i < got.size(); ++i) {
        double g = got[i], w = want[i];
        if (std::isnan(w) && std::isnan(g)) continue;
        if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
            printf("FAIL %s: element %zu got %.9g want %.9g\n", what, i, g, w);
            return false;
        }
    }
    return true;
}
inline unsigned long long g_seed = 88172645463325252ull;
inline float frand(float lo, float hi) {
    g_seed ^= g_seed << 13; g_seed ^= g_seed >> 7; g_seed ^= g_seed << 17;
    return lo + (hi - lo) * float((g_seed >> 40) & 0xffffff) / float(1 << 24);
}
