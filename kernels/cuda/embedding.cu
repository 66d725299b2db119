// Embedding lookup (gather rows of a (vocab, dim) table) and its backward (scatter-add rows of the upstream
// gradient into the table gradient): the GPU twins of kernels/src/embedding.rs.
//
// Ids live on the device, so the wrapper cannot check them without a copy back. The kernels never read or
// write out of bounds instead: forward fills the row of an id outside [0, vocab) with NaN (it then shows in
// the loss), backward skips it. The CPU kernels return an error for it.
//
// Two backward kernels:
// - embedding_backward_f32 uses atomicAdd: positions sharing an id add into the same table row in whatever
//   order the hardware schedules them, so repeated ids give results that can differ in the last bits from
//   run to run. Needs nothing but the device ids.
// - embedding_backward_sorted_f32 is deterministic and bit-identical to the CPU kernel: the wrapper buckets
//   positions by id on the host (a stable counting sort, as the CPU does), and one block row owns each
//   table row that is used, adding its positions' gradients in increasing position order.
//
// Grid: x over dim in 4 * blockDim chunks, y over positions (grid-stride in both).

#define F32_NAN __int_as_float(0x7fffffff)

// out[p, :] = table[ids[p], :]; table is (vocab, dim), out (n, dim).
extern "C" __global__ void embedding_forward_f32(const float* __restrict__ table, int vocab, int dim, const long long* __restrict__ ids, int n,
                                                 float* __restrict__ out) {
    for (int p = blockIdx.y; p < n; p += gridDim.y) {
        long long id = ids[p];
        bool ok = id >= 0 && id < vocab;
        const float* src = table + (ok ? id : 0) * (long long)dim;
        float* dst = out + (long long)p * dim;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < dim; c += gridDim.x * blockDim.x) dst[c] = ok ? src[c] : F32_NAN;
    }
}

// dtable[ids[p], :] += dout[p, :] for every position p.
extern "C" __global__ void embedding_backward_f32(const float* __restrict__ dout, const long long* __restrict__ ids, int n, int vocab, int dim,
                                                  float* __restrict__ dtable) {
    for (int p = blockIdx.y; p < n; p += gridDim.y) {
        long long id = ids[p];
        if (id < 0 || id >= vocab) continue;
        const float* src = dout + (long long)p * dim;
        float* dst = dtable + id * (long long)dim;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < dim; c += gridDim.x * blockDim.x) atomicAdd(dst + c, src[c]);
    }
}

// Deterministic backward: for each used table row u (ids rows[u], ascending), positions
// order[starts[u] .. starts[u + 1]] (ascending) are added into dtable[rows[u], :] one after another, the
// CPU's order of additions. Grid: x over dim in blockDim chunks, y over used rows (grid-stride in both).
extern "C" __global__ void embedding_backward_sorted_f32(const float* __restrict__ dout, const int* __restrict__ order, const int* __restrict__ rows,
                                                         const int* __restrict__ starts, int nrows, int dim, float* __restrict__ dtable) {
    for (int u = blockIdx.y; u < nrows; u += gridDim.y) {
        float* dst = dtable + (long long)rows[u] * dim;
        const int s = starts[u], e = starts[u + 1];
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < dim; c += gridDim.x * blockDim.x) {
            float acc = dst[c];
            for (int k = s; k < e; ++k) acc += dout[(long long)order[k] * dim + c];
            dst[c] = acc;
        }
    }
}
