// Fused softmax + cross-entropy over logits (rows, cols) with one i64 target per row, forward and backward
// side by side: the GPU twins of kernels/src/cross_entropy.rs (same arguments, same ignore_index rule,
// backward adds into dlogits). The (rows, cols) probabilities are never stored: forward keeps one
// logsumexp per row, backward recomputes e^(x - lse).
//
// Targets live on the device, so the wrapper cannot check them without a copy back. Instead the kernels
// never read out of bounds: a target outside [0, cols) that is not ignore_index gives loss NaN (so it shows
// in the mean loss) and no gradient for that row. The CPU kernel returns an error for it instead.
//
// Forward: one block per row (grid-stride), blockDim a multiple of 32 up to 1024, online (max, sum) per
// thread merged across the block. Backward: grid (ceil(cols / (4 blockDim)), rows...), each thread four
// consecutive columns of one row.

#define FULL_MASK 0xffffffffu
#define F32_INF __int_as_float(0x7f800000)
#define F32_NAN __int_as_float(0x7fffffff)

__device__ __forceinline__ float max_nan(float a, float b) { return (a > b || a != a) ? a : b; }

__device__ __forceinline__ void merge_ms(float& m, float& s, float m2, float s2) {
    float mn = max_nan(m, m2);
    float a = (m == -F32_INF) ? 0.0f : s * expf(m - mn);
    float b = (m2 == -F32_INF) ? 0.0f : s2 * expf(m2 - mn);
    m = mn;
    s = a + b;
}

__device__ __forceinline__ void push_ms(float& m, float& s, float x) {
    if (x > m) {
        s = (m == -F32_INF) ? 1.0f : s * expf(m - x) + 1.0f;
        m = x;
    } else if (x != x) {
        m = x;
    } else {
        s += expf(x - m);
    }
}

// Forward: lse[r] = log sum_c e^{logits[r, c]}; loss[r] = lse[r] - logits[r, target[r]], 0 for ignored
// rows (whose lse is still written).
extern "C" __global__ void cross_entropy_forward_f32(const float* __restrict__ logits, const long long* __restrict__ targets, int rows, int cols,
                                                     long long ignore_index, float* __restrict__ loss, float* __restrict__ logsumexp) {
    __shared__ float sm[32], ss[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = logits + (long long)r * cols;
        float m = -F32_INF, s = 0.0f;
        int head = 0;
        if ((((unsigned long long)xr) & 15ull) == 0) {
            const float4* x4 = reinterpret_cast<const float4*>(xr);
            int n4 = cols / 4;
            for (int i = threadIdx.x; i < n4; i += blockDim.x) {
                float4 v = x4[i];
                push_ms(m, s, v.x);
                push_ms(m, s, v.y);
                push_ms(m, s, v.z);
                push_ms(m, s, v.w);
            }
            head = n4 * 4;
        }
        for (int i = head + threadIdx.x; i < cols; i += blockDim.x) push_ms(m, s, xr[i]);
        for (int o = 16; o > 0; o >>= 1) merge_ms(m, s, __shfl_xor_sync(FULL_MASK, m, o), __shfl_xor_sync(FULL_MASK, s, o));
        if (lane == 0) {
            sm[warp] = m;
            ss[warp] = s;
        }
        __syncthreads();
        if (warp == 0) {
            m = lane < nwarps ? sm[lane] : -F32_INF;
            s = lane < nwarps ? ss[lane] : 0.0f;
            for (int o = 16; o > 0; o >>= 1) merge_ms(m, s, __shfl_xor_sync(FULL_MASK, m, o), __shfl_xor_sync(FULL_MASK, s, o));
            if (lane == 0) {
                // A row of +-inf or NaN: lse is the max itself, as the CPU's row_logsumexp.
                float lse = (m == -F32_INF || m == F32_INF || m != m) ? m : m + logf(s);
                logsumexp[r] = lse;
                long long t = targets[r];
                float l;
                if (t == ignore_index) l = 0.0f;
                else if (t < 0 || t >= cols) l = F32_NAN;
                else l = lse - xr[t];
                loss[r] = l;
            }
        }
        __syncthreads();
    }
}

// Backward: dlogits[r, c] += (e^(logits[r, c] - lse[r]) - onehot(target[r])[c]) * dloss[r]; ignored (and
// out-of-range) rows are left untouched. Grid: x over column groups of 4 * blockDim, y over rows
// (grid-stride in both).
extern "C" __global__ void cross_entropy_backward_f32(const float* __restrict__ logits, const long long* __restrict__ targets, int rows, int cols,
                                                      long long ignore_index, const float* __restrict__ logsumexp, const float* __restrict__ dloss,
                                                      float* __restrict__ dlogits) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        long long t = targets[r];
        if (t == ignore_index || t < 0 || t >= cols) continue;
        float lse = logsumexp[r], g = dloss[r];
        const float* xr = logits + (long long)r * cols;
        float* dr = dlogits + (long long)r * cols;
        for (int c0 = (blockIdx.x * blockDim.x + threadIdx.x) * 4; c0 < cols; c0 += gridDim.x * blockDim.x * 4) {
            int c1 = min(c0 + 4, cols);
            for (int c = c0; c < c1; ++c) {
                // Same two steps as the CPU: add p * g, then subtract g at the target.
                float d = dr[c] + expf(xr[c] - lse) * g;
                if (c == t) d -= g;
                dr[c] = d;
            }
        }
    }
}
