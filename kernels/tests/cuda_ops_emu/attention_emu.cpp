// Emulated on the CPU (emu.h): attention.cu's forward, preprocess, dq and dk/dv kernels against an f64
// reference, head_dim 32/64/128, causal and not, sequence lengths with partial tiles, gradients added onto
// nonzero buffers. Launch shapes as in kernels/src/cuda/ops/attention.rs.
#include "emu.h"
#include "attention.cu"

static void ref_forward(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, int bh, int t, int d, bool causal,
                        std::vector<double>& out, std::vector<double>& lse) {
    double scale = 1.0 / std::sqrt((double)d);
    out.assign(bh * t * d, 0); lse.assign(bh * t, 0);
    for (int h = 0; h < bh; ++h) for (int i = 0; i < t; ++i) {
        int vis = causal ? i + 1 : t; size_t b = (size_t)h * t * d;
        std::vector<double> s(vis);
        double m = -1e300;
        for (int j = 0; j < vis; ++j) { double a = 0; for (int c = 0; c < d; ++c) a += (double)q[b + i * d + c] * k[b + j * d + c]; s[j] = a * scale; m = std::max(m, s[j]); }
        double sum = 0; for (double x : s) sum += std::exp(x - m);
        lse[h * t + i] = m + std::log(sum);
        for (int c = 0; c < d; ++c) { double o = 0; for (int j = 0; j < vis; ++j) o += std::exp(s[j] - m) / sum * v[b + j * d + c]; out[b + i * d + c] = o; }
    }
}

static void ref_backward(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, const std::vector<float>& g, int bh, int t, int d, bool causal,
                         std::vector<double>& dq, std::vector<double>& dk, std::vector<double>& dv) {
    double scale = 1.0 / std::sqrt((double)d);
    for (int h = 0; h < bh; ++h) for (int i = 0; i < t; ++i) {
        int vis = causal ? i + 1 : t; size_t b = (size_t)h * t * d;
        std::vector<double> s(vis), p(vis), dp(vis);
        double m = -1e300;
        for (int j = 0; j < vis; ++j) { double a = 0; for (int c = 0; c < d; ++c) a += (double)q[b + i * d + c] * k[b + j * d + c]; s[j] = a * scale; m = std::max(m, s[j]); }
        double sum = 0; for (double x : s) sum += std::exp(x - m);
        double dot = 0;
        for (int j = 0; j < vis; ++j) { p[j] = std::exp(s[j] - m) / sum; double a = 0; for (int c = 0; c < d; ++c) a += (double)g[b + i * d + c] * v[b + j * d + c]; dp[j] = a; dot += p[j] * dp[j]; }
        for (int j = 0; j < vis; ++j) {
            double ds = p[j] * (dp[j] - dot) * scale;
            for (int c = 0; c < d; ++c) {
                dq[b + i * d + c] += ds * k[b + j * d + c];
                dk[b + j * d + c] += ds * q[b + i * d + c];
                dv[b + j * d + c] += p[j] * g[b + i * d + c];
            }
        }
    }
}

int main() {
    int fails = 0;
    struct Case { int bh, t, d; };
    for (Case cs : {Case{1, 1, 32}, Case{2, 5, 32}, Case{1, 33, 32}, Case{2, 17, 64}, Case{1, 40, 64}, Case{1, 9, 128}, Case{2, 19, 128}, Case{1, 70, 32}}) {
        for (int causal = 0; causal < 2; ++causal) {
            int bh = cs.bh, t = cs.t, d = cs.d; size_t n = (size_t)bh * t * d;
            std::vector<float> q(n), k(n), v(n), g(n), o(n), lse(bh * t), delta(bh * t);
            for (auto* vec : {&q, &k, &v, &g}) for (auto& x : *vec) x = frand(-1.5f, 1.5f);
            std::vector<double> ro, rl; ref_forward(q, k, v, bh, t, d, causal, ro, rl);
            float scale = 1.0f / std::sqrt((float)d);
            int rpw_b = d == 128 ? 2 : 4;
            auto fwd = d == 32 ? flash_attention_forward_d32_f32 : d == 64 ? flash_attention_forward_d64_f32 : flash_attention_forward_d128_f32;
            auto fdq = d == 32 ? flash_attention_backward_dq_d32_f32 : d == 64 ? flash_attention_backward_dq_d64_f32 : flash_attention_backward_dq_d128_f32;
            auto fkv = d == 32 ? flash_attention_backward_dkdv_d32_f32 : d == 64 ? flash_attention_backward_dkdv_d64_f32 : flash_attention_backward_dkdv_d128_f32;
            launch({unsigned((t + 15) / 16), unsigned(bh)}, {128}, [&] { fwd(q.data(), k.data(), v.data(), o.data(), lse.data(), t, scale, causal); });
            char what[128];
            snprintf(what, sizeof what, "bh%d t%d d%d causal%d", bh, t, d, causal);
            if (!close((std::string(what) + " out").c_str(), o, ro, 2e-5, 1e-4)) ++fails;
            if (!close((std::string(what) + " lse").c_str(), lse, rl, 2e-5, 1e-5)) ++fails;
            // backward: start from nonzero gradients to check +=
            std::vector<float> dq(n), dk(n), dv(n);
            for (auto* vec : {&dq, &dk, &dv}) for (auto& x : *vec) x = frand(-0.5f, 0.5f);
            std::vector<double> rdq(dq.begin(), dq.end()), rdk(dk.begin(), dk.end()), rdv(dv.begin(), dv.end());
            ref_backward(q, k, v, g, bh, t, d, causal, rdq, rdk, rdv);
            long long rows = (long long)bh * t;
            launch({unsigned((rows * 32 + 255) / 256)}, {256}, [&] { flash_attention_backward_preprocess_f32(o.data(), g.data(), rows, d, delta.data()); });
            int bwd_rows = 4 * rpw_b;
            launch({unsigned((t + bwd_rows - 1) / bwd_rows), unsigned(bh)}, {128}, [&] { fdq(q.data(), k.data(), v.data(), g.data(), lse.data(), delta.data(), dq.data(), t, scale, causal); });
            launch({unsigned((t + bwd_rows - 1) / bwd_rows), unsigned(bh)}, {128}, [&] { fkv(q.data(), k.data(), v.data(), g.data(), lse.data(), delta.data(), dk.data(), dv.data(), t, scale, causal); });
            if (!close((std::string(what) + " dq").c_str(), dq, rdq, 1e-4, 1e-4)) ++fails;
            if (!close((std::string(what) + " dk").c_str(), dk, rdk, 1e-4, 1e-4)) ++fails;
            if (!close((std::string(what) + " dv").c_str(), dv, rdv, 1e-4, 1e-4)) ++fails;
            printf("%s done\n", what);
        }
    }
    printf("attention emu: %d failures\n", fails);
    return fails != 0;
}
