// Element-wise kernels: unary and binary ops on contiguous and strided (broadcast) views, GELU backward,
// axpy and scale. The GPU twins of kernels/src/elementwise.rs, with the same argument meanings and the same
// `+=` convention for backward kernels, so one test compares the two.
//
// Op codes are the declaration order of kernels::UnaryOp / kernels::BinaryOp (the Rust wrapper maps them):
//   unary:  0 Neg, 1 Exp, 2 Log, 3 Tanh, 4 Sigmoid, 5 Relu, 6 Gelu (tanh), 7 GeluErf, 8 Sqrt, 9 Rsqrt,
//           10 Recip, 11 Abs, 12 Square
//   binary: 0 Add, 1 Sub, 2 Mul, 3 Div, 4 Maximum, 5 Minimum, 6 Pow
// The op is a kernel argument, uniform across the grid, so the switch costs one predictable branch per
// element rather than one kernel per op (13 + 7 entries would multiply the PTX for no measurable gain on
// memory-bound code).
//
// Contiguous kernels take a float4 path when every pointer is 16-byte aligned (checked here, since an offset
// view need not be), then finish the tail one element at a time. Strided kernels decompose the flat output
// index over at most MAX_DIMS dims (the wrapper coalesces dims first) into each operand's offset.
//
// Math is IEEE (no fast-math): expf, tanhf, erff, powf, sqrtf and '/' are the correctly rounded or
// few-ulp CUDA library versions, so results sit within a few ulp of the CPU's.

#define MAX_DIMS 8

// NaN-propagating maximum/minimum, as BinaryOp::Maximum/Minimum: a NaN `a` is kept by `a != a`, a NaN `b`
// fails the comparison and is returned.
__device__ __forceinline__ float maximum_nan(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float minimum_nan(float a, float b) { return (a < b || a != a) ? a : b; }

#define GELU_K 0.79788456f   // sqrt(2 / pi), the value the CPU uses
#define GELU_C 0.044715f
#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

__device__ __forceinline__ float unary_apply(int op, float x) {
    switch (op) {
        case 0: return -x;
        case 1: return expf(x);
        case 2: return logf(x);
        case 3: return tanhf(x);
        case 4: return 1.0f / (1.0f + expf(-x));
        case 5: return (x > 0.0f || x != x) ? x : 0.0f;
        case 6: return 0.5f * x * (1.0f + tanhf(GELU_K * (x + GELU_C * x * x * x)));
        case 7: return 0.5f * x * (1.0f + erff(x * INV_SQRT2));
        case 8: return sqrtf(x);
        case 9: return 1.0f / sqrtf(x);
        case 10: return 1.0f / x;
        case 11: return fabsf(x);
        default: return x * x;  // 12 Square
    }
}

__device__ __forceinline__ float binary_apply(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return maximum_nan(a, b);
        case 5: return minimum_nan(a, b);
        default: return powf(a, b);  // 6 Pow
    }
}

// gelu'(x), tanh form: 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2), t = tanh(k (x + c x^3)).
__device__ __forceinline__ float gelu_grad(float x) {
    float t = tanhf(GELU_K * (x + GELU_C * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
}

// Exact GELU derivative: Phi(x) + x phi(x).
__device__ __forceinline__ float gelu_erf_grad(float x) {
    float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
    float pdf = expf(-0.5f * x * x) * INV_SQRT_2PI;
    return cdf + x * pdf;
}

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15ull) == 0; }

// A strided view as the kernels read it: out is contiguous with `shape`; operand k is read at
// offset[k] + sum_d i_d * strides[k][d]. Passed by value (kernel parameter space), so no device copy.
struct StridedLayout2 {
    int ndim;
    long long shape[MAX_DIMS];
    long long offset[2];
    long long strides[2][MAX_DIMS];
};

// Offsets of flat output index `i` in the first `nops` operands.
__device__ __forceinline__ void strided_offsets(const StridedLayout2& l, long long i, int nops, long long* off) {
    off[0] = l.offset[0];
    off[1] = l.offset[1];
    for (int d = l.ndim - 1; d >= 0; --d) {
        long long n = l.shape[d];
        long long idx = i % n;
        i /= n;
        off[0] += idx * l.strides[0][d];
        if (nops > 1) off[1] += idx * l.strides[1][d];
    }
}

// out[i] = op(x[i]), i < n.
extern "C" __global__ void unary_contiguous_f32(int op, const float* __restrict__ x, float* __restrict__ out, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(x) && aligned16(out)) {
        long long n4 = n / 4;
        const float4* x4 = reinterpret_cast<const float4*>(x);
        float4* o4 = reinterpret_cast<float4*>(out);
        for (long long i = tid; i < n4; i += stride) {
            float4 v = x4[i];
            v.x = unary_apply(op, v.x);
            v.y = unary_apply(op, v.y);
            v.z = unary_apply(op, v.z);
            v.w = unary_apply(op, v.w);
            o4[i] = v;
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) out[i] = unary_apply(op, x[i]);
}

// out[i] = op(view[i]) with out contiguous; only operand 0 of the layout is used.
extern "C" __global__ void unary_strided_f32(int op, StridedLayout2 layout, const float* __restrict__ x, float* __restrict__ out, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        long long off[2];
        strided_offsets(layout, i, 1, off);
        out[i] = unary_apply(op, x[off[0]]);
    }
}

// out[i] = a[i] op b[i].
extern "C" __global__ void binary_contiguous_f32(int op, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(a) && aligned16(b) && aligned16(out)) {
        long long n4 = n / 4;
        const float4* a4 = reinterpret_cast<const float4*>(a);
        const float4* b4 = reinterpret_cast<const float4*>(b);
        float4* o4 = reinterpret_cast<float4*>(out);
        for (long long i = tid; i < n4; i += stride) {
            float4 u = a4[i], v = b4[i];
            o4[i] = make_float4(binary_apply(op, u.x, v.x), binary_apply(op, u.y, v.y), binary_apply(op, u.z, v.z),
                                binary_apply(op, u.w, v.w));
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) out[i] = binary_apply(op, a[i], b[i]);
}

// out[i] = x[i] op s (scalar_left = 0) or s op x[i] (scalar_left = 1): binary_scalar / scalar_binary.
extern "C" __global__ void binary_scalar_f32(int op, const float* __restrict__ x, float s, int scalar_left, float* __restrict__ out, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(x) && aligned16(out)) {
        long long n4 = n / 4;
        const float4* x4 = reinterpret_cast<const float4*>(x);
        float4* o4 = reinterpret_cast<float4*>(out);
        for (long long i = tid; i < n4; i += stride) {
            float4 v = x4[i];
            if (scalar_left) {
                v = make_float4(binary_apply(op, s, v.x), binary_apply(op, s, v.y), binary_apply(op, s, v.z), binary_apply(op, s, v.w));
            } else {
                v = make_float4(binary_apply(op, v.x, s), binary_apply(op, v.y, s), binary_apply(op, v.z, s), binary_apply(op, v.w, s));
            }
            o4[i] = v;
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) out[i] = scalar_left ? binary_apply(op, s, x[i]) : binary_apply(op, x[i], s);
}

// N-d broadcasting binary op: out[i] = a[view_a(i)] op b[view_b(i)]; a stride of 0 broadcasts.
extern "C" __global__ void binary_strided_f32(int op, StridedLayout2 layout, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        long long off[2];
        strided_offsets(layout, i, 2, off);
        out[i] = binary_apply(op, a[off[0]], b[off[1]]);
    }
}

// dx[i] += gelu'(x[i]) * dout[i]; erf_form selects the exact GELU's derivative.
extern "C" __global__ void gelu_backward_f32(int erf_form, const float* __restrict__ x, const float* __restrict__ dout, float* __restrict__ dx, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(x) && aligned16(dout) && aligned16(dx)) {
        long long n4 = n / 4;
        const float4* x4 = reinterpret_cast<const float4*>(x);
        const float4* g4 = reinterpret_cast<const float4*>(dout);
        float4* d4 = reinterpret_cast<float4*>(dx);
        for (long long i = tid; i < n4; i += stride) {
            float4 v = x4[i], g = g4[i], d = d4[i];
            if (erf_form) {
                d.x += gelu_erf_grad(v.x) * g.x; d.y += gelu_erf_grad(v.y) * g.y;
                d.z += gelu_erf_grad(v.z) * g.z; d.w += gelu_erf_grad(v.w) * g.w;
            } else {
                d.x += gelu_grad(v.x) * g.x; d.y += gelu_grad(v.y) * g.y;
                d.z += gelu_grad(v.z) * g.z; d.w += gelu_grad(v.w) * g.w;
            }
            d4[i] = d;
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) dx[i] += (erf_form ? gelu_erf_grad(x[i]) : gelu_grad(x[i])) * dout[i];
}

// y[i] += alpha * x[i] (gradient accumulation).
extern "C" __global__ void axpy_f32(float alpha, const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(x) && aligned16(y)) {
        long long n4 = n / 4;
        const float4* x4 = reinterpret_cast<const float4*>(x);
        float4* y4 = reinterpret_cast<float4*>(y);
        for (long long i = tid; i < n4; i += stride) {
            float4 u = x4[i], v = y4[i];
            v.x += alpha * u.x; v.y += alpha * u.y; v.z += alpha * u.z; v.w += alpha * u.w;
            y4[i] = v;
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) y[i] += alpha * x[i];
}

// x[i] *= alpha.
extern "C" __global__ void scale_f32(float alpha, float* __restrict__ x, long long n) {
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    long long head = 0;
    if (aligned16(x)) {
        long long n4 = n / 4;
        float4* x4 = reinterpret_cast<float4*>(x);
        for (long long i = tid; i < n4; i += stride) {
            float4 v = x4[i];
            v.x *= alpha; v.y *= alpha; v.z *= alpha; v.w *= alpha;
            x4[i] = v;
        }
        head = n4 * 4;
    }
    for (long long i = head + tid; i < n; i += stride) x[i] *= alpha;
}
