//! Runs without a GPU: compiles the CUDA kernels of the ops families as C++ against a small emulator
//! (`cuda_ops_emu/emu.h`: one OS thread per CUDA thread, real barriers for `__syncthreads` and warp
//! shuffles, blocks in order) and runs them against f64 references on small shapes. This checks the
//! kernels' logic (indexing, tiling, masks, reductions, synchronisation, the `+=` conventions) on any
//! machine with a C++20 compiler; it says nothing about speed or about the GPU's own math library, which
//! the `cuda_ops_*` GPU tests cover. Skips with a message when no C++ compiler is found.
#![cfg(feature = "cuda")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C++ compiler: `$CXX`, else `g++`, else `c++`; `None` when none starts.
fn compiler() -> Option<String> {
    let candidates: Vec<String> =
        std::env::var("CXX").ok().into_iter().chain(["g++".to_string(), "c++".to_string()]).collect();
    candidates.into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// Builds `harness` (a .cpp in tests/cuda_ops_emu) and runs it; panics with its output if either fails.
fn build_and_run(cxx: &str, harness: &str) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir: PathBuf = std::env::temp_dir().join(format!("cuda_ops_emu_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(harness.trim_end_matches(".cpp"));
    // -ffp-contract=off: no fused multiply-adds, so the emulated AdamW can be held to the CPU's bits.
    let build = Command::new(cxx)
        .args(["-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-w"])
        .arg("-I")
        .arg(manifest.join("cuda"))
        .arg("-I")
        .arg(manifest.join("tests/cuda_ops_emu"))
        .arg(manifest.join("tests/cuda_ops_emu").join(harness))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(build.status.success(), "{cxx} could not build {harness}:\n{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new(&exe).output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    println!("{harness}: {}", out.lines().last().unwrap_or(""));
    let _ = std::fs::remove_file(&exe);
    let _ = std::fs::remove_dir(&dir); // fails harmlessly while another harness still has its file there
    assert!(run.status.success(), "{harness} failed:\n{out}{}", String::from_utf8_lossy(&run.stderr));
}

macro_rules! emulated {
    ($name:ident, $file:literal) => {
        #[test]
        fn $name() {
            let Some(cxx) = compiler() else {
                println!("skipping: no C++ compiler ($CXX, g++, c++) to build the kernel emulator");
                return;
            };
            build_and_run(&cxx, $file);
        }
    };
}

emulated!(attention_kernels_match_reference_when_emulated, "attention_emu.cpp");
emulated!(row_kernels_match_reference_when_emulated, "rows_emu.cpp");
emulated!(elementwise_embedding_adamw_kernels_match_reference_when_emulated, "misc_emu.cpp");
