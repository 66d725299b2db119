//! The main job runs end to end on its embedded default, learns, and is deterministic for a seed.
use std::process::Command;

fn run_demo(seed: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(["demo", "--gemm-size", "96", "--steps", "60", "--seed", seed, "--threads", "2"])
        .output()
        .expect("the rlhf binary runs");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The classifier lines (loss and accuracy), which must not depend on timing.
fn classifier_lines(output: &str) -> Vec<String> {
    output.lines().filter(|l| l.contains("classifier step")).map(str::to_owned).collect()
}

fn loss_of(line: &str) -> f32 {
    let after = line.split("loss ").nth(1).expect("a loss figure");
    after.split(',').next().unwrap().trim().parse().expect("a number")
}

#[test]
fn demo_trains_and_round_trips() {
    let output = run_demo("7");
    let lines = classifier_lines(&output);
    assert!(lines.len() >= 2, "expected classifier progress lines in:\n{output}");
    let first = loss_of(&lines[0]);
    let last = loss_of(lines.last().unwrap());
    // Zero weights start at ln(4) for four classes; gradient descent must bring it well down.
    assert!((first - 4f32.ln()).abs() < 1e-3, "initial loss {first}");
    assert!(last < 0.8 * first, "loss did not fall: {first} -> {last}");
    assert!(output.contains("identical"), "safetensors round trip not confirmed:\n{output}");
}

#[test]
fn demo_is_deterministic_for_a_seed() {
    assert_eq!(classifier_lines(&run_demo("11")), classifier_lines(&run_demo("11")));
    assert_ne!(classifier_lines(&run_demo("11")), classifier_lines(&run_demo("12")));
}

#[test]
fn bad_arguments_exit_with_an_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(["demo", "--steps", "many"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--steps") && !stderr.contains("panicked"), "{stderr}");
}
