//! `gpt`: GPT training and generation throughput, ours (models::gpt on autograd) against the same
//! architecture in PyTorch (`benches/python/gpt_torch.py`, float32, eager, AdamW) in the same invocation,
//! with the same batch and thread count. Prints each figure, the ratio, and a JSON summary as the last line.
//!
//! ```sh
//! cargo run --release -p benches --bin gpt -- --threads 2
//! cargo run --release -p benches --bin gpt -- --no-peer --train-steps 3   # ours only, quicker
//! cargo run --release -p benches --bin gpt -- --no-peer --presets char-small --no-generate   # to profile
//! ```
//! Training: optimizer steps (forward, backward, clipping, AdamW) on random `[batch, block]` token batches
//! for `char-tiny` and `char-small`, median step time -> tokens/s. Generation: `char-small` greedy decoding
//! with the KV cache at batch 1 and 8 from a 16-token prompt. Peak memory: the process's VmHWM after the
//! training of each preset (cumulative: the second figure includes the first run's peak if it was larger).
//! The peer runs with `OMP_WAIT_POLICY=PASSIVE` unless the variable is set (see `peer`).
use std::path::Path;
use std::process::Command;

use autograd::optim::{clip_grad_norm, AdamW, AdamWOptions, Optimizer};
use autograd::nn::Module;
use benches::median_seconds;
use clap::Parser;
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{generate, GenerateOptions, Gpt, GptConfig};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "GPT training and generation throughput: ours vs PyTorch")]
struct Args {
    /// Threads for both (ours: a rayon pool; PyTorch: torch.set_num_threads).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Training batch size (nanoGPT's Shakespeare recipe: 12).
    #[arg(long, default_value_t = 12)]
    batch: usize,
    /// Untimed training steps first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed training steps (median reported).
    #[arg(long, default_value_t = 5)]
    train_steps: usize,
    /// New tokens per generation run.
    #[arg(long, default_value_t = 128)]
    new_tokens: usize,
    /// Skip the PyTorch peer.
    #[arg(long)]
    no_peer: bool,
    /// Training presets to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "char-tiny,char-small")]
    presets: Vec<String>,
    /// Skip the generation measurements (training only, e.g. under a profiler).
    #[arg(long)]
    no_generate: bool,
}

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn random_ids(b: usize, t: usize, vocab: usize, rng: &mut Rng) -> Tensor {
    let v: Vec<i64> = (0..b * t).map(|_| rng.gen_range(vocab).expect("vocab > 0") as i64).collect();
    Tensor::from_vec(v, &[b, t]).expect("ids")
}

/// Median seconds of one optimizer step of `preset` at `batch`.
fn train_step_seconds(preset: &str, args: &Args) -> f64 {
    let config = GptConfig::preset(preset).expect("preset");
    let model = Gpt::new(config.clone(), &mut Rng::new(0)).expect("model");
    let mut opt = AdamW::for_module(&model, 0.1, AdamWOptions { lr: 1e-3, beta2: 0.99, ..Default::default() });
    let params = model.parameters();
    let mut rng = Rng::new(1);
    median_seconds(args.warmup, args.train_steps, || {
        let ids = random_ids(args.batch, config.block_size, config.vocab_size, &mut rng);
        let targets = random_ids(args.batch, config.block_size, config.vocab_size, &mut rng);
        opt.zero_grad();
        let loss = model.forward(&ids, Some(&targets)).expect("forward").loss.expect("loss");
        loss.backward().expect("backward");
        clip_grad_norm(&params, 1.0).expect("clip");
        opt.step().expect("step");
    })
}

/// Generated tokens per second of `char-small` at `batch` with the KV cache (greedy).
fn generation_tokens_per_s(batch: usize, args: &Args) -> f64 {
    let config = GptConfig::preset("char-small").expect("preset");
    let model = Gpt::new(config.clone(), &mut Rng::new(0)).expect("model");
    let mut rng = Rng::new(2);
    let prompts: Vec<Vec<u32>> =
        (0..batch).map(|_| (0..16).map(|_| rng.gen_range(config.vocab_size).unwrap() as u32).collect()).collect();
    let new = args.new_tokens.min(config.block_size - 16);
    let options = GenerateOptions { max_new_tokens: new, temperature: 0.0, ..Default::default() };
    let seconds = median_seconds(1, 3, || {
        let out = generate(&model, &prompts, &options, &mut |_, _| {}).expect("generate");
        assert!(out.iter().all(|r| r.len() == new));
    });
    (batch * new) as f64 / seconds
}

fn peer(args: &[String]) -> Option<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/gpt_torch.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script).args(args);
    // On a shared machine OpenMP's spinning barriers collapse when a core is taken (measured: char-small
    // generation at batch 1 fell from ~380 to ~8 tokens/s); passive waiting is PyTorch's fair setting there.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        cmd.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    match cmd.output() {
        Ok(out) if out.status.success() => {
            String::from_utf8_lossy(&out.stdout).lines().last().and_then(|l| serde_json::from_str(l).ok())
        }
        Ok(out) => {
            eprintln!("warning: the PyTorch peer failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            None
        }
        Err(e) => {
            eprintln!("warning: could not run python3 for the PyTorch peer: {e}");
            None
        }
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn main() {
    let args = Args::parse();
    // Activation-sized buffers are freed and reallocated every step: keep them in the heap.
    engine::allocator::retain_freed_memory();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.max(1)).build().expect("rayon pool");
    let mut report = Vec::new();
    for preset in args.presets.iter().map(String::as_str) {
        let config = GptConfig::preset(preset).expect("preset");
        let seconds = pool.install(|| train_step_seconds(preset, &args));
        let ours = (args.batch * config.block_size) as f64 / seconds;
        let rss = peak_rss_bytes();
        println!(
            "train {preset}: ours {ours:.0} tokens/s ({:.1} ms/step, batch {} x {}, {} threads), peak RSS {:.0} MB",
            seconds * 1e3,
            args.batch,
            config.block_size,
            args.threads,
            rss.unwrap_or(0) as f64 / 1e6
        );
        let theirs = if args.no_peer {
            None
        } else {
            peer(&[s("train"), s("--preset"), s(preset), s("--batch"), s(args.batch), s("--steps"), s(args.train_steps), s("--warmup"), s(args.warmup), s("--threads"), s(args.threads)])
        };
        let peer_rate = theirs.as_ref().and_then(|p| p["tokens_per_s"].as_f64());
        if let Some(p) = peer_rate {
            let peer_rss = theirs.as_ref().and_then(|t| t["peak_rss_bytes"].as_f64()).unwrap_or(0.0);
            println!("train {preset}: PyTorch {p:.0} tokens/s, peak RSS {:.0} MB; ours / PyTorch {:.2}x", peer_rss / 1e6, ours / p);
        }
        report.push(json!({"what": format!("train {preset}"), "tokens_per_s": ours, "peak_rss_bytes": rss,
            "peer_tokens_per_s": peer_rate, "peer_peak_rss_bytes": theirs.as_ref().map(|t| t["peak_rss_bytes"].clone()),
            "ratio": peer_rate.map(|p| ours / p)}));
    }
    let generation_batches: &[usize] = if args.no_generate { &[] } else { &[1, 8] };
    for &batch in generation_batches {
        let ours = pool.install(|| generation_tokens_per_s(batch, &args));
        println!("generate char-small batch {batch}: ours {ours:.0} tokens/s");
        let theirs = if args.no_peer {
            None
        } else {
            peer(&[s("generate"), s("--preset"), s("char-small"), s("--batch"), s(batch), s("--new"), s(args.new_tokens), s("--threads"), s(args.threads)])
        };
        let peer_rate = theirs.as_ref().and_then(|p| p["tokens_per_s"].as_f64());
        if let Some(p) = peer_rate {
            println!("generate char-small batch {batch}: PyTorch {p:.0} tokens/s; ours / PyTorch {:.2}x", ours / p);
        }
        report.push(json!({"what": format!("generate char-small batch {batch}"), "tokens_per_s": ours,
            "peer_tokens_per_s": peer_rate, "ratio": peer_rate.map(|p| ours / p)}));
    }
    println!("{}", json!({"threads": args.threads, "batch": args.batch, "results": report}));
}
