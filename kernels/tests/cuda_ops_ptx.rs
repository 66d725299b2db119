//! Runs without a GPU: every kernel name the ops wrappers launch is a `.entry` of the PTX embedded for it,
//! every `.entry` of those files is launched by some wrapper (no dead or misspelled kernels), each module
//! is in the registry, and the PTX targets what the backend promises (sm_80 baseline, 64-bit addresses).
#![cfg(feature = "cuda")]

use kernels::cuda::ops::{adamw, attention, cross_entropy, elementwise, embedding, layernorm, reduce, softmax};
use kernels::cuda::{ptx, PtxModule};

/// The ops modules: their registry entry and the `KERNELS` list of the wrapper file.
fn ops_modules() -> Vec<(&'static PtxModule, &'static [&'static str])> {
    vec![
        (&ptx::ELEMENTWISE, elementwise::KERNELS),
        (&ptx::REDUCE, reduce::KERNELS),
        (&ptx::SOFTMAX, softmax::KERNELS),
        (&ptx::LAYERNORM, layernorm::KERNELS),
        (&ptx::CROSS_ENTROPY, cross_entropy::KERNELS),
        (&ptx::ATTENTION, attention::KERNELS),
        (&ptx::EMBEDDING, embedding::KERNELS),
        (&ptx::ADAMW, adamw::KERNELS),
    ]
}

/// The names of the `.entry` directives in a PTX text (`.visible .entry NAME(`).
fn entries(ptx_text: &str) -> Vec<String> {
    ptx_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".visible .entry ").or_else(|| l.trim().strip_prefix(".entry ")))
        .map(|rest| rest.split('(').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn every_wrapper_kernel_is_an_entry_of_its_ptx() {
    for (module, kernels) in ops_modules() {
        let found = entries(module.ptx);
        assert!(!kernels.is_empty(), "{}: the wrapper lists no kernels", module.name);
        for k in kernels {
            assert!(found.iter().any(|e| e == k), "{}.ptx has no .entry {k} (it has {found:?})", module.name);
        }
        assert_eq!(module.entries, kernels, "{}: registry entries differ from the wrapper's KERNELS", module.name);
    }
}

#[test]
fn every_entry_of_an_ops_ptx_is_launched_by_a_wrapper() {
    for (module, kernels) in ops_modules() {
        for e in entries(module.ptx) {
            assert!(
                kernels.contains(&e.as_str()),
                "{}.ptx defines {e}, which no wrapper launches (dead or misspelled)",
                module.name
            );
        }
    }
}

#[test]
fn ops_modules_are_registered_once_with_distinct_names() {
    for (module, _) in ops_modules() {
        let n = ptx::MODULES.iter().filter(|m| m.name == module.name).count();
        assert_eq!(n, 1, "module {} appears {n} times in ptx::MODULES", module.name);
    }
}

#[test]
fn ops_ptx_targets_sm80_with_64_bit_addresses() {
    for (module, _) in ops_modules() {
        let header: Vec<&str> = module.ptx.lines().map(str::trim).filter(|l| l.starts_with('.')).take(3).collect();
        assert!(header.contains(&".target sm_80"), "{}: expected .target sm_80, header {header:?}", module.name);
        assert!(header.contains(&".address_size 64"), "{}: expected .address_size 64, header {header:?}", module.name);
    }
}

#[test]
fn attention_has_one_instantiation_per_supported_head_dim() {
    for d in [32, 64, 128] {
        for family in [&attention::FORWARD, &attention::BACKWARD_DQ, &attention::BACKWARD_DKDV] {
            assert_eq!(
                family.iter().filter(|k| k.contains(&format!("_d{d}_"))).count(),
                1,
                "head_dim {d} in {family:?}"
            );
        }
    }
}

#[test]
fn adamw_step_scalars_follow_the_cpu_formula() {
    // The GPU step takes its scalars from step_scalars; check them against the formula in f64 for a few
    // steps (the bit-exact GPU test then holds the element-wise part).
    let cfg = kernels::AdamWConfig { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1 };
    for step in [1u64, 2, 10, 1000] {
        let s = adamw::step_scalars(&cfg, step);
        let bc1 = 1.0 - (0.9f32 as f64).powi(step as i32);
        let bc2 = 1.0 - (0.95f32 as f64).powi(step as i32);
        assert_eq!(s[0], (1.0 - 0.9f32 as f64) as f32);
        assert_eq!(s[1], (1.0 - 0.95f32 as f64) as f32);
        assert_eq!((s[2], s[3]), (0.95, 1e-8));
        assert_eq!(s[4], (1.0 - 3e-4f32 as f64 * 0.1f32 as f64) as f32);
        assert_eq!(s[5], (3e-4f32 as f64 / bc1) as f32);
        assert_eq!(s[6], bc2.sqrt() as f32);
    }
}

#[test]
fn strided_layout_matches_the_kernel_parameter_size() {
    // The layout goes to the kernel by value: the PTX must declare exactly the Rust struct's size, or the
    // strided kernels would read shapes and strides from the wrong bytes.
    for kernel in [elementwise::UNARY_STRIDED, elementwise::BINARY_STRIDED] {
        let decl = format!(".param .align 8 .b8 {kernel}_param_1[{}]", elementwise::STRIDED_LAYOUT_BYTES);
        assert!(ptx::ELEMENTWISE.ptx.contains(&decl), "elementwise.ptx lacks `{decl}`");
    }
}
