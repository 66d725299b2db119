//! Peak memory of one GPT training step (forward + backward + AdamW) built from autograd's modules.
//!
//! ```text
//! cargo run --release -p autograd --example train_step_memory -- --config char-tiny --batch 12
//! cargo run --release -p autograd --example train_step_memory -- --config char-small --batch 12
//! ```
//! Configurations (the GPT issue's): `char-tiny` = vocab 65, 4 layers, 4 heads, 128 wide, block 64;
//! `char-small` = vocab 65, 6 layers, 6 heads, 384 wide, block 256.
//!
//! Prints, per phase, the live heap bytes (a counting global allocator: exact, independent of how the
//! allocator returns memory to the OS) and the process's resident peak `VmHWM` from `/proc/self/status`,
//! then one JSON line. Two steps run (the first creates AdamW's moments), the second is reported.
//! "peak during backward" vs "live after forward" shows what backward adds on top of the saved graph: since
//! each node's saved tensors are freed as soon as its rule has run, backward's peak stays close to the
//! forward's footprint instead of adding every gradient on top of it.
#[path = "common/gpt.rs"]
#[allow(dead_code)]
mod gpt;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, AdamW, AdamWOptions, Optimizer};
use gpt::{Gpt, GptConfig};
use engine::rng::Rng;
use engine::{Result, Tensor};

/// Counts live heap bytes and their peak.
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `VmHWM` (peak resident set) in MiB, from /proc/self/status (0 where unavailable).
fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let config_name = arg("--config").unwrap_or_else(|| "char-tiny".to_string());
    let batch: usize = arg("--batch").and_then(|b| b.parse().ok()).unwrap_or(12);
    let config = match config_name.as_str() {
        "char-tiny" => GptConfig { vocab_size: 65, block_size: 64, n_layer: 4, n_head: 4, n_embd: 128 },
        "char-small" => GptConfig { vocab_size: 65, block_size: 256, n_layer: 6, n_head: 6, n_embd: 384 },
        other => {
            eprintln!("unknown --config {other}: use char-tiny or char-small");
            std::process::exit(2);
        }
    };
    let mut rng = Rng::new(1337);
    let model = Gpt::new(config, &mut rng)?;
    let mut opt = AdamW::for_module(&model, 0.1, AdamWOptions { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    let t = config.block_size;
    let ids: Vec<i64> = (0..batch * (t + 1)).map(|_| rng.gen_range(config.vocab_size).unwrap() as i64).collect();
    let all = Tensor::from_vec(ids, &[batch, t + 1])?;
    let (x, y) = (all.narrow(1, 0, t)?.contiguous()?, all.narrow(1, 1, t)?.contiguous()?);
    let params_mib = mib(model.num_parameters() * 4);
    println!("{config_name}: {} parameters ({params_mib:.1} MiB), batch {batch}, block {t}", model.num_parameters());

    autograd::set_backward_profiling(args.iter().any(|a| a == "--profile"));
    let mut report = String::new();
    for step in 1..=2 {
        let start = Instant::now();
        let base = LIVE.load(Ordering::Relaxed);
        reset_peak();
        opt.zero_grad();
        let loss = model.loss(&x, &y, None)?;
        let forward_secs = start.elapsed().as_secs_f64();
        let after_forward = LIVE.load(Ordering::Relaxed);
        let forward_peak = PEAK.load(Ordering::Relaxed);
        reset_peak();
        loss.backward()?;
        let backward_secs = start.elapsed().as_secs_f64() - forward_secs;
        let backward_peak = PEAK.load(Ordering::Relaxed);
        let after_backward = LIVE.load(Ordering::Relaxed);
        assert_eq!(loss.live_graph_nodes(), 0);
        clip_grad_norm(&model.parameters(), 1.0)?;
        reset_peak();
        opt.step()?;
        let step_peak = PEAK.load(Ordering::Relaxed);
        let loss_value = loss.item()?;
        drop(loss);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "step {step}: loss {loss_value:.4}, {secs:.2} s (forward {forward_secs:.2}, backward {backward_secs:.2}) | live heap MiB: before {:.1}, after forward {:.1} \
             (forward peak {:.1}), backward peak {:.1}, after backward {:.1}, optimizer-step peak {:.1} | VmHWM {:.1} MiB",
            mib(base),
            mib(after_forward),
            mib(forward_peak),
            mib(backward_peak),
            mib(after_backward),
            mib(step_peak),
            vm_hwm_mib()
        );
        report = format!(
            "{{\"config\":\"{config_name}\",\"batch\":{batch},\"params\":{},\"step_seconds\":{secs:.3},\"forward_seconds\":{forward_secs:.3},\"backward_seconds\":{backward_secs:.3},\
             \"heap_before_mib\":{:.1},\"heap_after_forward_mib\":{:.1},\"heap_backward_peak_mib\":{:.1},\
             \"heap_after_backward_mib\":{:.1},\"vm_hwm_mib\":{:.1}}}",
            model.num_parameters(),
            mib(base),
            mib(after_forward),
            mib(backward_peak),
            mib(after_backward),
            vm_hwm_mib()
        );
    }
    for (op, calls, secs) in autograd::take_backward_profile() {
        println!("  backward {op:<28} {calls:>5} calls {secs:>8.3} s");
    }
    println!("{report}");
    Ok(())
}
