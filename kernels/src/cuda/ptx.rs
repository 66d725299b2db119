//! The PTX modules embedded in the binary: one per `kernels/cuda/NAME.cu`, generated ahead of time into
//! `kernels/cuda/NAME.ptx` (`kernels/cuda/build_ptx.sh`) and committed, so building needs no CUDA toolkit.
//!
//! Each [`PtxModule`] names the `extern "C"` kernels (`.entry` symbols) its file defines; the test
//! `cuda_ptx_registry` checks that every `.ptx` file is registered here and defines every listed entry.
//! To add a kernel family: put `kernels/cuda/foo.cu` there, run `kernels/cuda/build_ptx.sh`, add a
//! `pub const FOO: PtxModule` below and append `&FOO` to [`MODULES`].

/// One embedded PTX file and the kernels it defines.
#[derive(Debug, Clone, Copy)]
pub struct PtxModule {
    /// The file stem, e.g. `"gemm"` for `kernels/cuda/gemm.ptx`; also the cache key.
    pub name: &'static str,
    /// The PTX text.
    pub ptx: &'static str,
    /// The kernel entry points the launch wrappers use.
    pub entries: &'static [&'static str],
}

/// SGEMM on CUDA cores (`kernels/cuda/gemm_f32.cu`): tile 128 or 64, float4 fast path and edge path.
pub const GEMM_F32: PtxModule = PtxModule {
    name: "gemm_f32",
    ptx: include_str!("../../cuda/gemm_f32.ptx"),
    entries: &[
        "sgemm_nn_128_vec", "sgemm_nt_128_vec", "sgemm_tn_128_vec", "sgemm_tt_128_vec",
        "sgemm_nn_128_edge", "sgemm_nt_128_edge", "sgemm_tn_128_edge", "sgemm_tt_128_edge",
        "sgemm_nn_64_vec", "sgemm_nt_64_vec", "sgemm_tn_64_vec", "sgemm_tt_64_vec",
        "sgemm_nn_64_edge", "sgemm_nt_64_edge", "sgemm_tn_64_edge", "sgemm_tt_64_edge",
    ],
};

/// Tensor-core GEMM (`kernels/cuda/gemm_mma.cu`): tf32 and bf16 inputs, fp32 accumulation, mma.sync.
pub const GEMM_MMA: PtxModule = PtxModule {
    name: "gemm_mma",
    ptx: include_str!("../../cuda/gemm_mma.ptx"),
    entries: &[
        "gemm_tf32_nn_vec", "gemm_tf32_nt_vec", "gemm_tf32_tn_vec", "gemm_tf32_tt_vec",
        "gemm_tf32_nn_edge", "gemm_tf32_nt_edge", "gemm_tf32_tn_edge", "gemm_tf32_tt_edge",
        "gemm_bf16_nn_vec", "gemm_bf16_nt_vec", "gemm_bf16_tn_vec", "gemm_bf16_tt_vec",
        "gemm_bf16_nn_edge", "gemm_bf16_nt_edge", "gemm_bf16_tn_edge", "gemm_bf16_tt_edge",
    ],
};

// The non-GEMM kernel families (kernels/src/cuda/ops/). Each entry list is the `KERNELS` constant of the
// wrapper module that launches them, so a wrapper's kernel name and the registry cannot drift apart.

/// Element-wise unary/binary (contiguous and strided), GELU backward, axpy, scale (`elementwise.cu`).
pub const ELEMENTWISE: PtxModule =
    PtxModule { name: "elementwise", ptx: include_str!("../../cuda/elementwise.ptx"), entries: super::ops::elementwise::KERNELS };
/// Row sums/means/max/min and column sums (`reduce.cu`).
pub const REDUCE: PtxModule = PtxModule { name: "reduce", ptx: include_str!("../../cuda/reduce.ptx"), entries: super::ops::reduce::KERNELS };
/// Softmax and log-softmax, forward and backward (`softmax.cu`).
pub const SOFTMAX: PtxModule = PtxModule { name: "softmax", ptx: include_str!("../../cuda/softmax.ptx"), entries: super::ops::softmax::KERNELS };
/// LayerNorm forward and backward (`layernorm.cu`).
pub const LAYERNORM: PtxModule =
    PtxModule { name: "layernorm", ptx: include_str!("../../cuda/layernorm.ptx"), entries: super::ops::layernorm::KERNELS };
/// Fused softmax + cross-entropy, forward and backward (`cross_entropy.cu`).
pub const CROSS_ENTROPY: PtxModule =
    PtxModule { name: "cross_entropy", ptx: include_str!("../../cuda/cross_entropy.ptx"), entries: super::ops::cross_entropy::KERNELS };
/// Flash-attention-style fused attention, forward and backward (`attention.cu`).
pub const ATTENTION: PtxModule =
    PtxModule { name: "attention", ptx: include_str!("../../cuda/attention.ptx"), entries: super::ops::attention::KERNELS };
/// Embedding lookup and scatter-add backward (`embedding.cu`).
pub const EMBEDDING: PtxModule =
    PtxModule { name: "embedding", ptx: include_str!("../../cuda/embedding.ptx"), entries: super::ops::embedding::KERNELS };
/// One AdamW step (`adamw.cu`).
pub const ADAMW: PtxModule = PtxModule { name: "adamw", ptx: include_str!("../../cuda/adamw.ptx"), entries: super::ops::adamw::KERNELS };

/// Every embedded module. Loaded lazily, each once per device (`CudaDevice::function`).
pub const MODULES: &[&PtxModule] = &[
    &GEMM_F32,
    &GEMM_MMA,
    &ELEMENTWISE,
    &REDUCE,
    &SOFTMAX,
    &LAYERNORM,
    &CROSS_ENTROPY,
    &ATTENTION,
    &EMBEDDING,
    &ADAMW,
];
