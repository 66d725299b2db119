// Layer normalisation over the last dim of a contiguous (rows, cols) matrix, forward and backward side by
// side: the GPU twins of kernels/src/layernorm.rs (llm.c's pair). Forward saves each row's mean and
// rstd = 1 / sqrt(var + eps); backward adds into dx, dgamma and dbeta (the crate's `+=` convention).
//
// gamma / beta are optional: has_gamma / has_beta = 0 means identity scale / zero shift, and the pointer
// is then never read (the wrapper passes any valid buffer).
//
// Statistics take two passes (mean, then the mean of squared deviations), as the CPU does: E[x^2] - E[x]^2
// cancels catastrophically for rows with a large mean. Variance is the biased one (divide by cols).
//
// Row kernels: one block per row (grid-stride), blockDim a multiple of 32 up to 1024.
// Parameter gradients: dgamma[c] = sum_r dy[r, c] xhat[r, c] and dbeta[c] = sum_r dy[r, c] are column
// sums, done like sum_cols: blocks of 32 x 8 threads own 32 columns of one chunk of rows and write chunk
// partials; a second kernel adds the partials in chunk order into dgamma/dbeta. No atomics, so the result
// is deterministic.

#define FULL_MASK 0xffffffffu

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

// out = (x - mean) * rstd * gamma + beta per row; mean[r], rstd[r] saved for backward.
extern "C" __global__ void layernorm_forward_f32(const float* __restrict__ x, const float* __restrict__ gamma, int has_gamma,
                                                 const float* __restrict__ beta, int has_beta, int rows, int cols, float eps,
                                                 float* __restrict__ out, float* __restrict__ mean, float* __restrict__ rstd) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long)r * cols;
        float* orow = out + (long long)r * cols;
        // The mean is summed relative to the row's first value: for rows with a large mean (activations
        // around 1e3) the f32 partial sums then stay small and keep their low bits.
        const float shift = xr[0];
        float s = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) s += xr[i] - shift;
        float mu = shift + block_sum(s, scratch) / (float)cols;
        float v = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            float d = xr[i] - mu;
            v += d * d;
        }
        float var = block_sum(v, scratch) / (float)cols;
        float rs = 1.0f / sqrtf(var + eps);
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            float y = (xr[i] - mu) * rs;
            if (has_gamma) y *= gamma[i];
            if (has_beta) y += beta[i];
            orow[i] = y;
        }
        if (threadIdx.x == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

// dx += rstd * (dn - mean(dn) - xhat * mean(dn * xhat)) with dn = dy * gamma, xhat = (x - mean) * rstd.
extern "C" __global__ void layernorm_backward_dx_f32(const float* __restrict__ x, const float* __restrict__ gamma, int has_gamma,
                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                     const float* __restrict__ dy, int rows, int cols, float* __restrict__ dx) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        long long o = (long long)r * cols;
        float mu = mean[r], rs = rstd[r];
        float a = 0.0f, b = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            float dn = has_gamma ? dy[o + i] * gamma[i] : dy[o + i];
            a += dn;
            b += dn * ((x[o + i] - mu) * rs);
        }
        float mean_dn = block_sum(a, scratch) / (float)cols;
        float mean_dn_xhat = block_sum(b, scratch) / (float)cols;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            float dn = has_gamma ? dy[o + i] * gamma[i] : dy[o + i];
            float xhat = (x[o + i] - mu) * rs;
            dx[o + i] += rs * (dn - mean_dn - xhat * mean_dn_xhat);
        }
    }
}

#define LN_TX 32
#define LN_TY 8

// Chunk partials of dgamma and dbeta: block (bx, by) covers columns [32 bx, 32 bx + 32) and rows
// [by * rows_per_chunk, ...). partial is (2, chunks, cols): [0] dgamma partials, [1] dbeta partials.
// Launch with block (32, 8), grid (ceil(cols / 32), chunks).
extern "C" __global__ void layernorm_backward_params_partial_f32(const float* __restrict__ x, const float* __restrict__ mean,
                                                                 const float* __restrict__ rstd, const float* __restrict__ dy,
                                                                 int rows, int cols, int rows_per_chunk, float* __restrict__ partial) {
    __shared__ float pg[LN_TY][LN_TX + 1], pb[LN_TY][LN_TX + 1];
    int c = blockIdx.x * LN_TX + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk;
    int r1 = min(rows, r0 + rows_per_chunk);
    float g = 0.0f, b = 0.0f;
    if (c < cols) {
        for (int r = r0 + threadIdx.y; r < r1; r += LN_TY) {
            long long o = (long long)r * cols + c;
            float d = dy[o];
            g += d * ((x[o] - mean[r]) * rstd[r]);
            b += d;
        }
    }
    pg[threadIdx.y][threadIdx.x] = g;
    pb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float sg = 0.0f, sb = 0.0f;
        for (int y = 0; y < LN_TY; ++y) {
            sg += pg[y][threadIdx.x];
            sb += pb[y][threadIdx.x];
        }
        long long chunks = gridDim.y;
        partial[(long long)blockIdx.y * cols + c] = sg;
        partial[(chunks + blockIdx.y) * cols + c] = sb;
    }
}

// dgamma[c] += sum_k partial[0, k, c] and dbeta[c] += sum_k partial[1, k, c], chunks added in order.
// want_dgamma / want_dbeta = 0 skip that output (its pointer is then never written).
extern "C" __global__ void layernorm_backward_params_finish_f32(const float* __restrict__ partial, int chunks, int cols,
                                                                float* __restrict__ dgamma, int want_dgamma,
                                                                float* __restrict__ dbeta, int want_dbeta) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
        float sg = 0.0f, sb = 0.0f;
        for (int k = 0; k < chunks; ++k) {
            sg += partial[(long long)k * cols + c];
            sb += partial[(long long)(chunks + k) * cols + c];
        }
        if (want_dgamma) dgamma[c] += sg;
        if (want_dbeta) dbeta[c] += sb;
    }
}
