// Checks every GEMM kernel of gemm_f32.cu and gemm_mma.cu on the CPU: the .cu files are compiled as host
// C++ (host_shim.h supplies threads, shared memory, barriers and the two tensor-core instructions) and each
// entry point runs on random inputs against an fp64 reference, in all four transpose cases, on sizes that
// reach the fast path and on ragged sizes with padded leading dimensions for the edge path. NaN is written
// into C first, so a beta == 0 product that reads C, or an element left unwritten, fails.
//
// Build and run: kernels/cuda/emulate/run.sh. Exit status 0 when every case passes.
#include "host_shim.h"
#define GEMM_HOST_EMULATION 1
#include "../gemm_f32.cu"
#include "../gemm_mma.cu"

#include <random>
#include <string>

typedef void (*KernelF32)(int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*KernelBf16)(int, int, int, float, const unsigned short*, int, const unsigned short*, int, float,
                           float*, int);

static std::mt19937 rng(1234);

static std::vector<float> random_vec(size_t n) {
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

static unsigned short to_bf16(float x) {  // round to nearest even (finite inputs)
    unsigned u = __float_as_uint(x);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}
static float from_bf16(unsigned short b) { return __uint_as_float((unsigned)b << 16); }
static float round_tf32(float x) { return __uint_as_float(emu_cvt_rna_tf32(x)); }

struct Case {
    bool ta, tb;
    int m, n, k, pad;  // pad: extra elements per row in lda, ldb, ldc
    float alpha, beta;
};

static int failures = 0, passes = 0;

// Runs one product with the given kernel; `kind` 0 = fp32, 1 = tf32, 2 = bf16; `threads` per block, `tile`.
static void run_case(const char* name, int kind, void* fn, int tile, int threads, const Case& c) {
    const int a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
    const int b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
    const int lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
    std::vector<float> A = random_vec((size_t)a_rows * lda), B = random_vec((size_t)b_rows * ldb);
    std::vector<float> C0 = random_vec((size_t)c.m * ldc);
    if (c.beta == 0.0f)
        for (auto& x : C0) x = NAN;
    // Operands as the kernel sees them (rounded for tf32 / bf16), for the reference.
    std::vector<unsigned short> A16(A.size()), B16(B.size());
    for (size_t i = 0; i < A.size(); ++i) {
        if (kind == 1) A[i] = round_tf32(A[i]);
        if (kind == 2) { A16[i] = to_bf16(A[i]); A[i] = from_bf16(A16[i]); }
    }
    for (size_t i = 0; i < B.size(); ++i) {
        if (kind == 1) B[i] = round_tf32(B[i]);
        if (kind == 2) { B16[i] = to_bf16(B[i]); B[i] = from_bf16(B16[i]); }
    }
    // Aligned copies (the fast paths use 16-byte loads).
    float* dA = (float*)std::aligned_alloc(64, ((A.size() * 4 + 63) / 64) * 64);
    float* dB = (float*)std::aligned_alloc(64, ((B.size() * 4 + 63) / 64) * 64);
    float* dC = (float*)std::aligned_alloc(64, ((C0.size() * 4 + 63) / 64) * 64);
    unsigned short* hA = (unsigned short*)std::aligned_alloc(64, ((A16.size() * 2 + 63) / 64) * 64);
    unsigned short* hB = (unsigned short*)std::aligned_alloc(64, ((B16.size() * 2 + 63) / 64) * 64);
    std::memcpy(dA, A.data(), A.size() * 4);
    std::memcpy(dB, B.data(), B.size() * 4);
    std::memcpy(dC, C0.data(), C0.size() * 4);
    std::memcpy(hA, A16.data(), A16.size() * 2);
    std::memcpy(hB, B16.data(), B16.size() * 2);

    dim3 grid{(unsigned)((c.n + tile - 1) / tile), (unsigned)((c.m + tile - 1) / tile), 1};
    emu::launch(grid, threads, [&] {
        if (kind == 2)
            ((KernelBf16)fn)(c.m, c.n, c.k, c.alpha, hA, lda, hB, ldb, c.beta, dC, ldc);
        else
            ((KernelF32)fn)(c.m, c.n, c.k, c.alpha, dA, lda, dB, ldb, c.beta, dC, ldc);
    });

    double worst = 0.0;
    bool ok = true;
    for (int i = 0; i < c.m && ok; ++i) {
        for (int j = 0; j < c.n; ++j) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < c.k; ++p) {
                double a = c.ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                double b = c.tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += a * b;
                mag += std::fabs(a * b);
            }
            double want = c.alpha * s + (c.beta != 0.0f ? c.beta * C0[(size_t)i * ldc + j] : 0.0);
            double got = dC[(size_t)i * ldc + j];
            // Inputs are exact in the kernel's precision, so only fp32 accumulation error remains.
            double tol = 1e-5 * (std::fabs(c.alpha) * mag + std::fabs(c.beta)) + 1e-6;
            double err = std::fabs(got - want);
            if (!(err <= tol)) {
                std::printf("FAIL %-20s ta=%d tb=%d m=%d n=%d k=%d pad=%d: C[%d][%d] = %g, want %g\n", name, c.ta,
                            c.tb, c.m, c.n, c.k, c.pad, i, j, got, want);
                ok = false;
                break;
            }
            worst = std::fmax(worst, err);
        }
    }
    // Padding columns of C must be untouched.
    for (int i = 0; i < c.m && ok; ++i)
        for (int j = c.n; j < ldc; ++j)
            if (std::memcmp(&dC[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], 4) != 0) {
                std::printf("FAIL %-20s wrote C[%d][%d] outside n = %d\n", name, i, j, c.n);
                ok = false;
                break;
            }
    if (ok) {
        ++passes;
        std::printf("ok   %-20s ta=%d tb=%d m=%-4d n=%-4d k=%-3d pad=%d worst abs err %.2e\n", name, c.ta, c.tb,
                    c.m, c.n, c.k, c.pad, worst);
    } else {
        ++failures;
    }
    std::free(dA); std::free(dB); std::free(dC); std::free(hA); std::free(hB);
}

int main() {
    const bool T[2] = {false, true};
    const char* ops[4] = {"nn", "nt", "tn", "tt"};
    KernelF32 f32_128_vec[4] = {sgemm_nn_128_vec, sgemm_nt_128_vec, sgemm_tn_128_vec, sgemm_tt_128_vec};
    KernelF32 f32_128_edge[4] = {sgemm_nn_128_edge, sgemm_nt_128_edge, sgemm_tn_128_edge, sgemm_tt_128_edge};
    KernelF32 f32_64_vec[4] = {sgemm_nn_64_vec, sgemm_nt_64_vec, sgemm_tn_64_vec, sgemm_tt_64_vec};
    KernelF32 f32_64_edge[4] = {sgemm_nn_64_edge, sgemm_nt_64_edge, sgemm_tn_64_edge, sgemm_tt_64_edge};
    KernelF32 tf32_vec[4] = {gemm_tf32_nn_vec, gemm_tf32_nt_vec, gemm_tf32_tn_vec, gemm_tf32_tt_vec};
    KernelF32 tf32_edge[4] = {gemm_tf32_nn_edge, gemm_tf32_nt_edge, gemm_tf32_tn_edge, gemm_tf32_tt_edge};
    KernelBf16 bf16_vec[4] = {gemm_bf16_nn_vec, gemm_bf16_nt_vec, gemm_bf16_tn_vec, gemm_bf16_tt_vec};
    KernelBf16 bf16_edge[4] = {gemm_bf16_nn_edge, gemm_bf16_nt_edge, gemm_bf16_tn_edge, gemm_bf16_tt_edge};
    for (int o = 0; o < 4; ++o) {
        bool ta = T[o / 2], tb = T[o % 2];
        std::string s = ops[o];
        // Fast paths: full tiles, rows 16-byte aligned (pad a multiple of 8 keeps bf16 rows aligned too).
        run_case(("sgemm_" + s + "_128_vec").c_str(), 0, (void*)f32_128_vec[o], 128, 256, {ta, tb, 256, 128, 24, 0, 1.0f, 0.0f});
        run_case(("sgemm_" + s + "_128_vec").c_str(), 0, (void*)f32_128_vec[o], 128, 256, {ta, tb, 128, 256, 16, 8, -0.5f, 0.75f});
        run_case(("sgemm_" + s + "_64_vec").c_str(), 0, (void*)f32_64_vec[o], 64, 64, {ta, tb, 128, 64, 32, 4, 1.0f, 0.0f});
        run_case(("sgemm_" + s + "_64_vec").c_str(), 0, (void*)f32_64_vec[o], 64, 64, {ta, tb, 64, 128, 8, 0, 2.0f, 1.0f});
        run_case(("gemm_tf32_" + s + "_vec").c_str(), 1, (void*)tf32_vec[o], 128, 256, {ta, tb, 128, 256, 48, 0, 1.0f, 0.0f});
        run_case(("gemm_tf32_" + s + "_vec").c_str(), 1, (void*)tf32_vec[o], 128, 256, {ta, tb, 256, 128, 16, 8, 0.5f, -1.0f});
        run_case(("gemm_bf16_" + s + "_vec").c_str(), 2, (void*)bf16_vec[o], 128, 256, {ta, tb, 128, 256, 64, 0, 1.0f, 0.0f});
        run_case(("gemm_bf16_" + s + "_vec").c_str(), 2, (void*)bf16_vec[o], 128, 256, {ta, tb, 256, 128, 32, 8, 1.5f, 0.25f});
        // Edge paths: ragged sizes, odd padding, k not a multiple of the k-tile, tiny and empty k.
        const Case ragged[] = {
            {ta, tb, 1, 1, 1, 0, 1.0f, 0.0f},
            {ta, tb, 7, 33, 5, 1, 1.0f, 0.0f},
            {ta, tb, 130, 67, 37, 3, 0.75f, 0.5f},
            {ta, tb, 65, 129, 70, 0, 1.0f, 1.0f},
            {ta, tb, 20, 9, 0, 2, 1.0f, 2.0f},
        };
        for (const Case& c : ragged) {
            run_case(("sgemm_" + s + "_128_edge").c_str(), 0, (void*)f32_128_edge[o], 128, 256, c);
            run_case(("sgemm_" + s + "_64_edge").c_str(), 0, (void*)f32_64_edge[o], 64, 64, c);
            run_case(("gemm_tf32_" + s + "_edge").c_str(), 1, (void*)tf32_edge[o], 128, 256, c);
            run_case(("gemm_bf16_" + s + "_edge").c_str(), 2, (void*)bf16_edge[o], 128, 256, c);
        }
    }
    std::printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
