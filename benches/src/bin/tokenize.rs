//! Encoding throughput of our GPT-2 BPE beside tiktoken-rs, one thread each, same text, same run.
//!
//! `cargo run --release -p benches --bin tokenize -- [--file PATH] [--gpt2-dir DIR] [--reps N]`
//!
//! Defaults: tiny Shakespeare and GPT-2's files from `../shared/data` relative to the workspace. Checks
//! that both give identical ids, then prints MB/s of each and the ratio; the last line is JSON.
use clap::Parser;
use models::tokenizer::{read_text_file, BpeTokenizer};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Encode a text with our GPT-2 BPE and with tiktoken-rs, one thread, and compare MB/s")]
struct Args {
    /// Text to encode (default: ../shared/data/tinyshakespeare.txt from the workspace root).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Directory with GPT-2's encoder.json + vocab.bpe (default: ../shared/data/gpt2_bpe).
    #[arg(long)]
    gpt2_dir: Option<PathBuf>,
    /// Timed repetitions (the median is reported), after one warm-up.
    #[arg(long, default_value_t = 7)]
    reps: usize,
}

fn shared(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative)
}

fn run() -> Result<(), String> {
    let args = Args::parse();
    let file = args.file.unwrap_or_else(|| shared("tinyshakespeare.txt"));
    let gpt2_dir = args.gpt2_dir.unwrap_or_else(|| shared("gpt2_bpe"));
    if !file.is_file() {
        return Err(format!("{}: no such file (pass --file PATH)", file.display()));
    }
    let text = read_text_file(&file).map_err(|e| e.to_string())?;
    let ours = BpeTokenizer::from_gpt2_dir(&gpt2_dir).map_err(|e| format!("{e} (pass --gpt2-dir DIR)"))?;
    let peer = tiktoken_rs::r50k_base().map_err(|e| format!("tiktoken-rs r50k_base: {e}"))?;

    let our_ids = ours.encode_ordinary(&text);
    let peer_ids = peer.encode_ordinary(&text);
    if our_ids != peer_ids {
        let at = our_ids
            .iter()
            .zip(&peer_ids)
            .position(|(a, b)| a != b)
            .unwrap_or(our_ids.len().min(peer_ids.len()));
        return Err(format!(
            "ids differ from tiktoken-rs at token {at} ({} vs {} tokens)",
            our_ids.len(),
            peer_ids.len()
        ));
    }
    let mb = text.len() as f64 / 1e6;
    println!(
        "{}: {:.3} MB, {} tokens, ids identical to tiktoken-rs",
        file.display(),
        mb,
        our_ids.len()
    );

    let ours_s = benches::median_seconds(1, args.reps, || {
        std::hint::black_box(ours.encode_ordinary(std::hint::black_box(&text)));
    });
    let peer_s = benches::median_seconds(1, args.reps, || {
        std::hint::black_box(peer.encode_ordinary(std::hint::black_box(&text)));
    });
    let (ours_mb_s, peer_mb_s) = (mb / ours_s, mb / peer_s);
    // The same text one line per call (short texts use our thread word cache, emptied before each rep).
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let ours_lines_s = benches::median_seconds(1, args.reps, || {
        // Cold each rep: our thread word cache must not carry words over from the previous rep.
        BpeTokenizer::clear_thread_word_cache();
        for line in &lines {
            std::hint::black_box(ours.encode_ordinary(std::hint::black_box(line)));
        }
    });
    let peer_lines_s = benches::median_seconds(1, args.reps, || {
        for line in &lines {
            std::hint::black_box(peer.encode_ordinary(std::hint::black_box(line)));
        }
    });
    println!("whole file in one call:");
    println!(
        "ours        {:8.2} MB/s  ({:.4} s median of {})",
        ours_mb_s, ours_s, args.reps
    );
    println!(
        "tiktoken-rs {:8.2} MB/s  ({:.4} s median of {})",
        peer_mb_s, peer_s, args.reps
    );
    println!("ratio ours/tiktoken-rs: {:.2}x", ours_mb_s / peer_mb_s);
    println!(
        "one call per line ({} calls): ours {:.2} MB/s, tiktoken-rs {:.2} MB/s, ratio {:.2}x",
        lines.len(),
        mb / ours_lines_s,
        mb / peer_lines_s,
        peer_lines_s / ours_lines_s
    );
    println!(
        "{}",
        serde_json::json!({"ours_mb_s": ours_mb_s, "peer": "tiktoken-rs", "peer_mb_s": peer_mb_s, "ratio": ours_mb_s / peer_mb_s})
    );
    Ok(())
}

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
