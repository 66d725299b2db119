//! `rlhf fill-mask`: the most likely tokens for each `[MASK]` of a text, with their probabilities, from a
//! BERT masked-LM folder.
//!
//! ```text
//! rlhf fill-mask --checkpoint DIR [--top-k 5] [--json] "the capital of france is [MASK] ."
//! ```
//! DIR is a Hugging Face `BertForMaskedLM` / `BertForPreTraining` folder (`config.json`,
//! `model.safetensors` with `cls.predictions.*`, `vocab.txt`). Text output is one block per `[MASK]`;
//! `--json` prints one JSON object per `[MASK]` a line.
use std::io::Write;
use std::path::PathBuf;

use autograd::no_grad;
use clap::Args;
use engine::Tensor;
use models::bert::{load_wordpiece, BertForMaskedLM};

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Arguments of `rlhf fill-mask`.
#[derive(Args)]
pub struct FillMaskArgs {
    /// Hugging Face BERT masked-LM folder: config.json, model.safetensors, vocab.txt (or tokenizer.json).
    #[arg(long)]
    checkpoint: PathBuf,
    /// How many candidates to print for each [MASK].
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// One JSON object per [MASK] a line: {"position", "predictions": [{"token", "id", "probability"}]}.
    #[arg(long)]
    json: bool,
    /// The text, with one or more [MASK].
    text: String,
}

/// One candidate for a masked position.
#[derive(serde::Serialize)]
struct Prediction {
    token: String,
    id: u32,
    probability: f32,
}

/// Runs `rlhf fill-mask`.
pub fn run(args: &FillMaskArgs) -> CliResult {
    let model = BertForMaskedLM::from_pretrained(&args.checkpoint)?;
    let tokenizer = load_wordpiece(&args.checkpoint)?;
    let mask_id = tokenizer.token_id("[MASK]").ok_or("the vocabulary has no [MASK] token")?;
    let ids = tokenizer.encode(&args.text).ids;
    let positions: Vec<usize> = ids.iter().enumerate().filter(|(_, &id)| id == mask_id).map(|(i, _)| i).collect();
    if positions.is_empty() {
        return Err("the text has no [MASK]".into());
    }
    let vocab = model.bert.config.vocab_size;
    if args.top_k == 0 || args.top_k > vocab {
        return Err(format!("--top-k must be between 1 and the vocabulary size {vocab}").into());
    }
    let input = Tensor::from_vec(ids.iter().map(|&id| id as i64).collect::<Vec<_>>(), &[1, ids.len()])?;
    let probabilities = {
        let _guard = no_grad();
        model.forward(&input, None, None)?.into_tensor().softmax(-1)?
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (n, &pos) in positions.iter().enumerate() {
        let row = probabilities.select(0, 0)?.select(0, pos)?;
        let (values, indices) = row.topk(args.top_k, 0)?;
        let predictions: Vec<Prediction> = values
            .to_vec::<f32>()?
            .into_iter()
            .zip(indices.to_vec::<i64>()?)
            .map(|(probability, id)| Prediction {
                token: tokenizer.id_to_token(id as u32).unwrap_or("[?]").to_string(),
                id: id as u32,
                probability,
            })
            .collect();
        if args.json {
            let line = serde_json::json!({ "position": pos, "predictions": predictions });
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "[MASK] {} (token {pos}):", n + 1)?;
            for p in &predictions {
                writeln!(out, "  {:<16} {:.4}", p.token, p.probability)?;
            }
        }
    }
    Ok(())
}
