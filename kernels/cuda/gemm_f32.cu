// SGEMM on CUDA cores: C = alpha * op(A) * op(B) + beta * C, row-major fp32, with leading dimensions.
//
// op(A) is m x k: A is stored m x k (row stride lda) when !TA, k x m when TA. op(B) is k x n: B is stored
// k x n when !TB, n x k when TB. C is m x n with row stride ldc. beta == 0 means C is not read.
//
// Tiling (the classic register-blocked scheme): a block of (BM/8)^2 threads computes a BM x BM tile of C;
// each thread computes an 8 x 8 sub-tile as two 4-row by two 4-column groups strided by BM/2, so its
// shared-memory reads are float4s that hit distinct banks. K advances in steps of 8 through two
// shared-memory stages: while the tile in one stage is multiplied, the next one is loaded from global memory
// into registers, then stored to the other stage (one __syncthreads per step).
//
// Shared memory holds op(A) as As[k][m] and op(B) as Bs[k][n] (both "k-major"), padded by 4 floats a row,
// so the inner loop reads a column of A and a row of B as float4s.
//
// Two paths per transpose case:
//   VEC  = 1: every tile is full (m % BM == 0, n % BM == 0, k % 8 == 0) and rows are 16-byte aligned
//             (lda, ldb, ldc multiples of 4): float4 loads and stores, no bounds checks.
//   VEC  = 0: any sizes and leading dimensions: the same tiling with guarded scalar loads (zero fill) and
//             guarded stores. This is also the strided path (any lda >= row length).
//
// Entry points: sgemm_{nn,nt,tn,tt}_{128,64}_{vec,edge}; the first letter is op(A) (n: as stored,
// t: transposed), the second op(B); 128/64 is the tile size (64 fills the GPU better for small products).

#define BK 8

template <int BM>
struct SgemmSmem {
    float a[2][BK][BM + 4];
    float b[2][BK][BM + 4];
};

// Loads the BM x 8 (MN x K) tile of X starting at (mn0, k0) into `stage`, as 4-element groups.
// KCONTIG: X is stored MN x K (element (r, kk) at X[r * ld + kk]), else K x MN (X[kk * ld + r]).
// Each thread handles LOADS groups of 4; a group runs along X's contiguous dimension so VEC can use float4.
template <int BM, int NT, bool KCONTIG, bool VEC>
__device__ __forceinline__ void load_tile(const float* __restrict__ X, int ld, int mn0, int k0, int MN, int K,
                                          int tid, float4 (&stage)[BM * BK / 4 / NT]) {
    constexpr int LOADS = BM * BK / 4 / NT;
#pragma unroll
    for (int l = 0; l < LOADS; ++l) {
        int idx = tid + l * NT;
        int r, kk;  // first element of the group; the group is (r, kk..kk+3) or (r..r+3, kk)
        if (KCONTIG) { r = idx / (BK / 4); kk = (idx % (BK / 4)) * 4; }
        else         { kk = idx / (BM / 4); r = (idx % (BM / 4)) * 4; }
        int gr = mn0 + r, gk = k0 + kk;
        if (VEC) {
            const float* p = KCONTIG ? X + (size_t)gr * ld + gk : X + (size_t)gk * ld + gr;
            stage[l] = *reinterpret_cast<const float4*>(p);
        } else {
            float v[4];
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                int rr = KCONTIG ? gr : gr + e;
                int kc = KCONTIG ? gk + e : gk;
                v[e] = (rr < MN && kc < K) ? X[KCONTIG ? (size_t)rr * ld + kc : (size_t)kc * ld + rr] : 0.0f;
            }
            stage[l] = make_float4(v[0], v[1], v[2], v[3]);
        }
    }
}

// Stores what load_tile fetched into the k-major shared tile s[kk][r].
template <int BM, int NT, bool KCONTIG>
__device__ __forceinline__ void store_tile(float (&s)[BK][BM + 4], int tid, const float4 (&stage)[BM * BK / 4 / NT]) {
    constexpr int LOADS = BM * BK / 4 / NT;
#pragma unroll
    for (int l = 0; l < LOADS; ++l) {
        int idx = tid + l * NT;
        if (KCONTIG) {
            int r = idx / (BK / 4), kk = (idx % (BK / 4)) * 4;
            s[kk + 0][r] = stage[l].x;
            s[kk + 1][r] = stage[l].y;
            s[kk + 2][r] = stage[l].z;
            s[kk + 3][r] = stage[l].w;
        } else {
            int kk = idx / (BM / 4), r = (idx % (BM / 4)) * 4;
            *reinterpret_cast<float4*>(&s[kk][r]) = stage[l];
        }
    }
}

template <int BM, bool TA, bool TB, bool VEC>
__device__ __forceinline__ void sgemm_tile(int m, int n, int k, float alpha, const float* __restrict__ A, int lda,
                                           const float* __restrict__ B, int ldb, float beta, float* __restrict__ C,
                                           int ldc) {
    constexpr int TPR = BM / 8;       // threads along a tile row (and column)
    constexpr int NT = TPR * TPR;     // threads per block
    constexpr int LOADS = BM * BK / 4 / NT;
    __shared__ __align__(16) SgemmSmem<BM> sm;

    const int tid = threadIdx.x;
    const int tx = tid % TPR, ty = tid / TPR;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BM;

    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    // op(A) element (r, kk) is A[r * lda + kk] when !TA (k contiguous), A[kk * lda + r] when TA.
    // op(B) element (kk, c) is B[kk * ldb + c] when !TB (n contiguous), B[c * ldb + kk] when TB.
    float4 sa[LOADS], sb[LOADS];
    const int ktiles = (k + BK - 1) / BK;
    if (ktiles > 0) {
        load_tile<BM, NT, !TA, VEC>(A, lda, m0, 0, m, k, tid, sa);
        load_tile<BM, NT, TB, VEC>(B, ldb, n0, 0, n, k, tid, sb);
        store_tile<BM, NT, !TA>(sm.a[0], tid, sa);
        store_tile<BM, NT, TB>(sm.b[0], tid, sb);
    }
    __syncthreads();

    for (int kt = 0; kt < ktiles; ++kt) {
        const int cur = kt & 1;
        const bool more = kt + 1 < ktiles;
        if (more) {  // fetch the next tile into registers while this one is multiplied
            load_tile<BM, NT, !TA, VEC>(A, lda, m0, (kt + 1) * BK, m, k, tid, sa);
            load_tile<BM, NT, TB, VEC>(B, ldb, n0, (kt + 1) * BK, n, k, tid, sb);
        }
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float a[8], b[8];
            float4 a0 = *reinterpret_cast<const float4*>(&sm.a[cur][kk][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4*>(&sm.a[cur][kk][BM / 2 + ty * 4]);
            float4 b0 = *reinterpret_cast<const float4*>(&sm.b[cur][kk][tx * 4]);
            float4 b1 = *reinterpret_cast<const float4*>(&sm.b[cur][kk][BM / 2 + tx * 4]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
            a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
            b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w;
            b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) {  // the other stage was last read before the previous barrier: safe to overwrite
            store_tile<BM, NT, !TA>(sm.a[cur ^ 1], tid, sa);
            store_tile<BM, NT, TB>(sm.b[cur ^ 1], tid, sb);
        }
        __syncthreads();
    }

    // Epilogue: thread rows ty*4+i and BM/2+ty*4+i, columns tx*4+j and BM/2+tx*4+j.
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int row = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int col = n0 + h * (BM / 2) + tx * 4;
            float* c = C + (size_t)row * ldc + col;
            if (VEC) {
                float4 out = make_float4(alpha * acc[i][h * 4 + 0], alpha * acc[i][h * 4 + 1],
                                         alpha * acc[i][h * 4 + 2], alpha * acc[i][h * 4 + 3]);
                if (beta != 0.0f) {
                    float4 old = *reinterpret_cast<const float4*>(c);
                    out.x = fmaf(beta, old.x, out.x);
                    out.y = fmaf(beta, old.y, out.y);
                    out.z = fmaf(beta, old.z, out.z);
                    out.w = fmaf(beta, old.w, out.w);
                }
                *reinterpret_cast<float4*>(c) = out;
            } else if (row < m) {
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    if (col + j < n) {
                        float out = alpha * acc[i][h * 4 + j];
                        c[j] = beta != 0.0f ? fmaf(beta, c[j], out) : out;
                    }
                }
            }
        }
    }
}

#define SGEMM_ENTRY(name, BM, TA, TB, VEC)                                                                      \
    extern "C" __global__ void __launch_bounds__((BM / 8) * (BM / 8))                                           \
        name(int m, int n, int k, float alpha, const float* __restrict__ A, int lda, const float* __restrict__ B, \
             int ldb, float beta, float* __restrict__ C, int ldc) {                                             \
        sgemm_tile<BM, TA, TB, VEC>(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);                              \
    }

#define SGEMM_ALL(BM)                                              \
    SGEMM_ENTRY(sgemm_nn_##BM##_vec, BM, false, false, true)       \
    SGEMM_ENTRY(sgemm_nt_##BM##_vec, BM, false, true, true)        \
    SGEMM_ENTRY(sgemm_tn_##BM##_vec, BM, true, false, true)        \
    SGEMM_ENTRY(sgemm_tt_##BM##_vec, BM, true, true, true)         \
    SGEMM_ENTRY(sgemm_nn_##BM##_edge, BM, false, false, false)     \
    SGEMM_ENTRY(sgemm_nt_##BM##_edge, BM, false, true, false)      \
    SGEMM_ENTRY(sgemm_tn_##BM##_edge, BM, true, false, false)      \
    SGEMM_ENTRY(sgemm_tt_##BM##_edge, BM, true, true, false)

SGEMM_ALL(128)
SGEMM_ALL(64)
