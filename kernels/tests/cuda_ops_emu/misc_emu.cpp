// Emulated on the CPU (emu.h): elementwise.cu (every unary and binary op, scalar forms, strided layouts,
// GELU backward, axpy, scale; aligned and misaligned), embedding.cu (repeated and out-of-range ids) and
// adamw.cu (bit-exact against the CPU statements in f32) against references.
#include "emu.h"
namespace ew {
#include "elementwise.cu"
}
namespace em {
#include "embedding.cu"
}
namespace ad {
#include "adamw.cu"
}
#include <string>
int fails = 0;
void check(const std::string& w, const std::vector<float>& g, const std::vector<double>& r, double a, double rt) { if (!close(w.c_str(), g, r, a, rt)) ++fails; }
double uref(int op, double x) {
    const double K = 0.79788456, Cc = 0.044715;
    switch (op) { case 0: return -x; case 1: return std::exp(x); case 2: return std::log(x); case 3: return std::tanh(x); case 4: return 1 / (1 + std::exp(-x));
        case 5: return x > 0 ? x : 0; case 6: return 0.5 * x * (1 + std::tanh(K * (x + Cc * x * x * x))); case 7: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        case 8: return std::sqrt(x); case 9: return 1 / std::sqrt(x); case 10: return 1 / x; case 11: return std::fabs(x); default: return x * x; }
}
double bref(int op, double a, double b) { switch (op) { case 0: return a + b; case 1: return a - b; case 2: return a * b; case 3: return a / b; case 4: return std::max(a, b); case 5: return std::min(a, b); default: return std::pow(a, b); } }
int main() {
    for (int n : {1, 7, 33, 257, 1001}) for (unsigned threads : {32u, 128u}) for (unsigned blocks : {1u, 3u}) for (int start = 0; start < 2; ++start) {
        std::string tag = "n" + std::to_string(n) + " t" + std::to_string(threads) + " b" + std::to_string(blocks) + " s" + std::to_string(start);
        std::vector<float> buf(n + 1), bbuf(n + 1), out(n + 1);
        for (auto& v : buf) v = frand(0.1f, 3.f);
        for (auto& v : bbuf) v = frand(-2.f, 2.f);
        float* x = buf.data() + start; float* o = out.data() + start;
        for (int op = 0; op < 13; ++op) {
            launch({blocks}, {threads}, [&] { ew::unary_contiguous_f32(op, x, o, n); });
            std::vector<float> got(o, o + n); std::vector<double> want(n); for (int i = 0; i < n; ++i) want[i] = uref(op, x[i]);
            check(tag + " unary " + std::to_string(op), got, want, 1e-6, 1e-5);
        }
        for (int op = 0; op < 7; ++op) {
            float* b = bbuf.data();
            launch({blocks}, {threads}, [&] { ew::binary_contiguous_f32(op, x, b, o, n); });
            std::vector<float> got(o, o + n); std::vector<double> want(n); for (int i = 0; i < n; ++i) want[i] = bref(op, x[i], b[i]);
            check(tag + " binary " + std::to_string(op), got, want, 1e-6, 1e-5);
            for (int left = 0; left < 2; ++left) {
                launch({blocks}, {threads}, [&] { ew::binary_scalar_f32(op, x, 1.7f, left, o, n); });
                std::vector<float> g2(o, o + n); for (int i = 0; i < n; ++i) want[i] = left ? bref(op, 1.7f, x[i]) : bref(op, x[i], 1.7f);
                check(tag + " scalar " + std::to_string(op) + " left " + std::to_string(left), g2, want, 1e-6, 1e-5);
            }
        }
        std::vector<float> d0(n); for (auto& v : d0) v = frand(-1, 1);
        for (int erf = 0; erf < 2; ++erf) {
            std::vector<float> dx = d0; std::vector<double> want(n);
            for (int i = 0; i < n; ++i) { double h = 1e-3, xv = x[i]; double gr = (uref(erf ? 7 : 6, xv + h) - uref(erf ? 7 : 6, xv - h)) / (2 * h); want[i] = d0[i] + gr * bbuf[i]; }
            launch({blocks}, {threads}, [&] { ew::gelu_backward_f32(erf, x, bbuf.data(), dx.data(), n); });
            check(tag + " gelu bwd " + std::to_string(erf), dx, want, 1e-5, 1e-5);
        }
        std::vector<float> y = d0; std::vector<double> want(n); for (int i = 0; i < n; ++i) want[i] = d0[i] + 0.37 * x[i];
        launch({blocks}, {threads}, [&] { ew::axpy_f32(0.37f, x, y.data(), n); }); check(tag + " axpy", y, want, 1e-6, 1e-6);
        for (int i = 0; i < n; ++i) want[i] = y[i] * -1.5;
        launch({blocks}, {threads}, [&] { ew::scale_f32(-1.5f, y.data(), n); }); check(tag + " scale", y, want, 0, 1e-7);
    }
    // strided: transpose [5, 7] of a [7, 5] matrix, offset 2, + broadcast b over rows; and 3-d with a zero stride
    {
        std::vector<float> a(2 + 35), b(7), out(35);
        for (auto& v : a) v = frand(-1, 1); for (auto& v : b) v = frand(-1, 1);
        ew::StridedLayout2 l{}; l.ndim = 2; l.shape[0] = 5; l.shape[1] = 7; l.offset[0] = 2; l.offset[1] = 0;
        l.strides[0][0] = 1; l.strides[0][1] = 5; l.strides[1][0] = 0; l.strides[1][1] = 1;
        for (unsigned blocks : {1u, 2u}) {
            launch({blocks}, {32}, [&] { ew::binary_strided_f32(1, l, a.data(), b.data(), out.data(), 35); });
            std::vector<double> want(35); for (int i = 0; i < 5; ++i) for (int j = 0; j < 7; ++j) want[i * 7 + j] = a[2 + i * 1 + j * 5] - b[j];
            check("binary_strided transpose+broadcast", out, want, 0, 0);
            launch({blocks}, {32}, [&] { ew::unary_strided_f32(0, l, a.data(), out.data(), 35); });
            for (int i = 0; i < 5; ++i) for (int j = 0; j < 7; ++j) want[i * 7 + j] = -a[2 + i + j * 5];
            check("unary_strided transpose", out, want, 0, 0);
        }
        ew::StridedLayout2 m{}; m.ndim = 3; long long sh[3] = {2, 3, 4}, sa[3] = {12, 0, 3}, sb[3] = {0, 4, 1};
        for (int d = 0; d < 3; ++d) { m.shape[d] = sh[d]; m.strides[0][d] = sa[d]; m.strides[1][d] = sb[d]; }
        std::vector<float> a3(30), b3(12), o3(24); for (auto& v : a3) v = frand(-1, 1); for (auto& v : b3) v = frand(-1, 1);
        launch({1}, {64}, [&] { ew::binary_strided_f32(2, m, a3.data(), b3.data(), o3.data(), 24); });
        std::vector<double> w3(24); for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) for (int k = 0; k < 4; ++k) w3[(i * 3 + j) * 4 + k] = (double)a3[i * 12 + k * 3] * b3[j * 4 + k];
        check("binary_strided 3d", o3, w3, 1e-7, 1e-7);
    }
    // embedding
    for (int dim : {1, 7, 70}) for (unsigned threads : {32u, 64u}) {
        int vocab = 9, n = 40; std::vector<float> table(vocab * dim), out(n * dim), dout(n * dim), dt(vocab * dim, 0.5f);
        for (auto& v : table) v = frand(-1, 1); for (auto& v : dout) v = frand(-1, 1);
        std::vector<long long> ids(n); for (int p = 0; p < n; ++p) ids[p] = p == 5 ? 9 : (p == 6 ? -1 : (long long)(frand(0, 0.999f) * vocab));
        unsigned gy = 7;
        launch({unsigned((dim + threads - 1) / threads), gy}, {threads}, [&] { em::embedding_forward_f32(table.data(), vocab, dim, ids.data(), n, out.data()); });
        std::vector<double> want(n * dim), wd(vocab * dim, 0.5);
        for (int p = 0; p < n; ++p) for (int c = 0; c < dim; ++c) { bool ok = ids[p] >= 0 && ids[p] < vocab; want[p * dim + c] = ok ? table[ids[p] * dim + c] : NAN; if (ok) wd[ids[p] * dim + c] += dout[p * dim + c]; }
        check("embedding fwd dim " + std::to_string(dim), out, want, 0, 0);
        launch({unsigned((dim + threads - 1) / threads), gy}, {threads}, [&] { em::embedding_backward_f32(dout.data(), ids.data(), n, vocab, dim, dt.data()); });
        check("embedding bwd dim " + std::to_string(dim), dt, wd, 1e-6, 1e-6);
        // Deterministic path: positions bucketed by id (valid ids only), each row summed in position order
        // onto its old value, exactly the CPU's sequence of float additions.
        std::vector<int> rows, starts{0}, order;
        for (int vv = 0; vv < vocab; ++vv) {
            int c0 = (int)order.size();
            for (int p = 0; p < n; ++p) if (ids[p] == vv) order.push_back(p);
            if ((int)order.size() > c0) { rows.push_back(vv); starts.push_back((int)order.size()); }
        }
        std::vector<float> ds(vocab * dim, 0.5f), cpu(vocab * dim, 0.5f);
        for (int p = 0; p < n; ++p) if (ids[p] >= 0 && ids[p] < vocab) for (int c = 0; c < dim; ++c) cpu[ids[p] * dim + c] += dout[p * dim + c];
        launch({unsigned((dim + threads - 1) / threads), 3}, {threads}, [&] { em::embedding_backward_sorted_f32(dout.data(), order.data(), rows.data(), starts.data(), (int)rows.size(), dim, ds.data()); });
        if (memcmp(ds.data(), cpu.data(), ds.size() * 4) != 0) { printf("FAIL embedding sorted bwd dim %d not bit-exact\n", dim); ++fails; }
    }
    // adamw vs the CPU statements in f32 (this file is compiled with -ffp-contract=off)
    {
        int n = 1000; std::vector<float> p(n), m(n, 0), v(n, 0), g(n);
        for (auto& x : p) x = frand(-1, 1);
        std::vector<float> cp = p, cm = m, cv = v;
        double lr = 3e-4f, b1 = 0.9f, b2 = 0.95f, wd = 0.1f; float eps = 1e-8f;
        bool exact = true;
        for (int step = 1; step <= 5; ++step) {
            for (auto& x : g) x = frand(-0.1f, 0.1f);
            double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
            float omb1 = 1 - b1, omb2 = 1 - b2, decay = 1 - lr * wd, ss = lr / bc1, bs = std::sqrt(bc2);
            launch({3}, {64}, [&] { ad::adamw_step_f32(p.data(), g.data(), m.data(), v.data(), n, omb1, omb2, (float)b2, eps, decay, ss, bs); });
            for (int i = 0; i < n; ++i) { float mi = cm[i] + omb1 * (g[i] - cm[i]); float vi = (float)b2 * cv[i] + omb2 * g[i] * g[i]; cm[i] = mi; cv[i] = vi; float den = std::sqrt(vi) / bs + eps; cp[i] = cp[i] * decay - ss * mi / den; }
        }
        for (int i = 0; i < n; ++i) exact &= p[i] == cp[i] && m[i] == cm[i] && v[i] == cv[i];
        if (!exact) { printf("FAIL adamw not bit-exact\n"); ++fails; }
    }
    printf("misc emu: %d failures\n", fails);
    return fails != 0;
}
