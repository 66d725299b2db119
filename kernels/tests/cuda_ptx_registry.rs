//! Checks that run on any machine with the `cuda` feature, GPU or not: the driver probe reports instead of
//! panicking, and the embedded PTX registry matches the files in `kernels/cuda/` and the kernels in them.
#![cfg(feature = "cuda")]

use std::collections::BTreeSet;
use std::path::Path;

use kernels::cuda::{driver_available, ptx, CudaDevice};

#[test]
fn driver_probe_reports_instead_of_panicking() {
    let probe = std::panic::catch_unwind(driver_available);
    let result = probe.expect("driver_available must never panic");
    match result {
        Ok(()) => {
            let dev = CudaDevice::new(0).expect("the driver is available, so device 0 must open");
            println!("CUDA driver found: {}", dev.name().unwrap_or_default());
        }
        Err(reason) => {
            assert!(!reason.is_empty());
            // Every entry point must give the same reason, as an error.
            let err = CudaDevice::new(0).expect_err("no driver, so opening a device must fail");
            assert!(err.to_string().contains(&reason), "{err} should carry the probe's reason: {reason}");
            println!("no CUDA driver here (as expected on a CPU machine): {reason}");
        }
    }
}

/// The `.entry` names a PTX text defines.
fn entries_of(ptx: &str) -> BTreeSet<String> {
    ptx.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix(".visible .entry ").or_else(|| l.strip_prefix(".entry "))?;
            Some(rest.split(['(', ' ']).next().unwrap_or("").to_string())
        })
        .collect()
}

#[test]
fn every_ptx_file_is_embedded_and_defines_the_kernels_its_wrappers_launch() {
    // Cargo sets CARGO_MANIFEST_DIR when it runs a test; a test binary copied to a GPU machine
    // (benches/gpu/run_all.sh) is given it by the script. Fall back to the build-time path.
    let root = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let dir = Path::new(&root).join("cuda");
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ptx") {
            on_disk.insert(path.file_stem().unwrap().to_string_lossy().to_string());
        }
        if path.extension().is_some_and(|e| e == "cu") {
            assert!(path.with_extension("ptx").exists(), "{} has no generated .ptx: run kernels/cuda/build_ptx.sh", path.display());
        }
    }
    let registered: BTreeSet<String> = ptx::MODULES.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(registered.len(), ptx::MODULES.len(), "module names must be unique");
    assert_eq!(
        on_disk, registered,
        "every kernels/cuda/*.ptx must be registered in kernels/src/cuda/ptx.rs MODULES, and nothing else"
    );
    for module in ptx::MODULES {
        let file = std::fs::read_to_string(dir.join(format!("{}.ptx", module.name))).unwrap();
        assert!(file == module.ptx, "the embedded {} differs from the file: rebuild the crate", module.name);
        // compute_80 PTX: JIT-compiles on sm_80 (A100) and sm_90 (H100/H200).
        assert!(module.ptx.contains(".target sm_80"), "{} must target sm_80", module.name);
        let defined = entries_of(module.ptx);
        let listed: BTreeSet<String> = module.entries.iter().map(|s| s.to_string()).collect();
        assert_eq!(listed.len(), module.entries.len(), "{}: an entry is listed twice", module.name);
        let missing: Vec<_> = listed.difference(&defined).collect();
        assert!(missing.is_empty(), "{}: listed kernels not in the PTX: {missing:?}", module.name);
        let unlisted: Vec<_> = defined.difference(&listed).collect();
        assert!(unlisted.is_empty(), "{}: kernels in the PTX but not in its entries: {unlisted:?}", module.name);
    }
}

#[test]
fn the_entry_parser_reads_ptx_declarations() {
    let text = ".version 8.8\n.target sm_80\n\n\t// .globl\tk1\n.visible .entry k1(\n\t.param .u32 x\n)\n.entry k2 (\n";
    assert_eq!(entries_of(text), ["k1".to_string(), "k2".to_string()].into_iter().collect());
}
