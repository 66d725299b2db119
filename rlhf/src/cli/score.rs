//! `rlhf score`: the log-probability of each token of a text under a GPT, as JSON; with `--grad-out` also
//! the gradient of the mean next-token loss with respect to every parameter, under the checkpoint's own
//! tensor names (HF's), so another framework can be held against our autograd on the same weights.
//!
//! ```text
//! rlhf score --model runs/shakespeare --text "To be, or not to be"
//! rlhf score --model GPT2_DIR --file prompt.txt --grad-out grads.safetensors
//! ```
//! Output: `{"tokens": [{"id", "text", "logprob"}...], "num_scored", "mean_logprob", "mean_loss"}`; the first
//! token has no context and so no log-probability (`null`). Texts longer than the block size are an error.
use std::path::PathBuf;

use autograd::nn::Module;
use autograd::no_grad;
use clap::Args;
use engine::io::safetensors;
use engine::Tensor;
use models::tokenizer::Tokenizer;
use serde_json::json;

use super::generate::load_model_and_tokenizer;
use rlhf::run::RunError;

/// Options of `rlhf score`.
#[derive(Args, Clone, Debug)]
pub struct ScoreArgs {
    /// A GPT-2 checkpoint folder or a run folder of `rlhf pretrain`.
    #[arg(long)]
    pub model: PathBuf,
    /// Tokenizer spec overriding the folder's.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The text to score.
    #[arg(long, conflicts_with = "file")]
    pub text: Option<String>,
    /// A file holding the text to score.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Also write d(mean next-token loss)/d(parameter) for every parameter to this safetensors file.
    #[arg(long)]
    pub grad_out: Option<PathBuf>,
}

/// Runs `rlhf score`.
pub fn run(args: &ScoreArgs) -> Result<(), RunError> {
    let text = match (&args.text, &args.file) {
        (Some(t), None) => t.clone(),
        (None, Some(f)) => models::tokenizer::read_text_file(f).map_err(|e| e.to_string())?,
        _ => return Err("give the text with --text or --file".into()),
    };
    let (model, tok) = load_model_and_tokenizer(&args.model, args.tokenizer.as_deref())?;
    let ids = tok.encode_for_model(&text, true).map_err(|e| e.to_string())?;
    if ids.len() < 2 {
        return Err(format!("the text is {} token(s); scoring needs at least 2", ids.len()).into());
    }
    if ids.len() > model.config.block_size {
        return Err(format!("the text is {} tokens; the model's block size is {}", ids.len(), model.config.block_size).into());
    }
    let t = ids.len();
    let input = Tensor::from_vec(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[1, t])?;
    // The library's per-token path (the one PPO's reference model uses), without recording.
    let logprobs = {
        let _guard = no_grad();
        model.token_logprobs(&input)?.tensor().to_vec::<f32>()?
    };
    let mut tokens = Vec::with_capacity(t);
    let mut sum = 0.0f64;
    for (i, &id) in ids.iter().enumerate() {
        let logprob = if i == 0 { None } else { Some(logprobs[i - 1]) };
        sum += logprob.unwrap_or(0.0) as f64;
        let piece = tok.decode(&[id]).unwrap_or_default();
        tokens.push(json!({ "id": id, "text": piece, "logprob": logprob }));
    }
    if let Some(path) = &args.grad_out {
        // d(mean next-token cross-entropy)/d(parameter), through the fused loss.
        let mut targets: Vec<i64> = ids[1..].iter().map(|&i| i as i64).collect();
        targets.push(-100);
        let targets = Tensor::from_vec(targets, &[1, t])?;
        let loss = model.forward(&input, Some(&targets))?.loss.expect("targets were given");
        loss.backward()?;
        let grads: Vec<(String, Tensor)> = model
            .named_parameters()
            .into_iter()
            .map(|(name, p)| {
                let g = p.grad().map(Ok).unwrap_or_else(|| Tensor::zeros(&p.shape(), engine::DType::F32))?;
                Ok((name, g))
            })
            .collect::<Result<_, engine::Error>>()?;
        let refs: Vec<(&str, &Tensor)> = grads.iter().map(|(n, g)| (n.as_str(), g)).collect();
        safetensors::save(path, &refs, None)?;
    }
    let scored = (t - 1) as f64;
    let report = json!({
        "tokens": tokens,
        "num_scored": t - 1,
        "mean_logprob": sum / scored,
        "mean_loss": -sum / scored,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
