//! `bert`: encoder forward throughput (sentences/s) of all-MiniLM-L6-v2 — token ids to L2-normalised
//! sentence embeddings — ours against PyTorch (`benches/python/bert_torch.py`) in the same run, with the same
//! batch, length and thread count. Prints a JSON summary as the last line. On a shared machine,
//! `--rounds 3` alternates the two sides and also reports the best batch of each (`best_ratio`).
//!
//! ```sh
//! MINILM_DIR=/tmp/minilm/model cargo run --release -p benches --bin bert -- --batch 32 --seq 128 --threads 2
//! ```
//! Without the weights (`--checkpoint`, else `MINILM_DIR`, else `/tmp/minilm/model`) both sides run a
//! randomly initialised model of the same shape: the throughput does not depend on the weights.
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use engine::rng::Rng;
use engine::Tensor;
use models::bert::{sentence_embeddings, BertConfig, BertModel};

/// all-MiniLM-L6-v2's architecture (its config.json), for the random stand-in.
const MINILM_CONFIG: &str = r#"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
  "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu", "max_position_embeddings": 512,
  "type_vocab_size": 2, "layer_norm_eps": 1e-12}"#;

#[derive(Parser, Debug)]
#[command(about = "BERT encoder throughput: ours vs PyTorch, sentences/s")]
struct Args {
    /// Hugging Face BERT folder (default: $MINILM_DIR, else /tmp/minilm/model; random weights when absent).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Tokens per sentence (no padding).
    #[arg(long, default_value_t = 128)]
    seq: usize,
    /// Threads for both (ours: a rayon pool of this size; PyTorch: torch.set_num_threads).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Untimed forward passes first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed forward passes (median reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Skip the PyTorch peer.
    #[arg(long)]
    no_peer: bool,
    /// Measure ours and the peer alternately this many times: on a shared machine the load changes
    /// between the two measurements, and the best round of each side is the fairer comparison.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

fn checkpoint(args: &Args) -> Option<PathBuf> {
    let dir = args
        .checkpoint
        .clone()
        .or_else(|| std::env::var_os("MINILM_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/tmp/minilm/model"));
    dir.join("model.safetensors").is_file().then_some(dir)
}

/// Ids `[B, T]`: `[CLS]`, ordinary WordPiece ids, `[SEP]`, from a fixed seed.
fn input_ids(batch: usize, seq: usize, vocab: usize) -> Tensor {
    let mut rng = Rng::new(42);
    let ids: Vec<i64> = (0..batch * seq)
        .map(|i| match i % seq {
            0 => 101,
            j if j + 1 == seq => 102,
            _ => 1000 + rng.gen_range(vocab.saturating_sub(1000).max(1)).unwrap() as i64,
        })
        .collect();
    Tensor::from_vec(ids, &[batch, seq]).expect("ids")
}

fn run_peer(args: &Args, dir: Option<&Path>) -> Option<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/bert_torch.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args(["--batch", &args.batch.to_string(), "--seq", &args.seq.to_string()])
        .args(["--threads", &args.threads.to_string(), "--warmup", &args.warmup.to_string()])
        .args(["--reps", &args.reps.to_string()]);
    if let Some(dir) = dir {
        cmd.arg("--checkpoint").arg(dir);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            print!("{stdout}");
            stdout.lines().last().and_then(|l| serde_json::from_str(l).ok())
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

fn main() {
    let args = Args::parse();
    // The forward's buffers (tens of MiB) are freed and reallocated every batch: keep them in the heap, as
    // the `rlhf` binary does, instead of paying fresh page faults each time.
    engine::allocator::retain_freed_memory();
    let dir = checkpoint(&args);
    let model = match &dir {
        Some(d) => BertModel::from_pretrained(d).expect("load the checkpoint"),
        None => {
            let config = BertConfig::from_json_str(MINILM_CONFIG).expect("config");
            BertModel::new(&config, true, &mut Rng::new(0)).expect("random model")
        }
    };
    let weights = dir.as_ref().map_or("random weights, all-MiniLM-L6-v2 shape".to_string(), |d| d.display().to_string());
    let ids = input_ids(args.batch, args.seq, model.config.vocab_size);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.max(1)).build().expect("rayon pool");
    // Per round: (ours median s, ours best s, peer median s, peer best s).
    let mut rounds: Vec<(f64, f64, Option<f64>, Option<f64>)> = Vec::new();
    for round in 0..args.rounds.max(1) {
        let times = pool.install(|| {
            sorted_times(args.warmup, args.reps, || {
                let emb = sentence_embeddings(&model, &ids, None).expect("forward");
                assert_eq!(emb.shape(), [args.batch, model.config.hidden_size]);
            })
        });
        let (median, best) = (times[times.len() / 2], times[0]);
        println!(
            "ours (round {}): {:.1} sentences/s ({:.1} ms per batch of {} x {} tokens, {} threads; {weights})",
            round + 1,
            args.batch as f64 / median,
            median * 1e3,
            args.batch,
            args.seq,
            args.threads
        );
        let peer = if args.no_peer { None } else { run_peer(&args, dir.as_deref()) };
        let peer_median = peer.as_ref().and_then(|p| p["median_s"].as_f64());
        let peer_best = peer.as_ref().and_then(|p| p["best_s"].as_f64());
        if let Some(p) = peer_median {
            println!("ours / PyTorch (round {}, medians): {:.2}x", round + 1, p / median);
        }
        rounds.push((median, best, peer_median, peer_best));
    }
    let rate = |s: f64| args.batch as f64 / s;
    let min = |xs: Vec<f64>| xs.into_iter().fold(f64::INFINITY, f64::min);
    let ours_best = min(rounds.iter().map(|r| r.1).collect());
    let (ours_median, peer_median) = (rounds[0].0, rounds[0].2);
    let peer_best = rounds.iter().map(|r| r.3).collect::<Option<Vec<f64>>>().map(min);
    let ratio = peer_median.map(|p| p / ours_median);
    let best_ratio = peer_best.map(|p| p / ours_best);
    if let Some(r) = best_ratio {
        println!("ours / PyTorch, best batch of each side over {} round(s): {r:.2}x", rounds.len());
    }
    println!(
        "{}",
        serde_json::json!({
            "model": weights, "batch": args.batch, "seq": args.seq, "threads": args.threads,
            "sentences_per_s": rate(ours_median), "peer": "pytorch", "peer_sentences_per_s": peer_median.map(rate),
            "ratio": ratio, "rounds": rounds.len(), "best_sentences_per_s": rate(ours_best),
            "peer_best_sentences_per_s": peer_best.map(rate), "best_ratio": best_ratio,
        })
    );
}

/// Runs `f` `warmup` times untimed, then `reps` timed times: the seconds of each, fastest first.
fn sorted_times(warmup: usize, reps: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times
}
