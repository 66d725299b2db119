// Row and column reductions over a contiguous (rows, cols) matrix: the GPU twins of kernels/src/reduce.rs.
//
// Row kernels: one block per row (grid-stride over rows, so any grid works), blockDim a multiple of 32 up to
// 1024. Each thread accumulates a strided slice of the row (float4 loads when the row is 16-byte aligned,
// i.e. cols % 4 == 0 and x aligned), then warps combine with shuffles and the block through 32 floats of
// shared memory. Accumulation is f32 per thread and in the trees: each thread sums about cols / blockDim
// terms, so the error is ~(cols / blockDim + log2 blockDim) ulp of the partial sums, not cols ulp.
// The order is fixed by (cols, blockDim) alone, so results are deterministic.
//
// max/min propagate NaN as the CPU's row_max / row_min do (a row holding a NaN reduces to NaN).
//
// sum_cols: out[c] = sum_r x[r, c], overwriting out (as the CPU does). A block of 32 x 8 threads owns 32
// columns of one chunk of rows; thread (tx, ty) sums rows ty, ty + 8, ... of column c0 + tx (coalesced
// across tx), then the 8 partials are combined in shared memory in a fixed order; chunk partials are added
// in chunk order by a second kernel. Deterministic, no atomics.

#define FULL_MASK 0xffffffffu
// +inf without math.h (NVRTC compiles these files with no headers).
#define F32_INF __int_as_float(0x7f800000)

__device__ __forceinline__ float max_nan(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float min_nan(float a, float b) { return (a < b || a != a) ? a : b; }

// op: 0 sum, 1 max, 2 min.
__device__ __forceinline__ float combine(int op, float a, float b) {
    return op == 0 ? a + b : (op == 1 ? max_nan(a, b) : min_nan(a, b));
}

__device__ __forceinline__ float warp_reduce(int op, float v) {
    for (int o = 16; o > 0; o >>= 1) v = combine(op, v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Reduces `v` over the block; every thread gets the result. `scratch` holds 32 floats. Ends with a barrier
// so the scratch can be reused by the next call.
__device__ __forceinline__ float block_reduce(int op, float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_reduce(op, v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float identity = op == 0 ? 0.0f : (op == 1 ? -F32_INF : F32_INF);
    float r = lane < nwarps ? scratch[lane] : identity;
    r = warp_reduce(op, r);
    __syncthreads();
    return r;
}

// Reduces one row with op (0 sum, 1 max, 2 min).
__device__ __forceinline__ float reduce_row(int op, const float* __restrict__ xr, int cols, float* scratch) {
    float identity = op == 0 ? 0.0f : (op == 1 ? -F32_INF : F32_INF);
    float acc = identity;
    int head = 0;
    if ((((unsigned long long)xr) & 15ull) == 0) {
        const float4* x4 = reinterpret_cast<const float4*>(xr);
        int n4 = cols / 4;
        for (int i = threadIdx.x; i < n4; i += blockDim.x) {
            float4 v = x4[i];
            acc = combine(op, acc, combine(op, combine(op, v.x, v.y), combine(op, v.z, v.w)));
        }
        head = n4 * 4;
    }
    for (int i = head + threadIdx.x; i < cols; i += blockDim.x) acc = combine(op, acc, xr[i]);
    return block_reduce(op, acc, scratch);
}

// mode: 0 sum, 1 mean, 2 max, 3 min.
__device__ __forceinline__ void rows_kernel(int mode, const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    __shared__ float scratch[32];
    int op = mode <= 1 ? 0 : mode - 1;
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        float v = reduce_row(op, x + (long long)r * cols, cols, scratch);
        if (threadIdx.x == 0) out[r] = mode == 1 ? v / (float)cols : v;
    }
}

// out[r] = sum_c x[r, c].
extern "C" __global__ void sum_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    rows_kernel(0, x, rows, cols, out);
}

// out[r] = mean_c x[r, c] (0 columns give 0 / 0 = NaN, as the CPU).
extern "C" __global__ void mean_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    rows_kernel(1, x, rows, cols, out);
}

// out[r] = max_c x[r, c], NaN if the row holds a NaN. The wrapper refuses cols == 0.
extern "C" __global__ void max_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    rows_kernel(2, x, rows, cols, out);
}

// out[r] = min_c x[r, c], NaN if the row holds a NaN. The wrapper refuses cols == 0.
extern "C" __global__ void min_rows_f32(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    rows_kernel(3, x, rows, cols, out);
}

#define SUM_COLS_TX 32
#define SUM_COLS_TY 8

// Column sums of a chunk of rows: block (bx, by) sums rows [by * rows_per_chunk, (by + 1) * rows_per_chunk)
// of columns [32 bx, 32 bx + 32) into dst[by * cols + c]. Launch with block (32, 8) and grid
// (ceil(cols / 32), chunks). With one chunk dst is the output; with several, sum_cols_finish_f32 adds the
// chunk partials in chunk order (deterministic; chunks give tall matrices enough blocks to fill the GPU).
extern "C" __global__ void sum_cols_partial_f32(const float* __restrict__ x, int rows, int cols, int rows_per_chunk, float* __restrict__ dst) {
    __shared__ float part[SUM_COLS_TY][SUM_COLS_TX + 1];
    int c = blockIdx.x * SUM_COLS_TX + threadIdx.x;
    int r0 = blockIdx.y * rows_per_chunk;
    int r1 = min(rows, r0 + rows_per_chunk);
    float acc = 0.0f;
    if (c < cols) {
        for (int r = r0 + threadIdx.y; r < r1; r += SUM_COLS_TY) acc += x[(long long)r * cols + c];
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float s = 0.0f;
        for (int y = 0; y < SUM_COLS_TY; ++y) s += part[y][threadIdx.x];
        dst[(long long)blockIdx.y * cols + c] = s;
    }
}

// out[c] = sum_k partial[k, c] over `chunks` partials, in order (one thread per column).
extern "C" __global__ void sum_cols_finish_f32(const float* __restrict__ partial, int chunks, int cols, float* __restrict__ out) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int k = 0; k < chunks; ++k) s += partial[(long long)k * cols + c];
        out[c] = s;
    }
}
