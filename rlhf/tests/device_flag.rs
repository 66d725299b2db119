//! `--device`: the CPU runs; a CUDA device this build or machine cannot use is a clear error (exit 1, a
//! message naming the device and what to do), never a panic; an unknown name is a usage error (exit 2).
use std::process::{Command, Stdio};

fn rlhf(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(args).stdin(Stdio::null()).output().expect("rlhf runs");
    (o.status.code().expect("exited, not killed"), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn cuda_without_support_is_an_error_naming_the_device_and_the_fix() {
    let out = std::env::temp_dir().join(format!("rlhf_device_{}", std::process::id()));
    for args in [
        vec!["pretrain", "--device", "cuda", "--steps", "1", "--out", out.to_str().unwrap()],
        vec!["sft", "--device", "cuda:1", "--base", "nowhere", "--out", out.to_str().unwrap()],
        vec!["generate", "--device", "cuda", "--model", "nowhere", "--prompt", "x"],
        vec!["ppo", "--device", "cuda", "--policy", "nowhere", "--reward", "nowhere", "--out", out.to_str().unwrap()],
    ] {
        let (code, stderr) = rlhf(&args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains("cuda:") && (stderr.contains("--features cuda") || stderr.contains("driver") || stderr.contains("not wired")), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!out.exists(), "a refused run must not create its run folder");
}

#[test]
fn an_unknown_device_is_a_usage_error() {
    let (code, stderr) = rlhf(&["pretrain", "--device", "gpu", "--steps", "1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("expected cpu, cuda or cuda:N"), "{stderr}");
}
