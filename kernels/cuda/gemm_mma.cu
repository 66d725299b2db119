// Tensor-core GEMM with mma.sync (sm_80+): C = alpha * op(A) * op(B) + beta * C, row-major, fp32 C and
// fp32 accumulation. Same operand conventions as gemm_f32.cu (op(A) m x k, op(B) k x n, leading dimensions,
// beta == 0 means C is not read).
//
//   tf32: A, B are fp32; each value is rounded to tf32 (cvt.rna) when staged in shared memory, then
//         mma.sync.m16n8k8.row.col.f32.tf32.tf32.f32.
//   bf16: A, B are bf16 stored as raw 16-bit values; mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32.
//
// Both work on 32-bit shared-memory words: one tf32 value or two bf16 values (consecutive in k, the lower k
// in the low half, which is the packing mma expects). A k-tile is 16 words deep (16 tf32 / 32 bf16 values),
// and one mma k-step is 8 words (k8 tf32 / k16 bf16), so fragment addressing is identical for both types.
//
// Block: 256 threads = 8 warps in a 2 x 4 grid; block tile 128 x 128, warp tile 64 x 32 = 4 x 4 mma tiles
// of 16 x 8. Shared memory holds op(A) as As[m][k-words] and op(B) as Bs[n][k-words] (both k-contiguous),
// rows padded from 16 to 20 words so the fragment reads (8 rows x 4 words per warp) hit 32 distinct banks.
// Two stages: the next k-tile is loaded into registers while the current one is multiplied.
//
// Fragment layout (PTX ISA, "Matrix fragments for mma.m16n8k8 / m16n8k16"), g = lane / 4, t = lane % 4,
// in words: A a0 (row g, word t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); B b0 (col g, word t),
// b1 (col g, word t + 4); C c0 (row g, col 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1).
//
// Paths: VEC = 1 needs full tiles (m % 128 == 0, n % 128 == 0, k % 16 (tf32) or 32 (bf16) == 0) and 16-byte
// aligned rows (lda, ldb multiples of 4 (tf32) or 8 (bf16)): 16-byte loads. VEC = 0 takes any sizes and
// leading dimensions with guarded element loads (zero fill) and guarded stores.
//
// Entry points: gemm_{tf32,bf16}_{nn,nt,tn,tt}_{vec,edge}.

#define TILE 128
#define KW 16        // k-words per tile
#define ROW_W 20     // shared row stride in words (16 + 4 padding)
#define THREADS 256

typedef unsigned short bf16_bits;

struct MmaSmem {
    unsigned int a[2][TILE][ROW_W];
    unsigned int b[2][TILE][ROW_W];
};

// GEMM_HOST_EMULATION: emulate/gemm_emulate.cpp compiles this file as host C++ and supplies the two
// instructions below (from their PTX ISA definitions), so the kernels' indexing is checked on a CPU.
__device__ __forceinline__ unsigned int to_tf32(float x) {
#ifdef GEMM_HOST_EMULATION
    return emu_cvt_rna_tf32(x);
#else
    unsigned int r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#endif
}

// Element type traits: values per k-tile row (KE) and per 16-byte vector (V).
template <typename T> struct Elem;
template <> struct Elem<float> { static constexpr int KE = 16, V = 4; };
template <> struct Elem<bf16_bits> { static constexpr int KE = 32, V = 8; };

// Per-thread staging registers for one operand's k-tile: TILE * KE elements / 256 threads = 8 words.
struct Stage { unsigned int w[8]; };

// Loads the TILE x KE (MN x K) tile of X at (mn0, k0). KCONTIG: element (r, kk) is X[r * ld + kk], else
// X[kk * ld + r]. The thread-to-element map keeps global reads coalesced and the later shared stores
// conflict-free (see store_stage).
template <typename T, bool KCONTIG, bool VEC>
__device__ __forceinline__ void load_stage(const T* __restrict__ X, int ld, int mn0, int k0, int MN, int K, int tid,
                                           Stage& s) {
    constexpr int KE = Elem<T>::KE, V = Elem<T>::V;
    if (VEC) {
        // Two 16-byte vectors per thread (TILE * KE / V = 512 vectors).
#pragma unroll
        for (int l = 0; l < 2; ++l) {
            int idx = tid + l * THREADS;
            const T* p;
            if (KCONTIG) {  // vector along k: row r, k-vector kv
                int r = idx / (KE / V), kv = idx % (KE / V);
                p = X + (size_t)(mn0 + r) * ld + k0 + kv * V;
            } else {        // vector along mn; consecutive lanes take consecutive k rows
                int kk = idx % KE, rv = idx / KE;
                p = X + (size_t)(k0 + kk) * ld + mn0 + rv * V;
            }
            uint4 v = *reinterpret_cast<const uint4*>(p);
            s.w[l * 4 + 0] = v.x; s.w[l * 4 + 1] = v.y; s.w[l * 4 + 2] = v.z; s.w[l * 4 + 3] = v.w;
        }
    } else {
        // Element by element, guarded: 8 words per thread = 8 fp32 or 16 bf16 elements.
        constexpr int PER = 8 * 4 / sizeof(T);
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            int idx = tid + e * THREADS;
            int r, kk;
            if (KCONTIG) { r = idx / KE; kk = idx % KE; }
            else         { r = idx % TILE; kk = idx / TILE; }
            int gr = mn0 + r, gk = k0 + kk;
            T v = 0;
            if (gr < MN && gk < K) v = X[KCONTIG ? (size_t)gr * ld + gk : (size_t)gk * ld + gr];
            if (sizeof(T) == 4) s.w[e] = __float_as_uint(*reinterpret_cast<float*>(&v));
            else reinterpret_cast<bf16_bits*>(s.w)[e] = *reinterpret_cast<bf16_bits*>(&v);
        }
    }
}

// Stores a staged tile into the k-contiguous shared tile sm[r][word]; fp32 values are rounded to tf32.
template <typename T, bool KCONTIG, bool VEC>
__device__ __forceinline__ void store_stage(unsigned int (&sm)[TILE][ROW_W], int tid, const Stage& s) {
    constexpr int KE = Elem<T>::KE, V = Elem<T>::V;
    constexpr bool F32 = sizeof(T) == 4;
    if (VEC) {
#pragma unroll
        for (int l = 0; l < 2; ++l) {
            int idx = tid + l * THREADS;
            if (KCONTIG) {  // 4 whole words, 16-byte aligned (row stride 80 bytes, kv * 16 bytes)
                int r = idx / (KE / V), kv = idx % (KE / V);
                uint4 v;
                v.x = s.w[l * 4 + 0]; v.y = s.w[l * 4 + 1]; v.z = s.w[l * 4 + 2]; v.w = s.w[l * 4 + 3];
                if (F32) {
                    v.x = to_tf32(__uint_as_float(v.x)); v.y = to_tf32(__uint_as_float(v.y));
                    v.z = to_tf32(__uint_as_float(v.z)); v.w = to_tf32(__uint_as_float(v.w));
                }
                *reinterpret_cast<uint4*>(&sm[r][kv * 4]) = v;
            } else {        // V consecutive rows at one k: transpose into V separate shared rows
                int kk = idx % KE, rv = idx / KE;
#pragma unroll
                for (int e = 0; e < V; ++e) {
                    int r = rv * V + e;
                    if (F32) sm[r][kk] = to_tf32(__uint_as_float(s.w[l * 4 + e]));
                    else reinterpret_cast<bf16_bits*>(&sm[r][0])[kk] =
                        reinterpret_cast<const bf16_bits*>(&s.w[l * 4])[e];
                }
            }
        }
    } else {
        constexpr int PER = 8 * 4 / sizeof(T);
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            int idx = tid + e * THREADS;
            int r, kk;
            if (KCONTIG) { r = idx / KE; kk = idx % KE; }
            else         { r = idx % TILE; kk = idx / TILE; }
            if (F32) sm[r][kk] = to_tf32(__uint_as_float(s.w[e]));
            else reinterpret_cast<bf16_bits*>(&sm[r][0])[kk] = reinterpret_cast<const bf16_bits*>(s.w)[e];
        }
    }
}

template <typename T>
__device__ __forceinline__ void mma(float (&c)[4], const unsigned int (&a)[4], const unsigned int (&b)[2]) {
#ifdef GEMM_HOST_EMULATION
    emu_mma_sync(sizeof(T) == 4, c, a, b);
#else
    if (sizeof(T) == 4) {
        asm volatile(
            "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#endif
}

template <typename T, bool TA, bool TB, bool VEC>
__device__ __forceinline__ void mma_gemm(int m, int n, int k, float alpha, const T* __restrict__ A, int lda,
                                         const T* __restrict__ B, int ldb, float beta, float* __restrict__ C,
                                         int ldc) {
    constexpr int KE = Elem<T>::KE;
    __shared__ __align__(16) MmaSmem sm;
    const int tid = threadIdx.x;
    const int lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, t = lane % 4;
    const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;  // warp tile origin inside the block tile
    const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

    // op(A) is k-contiguous in memory when !TA; op(B) (stored [n][k] in shared) when TB.
    Stage sa, sb;
    const int ktiles = (k + KE - 1) / KE;
    if (ktiles > 0) {
        load_stage<T, !TA, VEC>(A, lda, m0, 0, m, k, tid, sa);
        load_stage<T, TB, VEC>(B, ldb, n0, 0, n, k, tid, sb);
        store_stage<T, !TA, VEC>(sm.a[0], tid, sa);
        store_stage<T, TB, VEC>(sm.b[0], tid, sb);
    }
    __syncthreads();

    for (int kt = 0; kt < ktiles; ++kt) {
        const int cur = kt & 1;
        const bool more = kt + 1 < ktiles;
        if (more) {
            load_stage<T, !TA, VEC>(A, lda, m0, (kt + 1) * KE, m, k, tid, sa);
            load_stage<T, TB, VEC>(B, ldb, n0, (kt + 1) * KE, n, k, tid, sb);
        }
#pragma unroll
        for (int ks = 0; ks < KW; ks += 8) {
            unsigned int a[4][4], b[4][2];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int r = wm + i * 16 + g;
                a[i][0] = sm.a[cur][r][ks + t];
                a[i][1] = sm.a[cur][r + 8][ks + t];
                a[i][2] = sm.a[cur][r][ks + t + 4];
                a[i][3] = sm.a[cur][r + 8][ks + t + 4];
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int c = wn + j * 8 + g;
                b[j][0] = sm.b[cur][c][ks + t];
                b[j][1] = sm.b[cur][c][ks + t + 4];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma<T>(acc[i][j], a[i], b[j]);
        }
        if (more) {
            store_stage<T, !TA, VEC>(sm.a[cur ^ 1], tid, sa);
            store_stage<T, TB, VEC>(sm.b[cur ^ 1], tid, sb);
        }
        __syncthreads();
    }

    // Epilogue: acc[i][j][r] is C(m0 + wm + i*16 + g + 8*(r/2), n0 + wn + j*8 + 2t + r%2).
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int row = m0 + wm + i * 16 + g + 8 * (r / 2);
                const int col = n0 + wn + j * 8 + 2 * t + (r % 2);
                if (VEC || (row < m && col < n)) {
                    float* c = C + (size_t)row * ldc + col;
                    const float out = alpha * acc[i][j][r];
                    *c = beta != 0.0f ? fmaf(beta, *c, out) : out;
                }
            }
        }
    }
}

#define MMA_ENTRY(name, T, TA, TB, VEC)                                                                      \
    extern "C" __global__ void __launch_bounds__(THREADS)                                                    \
        name(int m, int n, int k, float alpha, const T* __restrict__ A, int lda, const T* __restrict__ B,    \
             int ldb, float beta, float* __restrict__ C, int ldc) {                                          \
        mma_gemm<T, TA, TB, VEC>(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);                              \
    }

#define MMA_ALL(tag, T)                                              \
    MMA_ENTRY(gemm_##tag##_nn_vec, T, false, false, true)            \
    MMA_ENTRY(gemm_##tag##_nt_vec, T, false, true, true)             \
    MMA_ENTRY(gemm_##tag##_tn_vec, T, true, false, true)             \
    MMA_ENTRY(gemm_##tag##_tt_vec, T, true, true, true)              \
    MMA_ENTRY(gemm_##tag##_nn_edge, T, false, false, false)          \
    MMA_ENTRY(gemm_##tag##_nt_edge, T, false, true, false)           \
    MMA_ENTRY(gemm_##tag##_tn_edge, T, true, false, false)           \
    MMA_ENTRY(gemm_##tag##_tt_edge, T, true, true, false)

MMA_ALL(tf32, float)
MMA_ALL(bf16, bf16_bits)
