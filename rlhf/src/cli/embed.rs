//! `rlhf embed`: sentence embeddings from a BERT folder, the way sentence-transformers computes them
//! (mean of the last hidden states over the real tokens, then L2 normalisation).
//!
//! ```text
//! rlhf embed --checkpoint DIR FILE     # one text a line in, one JSON array of floats a line out
//! ```
//! DIR is a Hugging Face folder (`config.json`, `model.safetensors`, `vocab.txt` or `tokenizer.json`), such
//! as all-MiniLM-L6-v2. A FILE of `-` (or none) is standard input.
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use clap::Args;
use models::bert::SentenceEncoder;

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Arguments of `rlhf embed`.
#[derive(Args)]
pub struct EmbedArgs {
    /// Hugging Face BERT folder: config.json, model.safetensors, vocab.txt (or tokenizer.json).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Texts encoded together in one padded batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// One text a line; `-` or nothing for standard input.
    file: Option<PathBuf>,
}

/// Runs `rlhf embed`.
pub fn run(args: &EmbedArgs) -> CliResult {
    if args.batch_size == 0 {
        return Err("--batch-size must be at least 1".into());
    }
    let encoder = SentenceEncoder::from_pretrained(&args.checkpoint)?;
    let input: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin()),
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?),
    };
    let mut lines = Vec::new();
    for (n, line) in BufReader::new(input).lines().enumerate() {
        lines.push(line.map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for chunk in lines.chunks(args.batch_size) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for embedding in encoder.embed(&texts)? {
            writeln!(out, "{}", serde_json::to_string(&embedding)?)?;
        }
    }
    out.flush()?;
    Ok(())
}
