// Softmax and log-softmax over the last dim of a contiguous (rows, cols) matrix, forward and backward side
// by side: the GPU twins of kernels/src/softmax.rs (same arguments, backward adds into dx).
//
// One block per row (grid-stride over rows), blockDim a multiple of 32 up to 1024. Forward reads the row
// twice: pass 1 keeps an online (max, sum of e^(x - max)) pair per thread, rescaling the sum when the max
// grows, and the pairs are merged across the block; pass 2 writes. Subtracting the row max keeps every
// exponent <= 0, so nothing overflows (rows of +-1e4 are fine). A row holding a NaN gives NaN, as on the CPU.
// Loads are float4 when the row start is 16-byte aligned (cols % 4 == 0 and an aligned buffer).

#define FULL_MASK 0xffffffffu
#define F32_INF __int_as_float(0x7f800000)

__device__ __forceinline__ float max_nan(float a, float b) { return (a > b || a != a) ? a : b; }

// Merges two (max, sum) pairs: the sums are rescaled to the larger max. An empty pair is (-inf, 0).
__device__ __forceinline__ void merge_ms(float& m, float& s, float m2, float s2) {
    float mn = max_nan(m, m2);
    float a = (m == -F32_INF) ? 0.0f : s * expf(m - mn);
    float b = (m2 == -F32_INF) ? 0.0f : s2 * expf(m2 - mn);
    m = mn;
    s = a + b;
}

// Adds one value to a thread's online (max, sum) pair.
__device__ __forceinline__ void push_ms(float& m, float& s, float x) {
    if (x > m) {
        s = (m == -F32_INF) ? 1.0f : s * expf(m - x) + 1.0f;
        m = x;
    } else if (x != x) {
        m = x;  // NaN sticks: max_nan keeps it in every merge
    } else {
        s += expf(x - m);
    }
}

// Block-wide (max, sum of e^(x - max)) of one row; every thread gets the result.
__device__ __forceinline__ void row_max_sumexp(const float* __restrict__ xr, int cols, float* sm, float* ss, float& m_out, float& s_out) {
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
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        merge_ms(m, s, m2, s2);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    if (lane == 0) {
        sm[warp] = m;
        ss[warp] = s;
    }
    __syncthreads();
    m = lane < nwarps ? sm[lane] : -F32_INF;
    s = lane < nwarps ? ss[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        merge_ms(m, s, m2, s2);
    }
    __syncthreads();  // scratch reusable by the next row
    m_out = m;
    s_out = s;
}

// Block-wide sum; every thread gets it. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    __syncthreads();
    return v;
}

// out = softmax(x) along each row.
extern "C" __global__ void softmax_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    __shared__ float sm[32], ss[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long)r * cols;
        float* orow = out + (long long)r * cols;
        float m, s;
        row_max_sumexp(xr, cols, sm, ss, m, s);
        float inv = 1.0f / s;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) orow[i] = expf(xr[i] - m) * inv;
    }
}

// out = log_softmax(x) = (x - max) - log(sum e^(x - max)) along each row (two steps, as the CPU, so the
// large-magnitude cancellation x - max is exact).
extern "C" __global__ void log_softmax_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    __shared__ float sm[32], ss[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long)r * cols;
        float* orow = out + (long long)r * cols;
        float m, s;
        row_max_sumexp(xr, cols, sm, ss, m, s);
        float log_sum = logf(s);
        for (int i = threadIdx.x; i < cols; i += blockDim.x) orow[i] = (xr[i] - m) - log_sum;
    }
}

// Softmax backward: dx += y * (dy - sum_c dy_c y_c), y the forward output.
extern "C" __global__ void softmax_rows_backward_f32(const float* __restrict__ y, const float* __restrict__ dy, int rows, int cols, float* __restrict__ dx) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        long long o = (long long)r * cols;
        float dot = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) dot += y[o + i] * dy[o + i];
        dot = block_sum(dot, scratch);
        for (int i = threadIdx.x; i < cols; i += blockDim.x) dx[o + i] += y[o + i] * (dy[o + i] - dot);
    }
}

// Log-softmax backward: dx += dy - e^y * sum_c dy_c, y the log-softmax output.
extern "C" __global__ void log_softmax_rows_backward_f32(const float* __restrict__ y, const float* __restrict__ dy, int rows, int cols, float* __restrict__ dx) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        long long o = (long long)r * cols;
        float s = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) s += dy[o + i];
        s = block_sum(s, scratch);
        for (int i = threadIdx.x; i < cols; i += blockDim.x) dx[o + i] += dy[o + i] - expf(y[o + i]) * s;
    }
}
