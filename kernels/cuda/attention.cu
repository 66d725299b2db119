// Fused scaled dot-product attention in fp32, flash-attention style: forward with an online softmax that
// never stores the (T, T) scores and saves one logsumexp per query row; backward recomputes the
// probabilities from that logsumexp. Same maths as autograd/src/ops/attention.rs:
//
//   S = q k^T * scale (scale = 1 / sqrt(D)), blocked where key j > query i when causal;  P = softmax(S);
//   O = P v;  backward: dv = P^T dO;  dP = dO v^T;  dS = P * (dP - rowsum(dO * O)) * scale;
//   dq = dS k;  dk = dS^T q
//
// Layout: q, k, v, o, dO, dq, dk, dv are [BH, T, D] contiguous (batch and heads merged), lse and delta are
// [BH, T]. D is 32, 64 or 128 (one entry per D). Backward kernels ADD into dq, dk, dv (the crate's `+=`
// convention for gradients); forward overwrites o and lse.
//
// Work split (4 warps of 32 lanes per block, K/V tiles of 32 keys in shared memory):
// - forward and dq: a block owns 4 * RPW query rows, each warp RPW of them. For each 32-key tile, lane l
//   computes the scores of key l against the warp's RPW rows (q rows broadcast from shared memory, the key
//   row read as float4 from a padded tile: conflict-free), the warp max/sum update the online softmax,
//   and then each lane accumulates its D / 32 output dims over the tile's 32 keys, the probabilities
//   passed by shuffle.
// - dk/dv: a block owns 4 * RPW keys, each warp RPW of them, and walks 32-query tiles (only those at or
//   after its first key when causal): the mirror image of dq. dq and dk/dv are separate kernels, so
//   nothing is accumulated with atomics: results are deterministic.
// - preprocess: delta[i] = sum_d dO[i, d] * O[i, d], one warp per row.
// Causal blocks skip the key (or query) tiles that are entirely masked.

#define FULL_MASK 0xffffffffu
#define F32_INF __int_as_float(0x7f800000)
#define NWARPS 4
#define KTILE 32

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Dot product of two rows of length D in shared memory, both 16-byte aligned. Unrolled by 4, not fully:
// with a full unroll NVRTC 12.9 emitted different (equivalent) PTX from run to run for these kernels, which
// breaks check_ptx.sh's byte comparison; unroll 4 is reproducible and needs fewer registers.
template <int D>
__device__ __forceinline__ float dot_row(const float* a, const float* b) {
    float s = 0.0f;
#pragma unroll 4
    for (int d = 0; d < D; d += 4) {
        float4 x = *reinterpret_cast<const float4*>(a + d);
        float4 y = *reinterpret_cast<const float4*>(b + d);
        s += x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
    }
    return s;
}

// Copies rows [row0, row0 + nrows) of a [T, D] matrix into a shared tile with row pitch P; rows at or past
// T are zero-filled. All threads of the block take part.
template <int D, int P>
__device__ __forceinline__ void load_tile(float* tile, const float* __restrict__ src, int row0, int nrows, int T) {
    for (int idx = threadIdx.x; idx < nrows * D; idx += blockDim.x) {
        int r = idx / D, d = idx % D;
        tile[r * P + d] = (row0 + r < T) ? src[(long long)(row0 + r) * D + d] : 0.0f;
    }
}

template <int D, int RPW>
__device__ __forceinline__ void flash_forward(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                              float* __restrict__ o, float* __restrict__ lse, int T, float scale, int causal) {
    constexpr int BQ = NWARPS * RPW, DP = D + 4, DPL = D / 32;
    __shared__ __align__(16) float qs[BQ * D];
    __shared__ __align__(16) float ks[KTILE * DP];
    __shared__ __align__(16) float vs[KTILE * D];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long base = (long long)blockIdx.y * T * D;
    const int q0 = blockIdx.x * BQ;
    load_tile<D, D>(qs, q + base, q0, BQ, T);

    float acc[RPW][DPL], m[RPW], l[RPW];
#pragma unroll
    for (int r = 0; r < RPW; ++r) {
        m[r] = -F32_INF;
        l[r] = 0.0f;
#pragma unroll
        for (int e = 0; e < DPL; ++e) acc[r][e] = 0.0f;
    }
    const int kv_end = causal ? min(T, q0 + BQ) : T;
    for (int k0 = 0; k0 < kv_end; k0 += KTILE) {
        __syncthreads();  // the previous tile is consumed (and, the first time, qs is loaded)
        load_tile<D, DP>(ks, k + base, k0, KTILE, T);
        load_tile<D, D>(vs, v + base, k0, KTILE, T);
        __syncthreads();
        const int key = k0 + lane;
        float p[RPW];
#pragma unroll
        for (int r = 0; r < RPW; ++r) {
            const int qi = q0 + warp * RPW + r;
            const bool visible = key < T && (!causal || key <= qi);
            const float s = visible ? dot_row<D>(qs + (warp * RPW + r) * D, ks + lane * DP) * scale : -F32_INF;
            const float m_new = fmaxf(m[r], warp_max(s));
            // m_new = -inf only while every key so far is blocked: nothing to rescale, nothing to add.
            const float alpha = (m_new == -F32_INF) ? 1.0f : expf(m[r] - m_new);
            p[r] = visible ? expf(s - m_new) : 0.0f;
            l[r] = l[r] * alpha + warp_sum(p[r]);
            m[r] = m_new;
#pragma unroll
            for (int e = 0; e < DPL; ++e) acc[r][e] *= alpha;
        }
        // Keys past kv_end or T have p = 0 (their rows are zero-filled), so the loop runs the whole tile
        // with a constant trip count and unrolls fully.
#pragma unroll
        for (int j = 0; j < KTILE; ++j) {
            float vv[DPL];
#pragma unroll
            for (int e = 0; e < DPL; ++e) vv[e] = vs[j * D + lane * DPL + e];
#pragma unroll
            for (int r = 0; r < RPW; ++r) {
                const float pj = __shfl_sync(FULL_MASK, p[r], j);
#pragma unroll
                for (int e = 0; e < DPL; ++e) acc[r][e] += pj * vv[e];
            }
        }
    }
#pragma unroll
    for (int r = 0; r < RPW; ++r) {
        const int qi = q0 + warp * RPW + r;
        if (qi < T) {
            const float inv = 1.0f / l[r];
#pragma unroll
            for (int e = 0; e < DPL; ++e) o[base + (long long)qi * D + lane * DPL + e] = acc[r][e] * inv;
            if (lane == 0) lse[(long long)blockIdx.y * T + qi] = m[r] + logf(l[r]);
        }
    }
}

template <int D, int RPW>
__device__ __forceinline__ void flash_backward_dq(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                                  const float* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                                                  float* __restrict__ dq, int T, float scale, int causal) {
    constexpr int BQ = NWARPS * RPW, DP = D + 4, DPL = D / 32;
    __shared__ __align__(16) float qs[BQ * D];
    __shared__ __align__(16) float dos[BQ * D];
    __shared__ __align__(16) float ks[KTILE * DP];
    __shared__ __align__(16) float vs[KTILE * DP];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long base = (long long)blockIdx.y * T * D, rbase = (long long)blockIdx.y * T;
    const int q0 = blockIdx.x * BQ;
    load_tile<D, D>(qs, q + base, q0, BQ, T);
    load_tile<D, D>(dos, dout + base, q0, BQ, T);

    float acc[RPW][DPL], row_lse[RPW], row_delta[RPW];
#pragma unroll
    for (int r = 0; r < RPW; ++r) {
        const int qi = q0 + warp * RPW + r;
        row_lse[r] = qi < T ? lse[rbase + qi] : 0.0f;
        row_delta[r] = qi < T ? delta[rbase + qi] : 0.0f;
#pragma unroll
        for (int e = 0; e < DPL; ++e) acc[r][e] = 0.0f;
    }
    const int kv_end = causal ? min(T, q0 + BQ) : T;
    for (int k0 = 0; k0 < kv_end; k0 += KTILE) {
        __syncthreads();
        load_tile<D, DP>(ks, k + base, k0, KTILE, T);
        load_tile<D, DP>(vs, v + base, k0, KTILE, T);
        __syncthreads();
        const int key = k0 + lane;
        float ds[RPW];
#pragma unroll
        for (int r = 0; r < RPW; ++r) {
            const int qi = q0 + warp * RPW + r;
            const bool visible = qi < T && key < T && (!causal || key <= qi);
            float d = 0.0f;
            if (visible) {
                const float s = dot_row<D>(qs + (warp * RPW + r) * D, ks + lane * DP) * scale;
                const float p = expf(s - row_lse[r]);
                const float dp = dot_row<D>(dos + (warp * RPW + r) * D, vs + lane * DP);
                d = p * (dp - row_delta[r]) * scale;
            }
            ds[r] = d;
        }
        // Keys past kv_end or T have p = 0 (their rows are zero-filled), so the loop runs the whole tile
        // with a constant trip count and unrolls fully.
#pragma unroll
        for (int j = 0; j < KTILE; ++j) {
            float kk[DPL];
#pragma unroll
            for (int e = 0; e < DPL; ++e) kk[e] = ks[j * DP + lane * DPL + e];
#pragma unroll
            for (int r = 0; r < RPW; ++r) {
                const float dsj = __shfl_sync(FULL_MASK, ds[r], j);
#pragma unroll
                for (int e = 0; e < DPL; ++e) acc[r][e] += dsj * kk[e];
            }
        }
    }
#pragma unroll
    for (int r = 0; r < RPW; ++r) {
        const int qi = q0 + warp * RPW + r;
        if (qi < T) {
#pragma unroll
            for (int e = 0; e < DPL; ++e) dq[base + (long long)qi * D + lane * DPL + e] += acc[r][e];
        }
    }
}

template <int D, int RPW>
__device__ __forceinline__ void flash_backward_dkdv(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                                    const float* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                                                    float* __restrict__ dk, float* __restrict__ dv, int T, float scale, int causal) {
    constexpr int BK = NWARPS * RPW, DP = D + 4, DPL = D / 32, QT = 32;
    __shared__ __align__(16) float kt[BK * D];
    __shared__ __align__(16) float vt[BK * D];
    __shared__ __align__(16) float qs[QT * DP];
    __shared__ __align__(16) float dos[QT * DP];
    __shared__ float lse_s[QT], delta_s[QT];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long base = (long long)blockIdx.y * T * D, rbase = (long long)blockIdx.y * T;
    const int k0 = blockIdx.x * BK;
    load_tile<D, D>(kt, k + base, k0, BK, T);
    load_tile<D, D>(vt, v + base, k0, BK, T);

    float gk[RPW][DPL], gv[RPW][DPL];
#pragma unroll
    for (int r = 0; r < RPW; ++r)
#pragma unroll
        for (int e = 0; e < DPL; ++e) gk[r][e] = gv[r][e] = 0.0f;

    // Causal: queries before this block's first key see none of its keys.
    const int q_start = causal ? (k0 / QT) * QT : 0;
    for (int i0 = q_start; i0 < T; i0 += QT) {
        __syncthreads();
        load_tile<D, DP>(qs, q + base, i0, QT, T);
        load_tile<D, DP>(dos, dout + base, i0, QT, T);
        if (threadIdx.x < QT) {
            const int i = i0 + threadIdx.x;
            lse_s[threadIdx.x] = i < T ? lse[rbase + i] : 0.0f;
            delta_s[threadIdx.x] = i < T ? delta[rbase + i] : 0.0f;
        }
        __syncthreads();
        const int qi = i0 + lane;
        float p[RPW], ds[RPW];
#pragma unroll
        for (int r = 0; r < RPW; ++r) {
            const int key = k0 + warp * RPW + r;
            const bool visible = qi < T && key < T && (!causal || key <= qi);
            p[r] = 0.0f;
            ds[r] = 0.0f;
            if (visible) {
                const float s = dot_row<D>(qs + lane * DP, kt + (warp * RPW + r) * D) * scale;
                p[r] = expf(s - lse_s[lane]);
                const float dp = dot_row<D>(dos + lane * DP, vt + (warp * RPW + r) * D);
                ds[r] = p[r] * (dp - delta_s[lane]) * scale;
            }
        }
        // Queries past T have p = ds = 0; the whole tile runs so the loop unrolls fully.
#pragma unroll
        for (int j = 0; j < QT; ++j) {
            float qq[DPL], gg[DPL];
#pragma unroll
            for (int e = 0; e < DPL; ++e) {
                qq[e] = qs[j * DP + lane * DPL + e];
                gg[e] = dos[j * DP + lane * DPL + e];
            }
#pragma unroll
            for (int r = 0; r < RPW; ++r) {
                const float pj = __shfl_sync(FULL_MASK, p[r], j);
                const float dsj = __shfl_sync(FULL_MASK, ds[r], j);
#pragma unroll
                for (int e = 0; e < DPL; ++e) {
                    gv[r][e] += pj * gg[e];
                    gk[r][e] += dsj * qq[e];
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < RPW; ++r) {
        const int key = k0 + warp * RPW + r;
        if (key < T) {
#pragma unroll
            for (int e = 0; e < DPL; ++e) {
                dk[base + (long long)key * D + lane * DPL + e] += gk[r][e];
                dv[base + (long long)key * D + lane * DPL + e] += gv[r][e];
            }
        }
    }
}

// Rows per block: forward 16 query rows for every D; dq and dk/dv 16 rows (keys) for D 32/64 and 8 for
// D 128, which keeps shared memory under the 48 KiB a kernel gets without an opt-in. The Rust wrapper
// uses the same numbers to size the grid.
#define ENTRIES(D, RPW_BWD)                                                                                              \
    extern "C" __global__ void __launch_bounds__(128) flash_attention_forward_d##D##_f32(                               \
        const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v, float* __restrict__ o,    \
        float* __restrict__ lse, int T, float scale, int causal) {                                                       \
        flash_forward<D, 4>(q, k, v, o, lse, T, scale, causal);                                                          \
    }                                                                                                                    \
    extern "C" __global__ void __launch_bounds__(128) flash_attention_backward_dq_d##D##_f32(                           \
        const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,                           \
        const float* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,                  \
        float* __restrict__ dq, int T, float scale, int causal) {                                                        \
        flash_backward_dq<D, RPW_BWD>(q, k, v, dout, lse, delta, dq, T, scale, causal);                                  \
    }                                                                                                                    \
    extern "C" __global__ void __launch_bounds__(128) flash_attention_backward_dkdv_d##D##_f32(                         \
        const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,                           \
        const float* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,                  \
        float* __restrict__ dk, float* __restrict__ dv, int T, float scale, int causal) {                                \
        flash_backward_dkdv<D, RPW_BWD>(q, k, v, dout, lse, delta, dk, dv, T, scale, causal);                            \
    }

ENTRIES(32, 4)
ENTRIES(64, 4)
ENTRIES(128, 2)

// delta[i] = sum_d dout[i, d] * o[i, d] for rows = BH * T rows of length D (any D); one warp per row,
// grid-stride over rows.
extern "C" __global__ void flash_attention_backward_preprocess_f32(const float* __restrict__ o, const float* __restrict__ dout, long long rows, int D,
                                                                   float* __restrict__ delta) {
    const int lane = threadIdx.x & 31;
    const long long warps = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long r = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float s = 0.0f;
        for (int d = lane; d < D; d += 32) s += dout[r * D + d] * o[r * D + d];
        s = warp_sum(s);
        if (lane == 0) delta[r] = s;
    }
}
