// Emulated on the CPU (emu.h): reduce.cu, softmax.cu, layernorm.cu and cross_entropy.cu against f64
// references, over odd shapes, 32 and 256 threads per block, one block (every row loop runs) or one per row,
// aligned and misaligned row starts. Each .cu goes in its own namespace: their helpers share names.
#include "emu.h"
namespace red {
#include "reduce.cu"
}
#undef FULL_MASK
#undef F32_INF
namespace sm {
#include "softmax.cu"
}
#undef FULL_MASK
#undef F32_INF
namespace ln {
#include "layernorm.cu"
}
#undef FULL_MASK
#undef F32_INF
namespace ce {
#include "cross_entropy.cu"
}
#include <string>
int fails = 0;
void check(const std::string& w, const std::vector<float>& g, const std::vector<double>& r, double a, double rt) { if (!close(w.c_str(), g, r, a, rt)) ++fails; }

int main() {
    struct S { int rows, cols; };
    for (S s : {S{1, 1}, S{3, 7}, S{5, 33}, S{4, 64}, S{2, 257}, S{3, 1030}}) {
        for (unsigned threads : {32u, 256u}) {
            for (unsigned blocks : {1u, 1000u}) {
                int R = s.rows, C = s.cols;
                std::vector<float> xbuf(R * C + 1);
                for (auto& v : xbuf) v = frand(-3, 3);
                for (int start = 0; start < 2; ++start) {
                    float* x = xbuf.data() + start;
                    std::string tag = "r" + std::to_string(R) + " c" + std::to_string(C) + " t" + std::to_string(threads) + " b" + std::to_string(blocks) + " s" + std::to_string(start);
                    unsigned g = std::min<unsigned>(blocks, R);
                    // reductions
                    std::vector<float> out(R);
                    std::vector<double> rs(R), rm(R), rmax(R), rmin(R);
                    for (int r = 0; r < R; ++r) { double a = 0, mx = -1e30, mn = 1e30; for (int c = 0; c < C; ++c) { a += x[r * C + c]; mx = std::max(mx, (double)x[r * C + c]); mn = std::min(mn, (double)x[r * C + c]); } rs[r] = a; rm[r] = a / C; rmax[r] = mx; rmin[r] = mn; }
                    launch({g}, {threads}, [&] { red::sum_rows_f32(x, R, C, out.data()); }); check(tag + " sum_rows", out, rs, 1e-4, 1e-5);
                    launch({g}, {threads}, [&] { red::mean_rows_f32(x, R, C, out.data()); }); check(tag + " mean_rows", out, rm, 1e-5, 1e-5);
                    launch({g}, {threads}, [&] { red::max_rows_f32(x, R, C, out.data()); }); check(tag + " max_rows", out, rmax, 0, 0);
                    launch({g}, {threads}, [&] { red::min_rows_f32(x, R, C, out.data()); }); check(tag + " min_rows", out, rmin, 0, 0);
                    // sum_cols with chunks
                    {
                        int chunks = std::min<int>(blocks == 1000 ? 3 : blocks, R);
                        int rpc = (R + chunks - 1) / chunks; chunks = (R + rpc - 1) / rpc;
                        std::vector<double> rc(C, 0); for (int r = 0; r < R; ++r) for (int c = 0; c < C; ++c) rc[c] += x[r * C + c];
                        std::vector<float> part(chunks * C), oc(C, 123.f);
                        float* dst = chunks == 1 ? oc.data() : part.data();
                        launch({unsigned((C + 31) / 32), unsigned(chunks)}, {32, 8}, [&] { red::sum_cols_partial_f32(x, R, C, rpc, dst); });
                        if (chunks > 1) launch({unsigned((C + 255) / 256)}, {256}, [&] { red::sum_cols_finish_f32(part.data(), chunks, C, oc.data()); });
                        check(tag + " sum_cols chunks " + std::to_string(chunks), oc, rc, 1e-4, 1e-5);
                    }
                    // softmax / log-softmax forward and backward
                    std::vector<double> rsm(R * C), rlsm(R * C);
                    for (int r = 0; r < R; ++r) { double m = rmax[r], sum = 0; for (int c = 0; c < C; ++c) sum += std::exp(x[r * C + c] - m); for (int c = 0; c < C; ++c) { rsm[r * C + c] = std::exp(x[r * C + c] - m) / sum; rlsm[r * C + c] = x[r * C + c] - m - std::log(sum); } }
                    std::vector<float> y(R * C);
                    launch({g}, {threads}, [&] { sm::softmax_rows_f32(x, R, C, y.data()); }); check(tag + " softmax", y, rsm, 1e-7, 1e-5);
                    launch({g}, {threads}, [&] { sm::log_softmax_rows_f32(x, R, C, y.data()); }); check(tag + " log_softmax", y, rlsm, 1e-5, 1e-6);
                    std::vector<float> ys(rsm.begin(), rsm.end()), yl(rlsm.begin(), rlsm.end()), dy(R * C), dx0(R * C);
                    for (auto& v : dy) v = frand(-1, 1);
                    for (auto& v : dx0) v = frand(-1, 1);
                    std::vector<double> rdx(R * C), rdxl(R * C);
                    for (int r = 0; r < R; ++r) { double dot = 0, sdy = 0; for (int c = 0; c < C; ++c) { dot += ys[r * C + c] * (double)dy[r * C + c]; sdy += dy[r * C + c]; }
                        for (int c = 0; c < C; ++c) { int i = r * C + c; rdx[i] = dx0[i] + ys[i] * (dy[i] - dot); rdxl[i] = dx0[i] + dy[i] - std::exp((double)yl[i]) * sdy; } }
                    std::vector<float> dx = dx0;
                    launch({g}, {threads}, [&] { sm::softmax_rows_backward_f32(ys.data(), dy.data(), R, C, dx.data()); }); check(tag + " softmax bwd", dx, rdx, 1e-6, 1e-5);
                    dx = dx0;
                    launch({g}, {threads}, [&] { sm::log_softmax_rows_backward_f32(yl.data(), dy.data(), R, C, dx.data()); }); check(tag + " log_softmax bwd", dx, rdxl, 1e-5, 1e-5);
                    // cross-entropy
                    std::vector<long long> tg(R); for (int r = 0; r < R; ++r) tg[r] = (r % 4 == 1) ? -100 : (long long)(frand(0, 0.999f) * C);
                    std::vector<float> loss(R), lse(R);
                    launch({g}, {threads}, [&] { ce::cross_entropy_forward_f32(x, tg.data(), R, C, -100, loss.data(), lse.data()); });
                    std::vector<double> rl(R), rlse(R);
                    for (int r = 0; r < R; ++r) { rlse[r] = x[r * C] - rlsm[r * C]; rl[r] = tg[r] == -100 ? 0 : rlse[r] - x[r * C + tg[r]]; }
                    check(tag + " ce lse", lse, rlse, 1e-5, 1e-6); check(tag + " ce loss", loss, rl, 1e-5, 1e-5);
                    std::vector<float> dl(R); for (auto& v : dl) v = frand(0.1f, 1);
                    std::vector<float> dlog = dx0; std::vector<double> rdlog(R * C);
                    for (int r = 0; r < R; ++r) for (int c = 0; c < C; ++c) { int i = r * C + c; rdlog[i] = dx0[i]; if (tg[r] != -100) rdlog[i] += (std::exp((double)x[i] - lse[r]) - (c == tg[r])) * dl[r]; }
                    launch({unsigned((C + 4 * threads - 1) / (4 * threads)), g}, {threads}, [&] { ce::cross_entropy_backward_f32(x, tg.data(), R, C, -100, lse.data(), dl.data(), dlog.data()); });
                    check(tag + " ce bwd", dlog, rdlog, 1e-6, 1e-5);
                    // layernorm with an offset row mean
                    std::vector<float> xl(R * C); for (int i = 0; i < R * C; ++i) xl[i] = x[i] + (i / C % 2 ? 50.f : 0.f);
                    std::vector<float> gam(C), bet(C); for (auto& v : gam) v = frand(0.5, 1.5); for (auto& v : bet) v = frand(-1, 1);
                    for (int hg = 0; hg < 2; ++hg) {
                        std::vector<float> lo(R * C), mu(R), rsd(R);
                        launch({g}, {threads}, [&] { ln::layernorm_forward_f32(xl.data(), gam.data(), hg, bet.data(), hg, R, C, 1e-5f, lo.data(), mu.data(), rsd.data()); });
                        std::vector<double> rlo(R * C), rmu(R), rrs(R);
                        for (int r = 0; r < R; ++r) { double m = 0; for (int c = 0; c < C; ++c) m += xl[r * C + c]; m /= C; double vv = 0; for (int c = 0; c < C; ++c) vv += (xl[r * C + c] - m) * (xl[r * C + c] - m); vv /= C; double rr = 1 / std::sqrt(vv + 1e-5); rmu[r] = m; rrs[r] = rr;
                            for (int c = 0; c < C; ++c) rlo[r * C + c] = (xl[r * C + c] - m) * rr * (hg ? gam[c] : 1) + (hg ? bet[c] : 0); }
                        check(tag + " ln mean", mu, rmu, 1e-5, 1e-6); check(tag + " ln rstd", rsd, rrs, 0, 1e-4); check(tag + " ln out", lo, rlo, 1e-4, 1e-4);
                        // backward from the kernel's own mean/rstd
                        std::vector<float> ldx = dx0, dg(C, 0.25f), db(C, -0.25f);
                        std::vector<double> rldx(R * C), rdg(C, 0.25), rdb(C, -0.25);
                        for (int r = 0; r < R; ++r) { double a = 0, b = 0; for (int c = 0; c < C; ++c) { int i = r * C + c; double dn = dy[i] * (hg ? gam[c] : 1.0); double xh = (xl[i] - mu[r]) * (double)rsd[r]; a += dn; b += dn * xh; rdg[c] += dy[i] * xh; rdb[c] += dy[i]; } a /= C; b /= C;
                            for (int c = 0; c < C; ++c) { int i = r * C + c; double dn = dy[i] * (hg ? gam[c] : 1.0); double xh = (xl[i] - mu[r]) * (double)rsd[r]; rldx[i] = dx0[i] + rsd[r] * (dn - a - xh * b); } }
                        launch({g}, {threads}, [&] { ln::layernorm_backward_dx_f32(xl.data(), gam.data(), hg, mu.data(), rsd.data(), dy.data(), R, C, ldx.data()); });
                        check(tag + " ln dx", ldx, rldx, 1e-4, 1e-4);
                        int chunks = std::min<int>(blocks == 1000 ? 2 : blocks, R); int rpc = (R + chunks - 1) / chunks; chunks = (R + rpc - 1) / rpc;
                        std::vector<float> part(2 * chunks * C);
                        launch({unsigned((C + 31) / 32), unsigned(chunks)}, {32, 8}, [&] { ln::layernorm_backward_params_partial_f32(xl.data(), mu.data(), rsd.data(), dy.data(), R, C, rpc, part.data()); });
                        launch({unsigned((C + 255) / 256)}, {256}, [&] { ln::layernorm_backward_params_finish_f32(part.data(), chunks, C, dg.data(), 1, db.data(), hg); });
                        if (!hg) rdb.assign(C, -0.25);
                        check(tag + " ln dgamma", dg, rdg, 1e-4, 1e-4); check(tag + " ln dbeta", db, rdb, 1e-4, 1e-4);
                    }
                }
            }
        }
    }
    printf("rows emu: %d failures\n", fails);
    return fails != 0;
}
