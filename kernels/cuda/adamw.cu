// One AdamW step over a flat parameter buffer: the GPU twin of kernels/src/adamw.rs, bit for bit.
//
// The per-step scalars (1 - beta1, 1 - beta2, 1 - lr * wd, lr / (1 - beta1^t), sqrt(1 - beta2^t)) are
// computed on the host in f64 exactly as the CPU kernel computes them, and passed in. Each element then
// runs the CPU's statements in the CPU's order with explicitly rounded operations (__fadd_rn, __fmul_rn,
// ...): those are never contracted into fused multiply-adds, which Rust never does either, and sqrtf and
// '/' are IEEE (NVRTC's default -prec-sqrt / -prec-div), so GPU and CPU agree to the last bit.
//
//   m = m + (1 - b1) (g - m);  v = b2 v + (1 - b2) g g;  p = p (1 - lr wd) - step_size m / (sqrt(v) / bc2_sqrt + eps)

extern "C" __global__ void adamw_step_f32(float* __restrict__ params, const float* __restrict__ grads, float* __restrict__ m,
                                          float* __restrict__ v, long long n, float one_minus_b1, float one_minus_b2, float beta2,
                                          float eps, float decay, float step_size, float bc2_sqrt) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float g = grads[i], mo = m[i], vo = v[i];
        float mi = __fadd_rn(mo, __fmul_rn(one_minus_b1, __fsub_rn(g, mo)));
        float vi = __fadd_rn(__fmul_rn(beta2, vo), __fmul_rn(__fmul_rn(one_minus_b2, g), g));
        m[i] = mi;
        v[i] = vi;
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
        params[i] = __fsub_rn(__fmul_rn(params[i], decay), __fdiv_rn(__fmul_rn(step_size, mi), denom));
    }
}
