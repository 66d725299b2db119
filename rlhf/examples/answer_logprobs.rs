//! How likely a chat model finds each answer: `{"prompt", "response"}` JSONL on stdin, one
//! `{"mean", "min", "sum", "n"}` line per input on stdout (log-probabilities of the answer's tokens and its
//! `<|end|>`, rendered with the chat template as the reward model and PPO see them). Beside
//! `rlhf reward score` and the `grade_answers` example it shows what the SFT model knows that its reward
//! model does not (the reason for `rlhf reward train --likelihood-feature`):
//!
//! ```text
//! cargo run --release -p rlhf --example answer_logprobs -- runs/pipeline/sft/model < answers.jsonl
//! ```
use std::io::{BufRead, Write};

use models::tokenizer::Tokenizer;
use rlhf::data::{ChatTokenizer, Conversation};
use rlhf::rl::rollout::{score_logprobs, PaddedBatch, Rollout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: answer_logprobs MODEL_DIR < answers.jsonl")?);
    let model = models::gpt::load_hf_dir(&dir)?;
    let inner = models::gpt::load_tokenizer_from_dir(&dir)?.ok_or_else(|| format!("{}: no tokenizer files", dir.display()))?;
    let chat = ChatTokenizer::new(inner);
    let block = model.config.block_size;
    let mut rows = Vec::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(&line?).map_err(|e| format!("stdin:{}: {e}", i + 1))?;
        let (Some(prompt), Some(response)) = (v["prompt"].as_str(), v["response"].as_str()) else {
            return Err(format!("stdin:{}: expected {{\"prompt\": ..., \"response\": ...}}", i + 1).into());
        };
        let prompt_ids = chat.render_prompt(&Conversation::from_prompt(prompt), block - 1).map_err(|e| format!("stdin:{}: {e}", i + 1))?;
        let mut answer_ids = chat.inner().encode(response).map_err(|e| format!("stdin:{}: {e}", i + 1))?;
        answer_ids.push(chat.end_id());
        answer_ids.truncate(block - prompt_ids.len()); // what does not fit the context is not scored
        rows.push(Rollout { prompt: prompt.into(), prompt_ids, answer_ids, text: response.into(), finished: true });
    }
    let mut out = std::io::stdout().lock();
    for chunk in rows.chunks(64) {
        let refs: Vec<&Rollout> = chunk.iter().collect();
        let batch = PaddedBatch::of(&refs, chat.pad_id())?;
        let (logprobs, _) = score_logprobs(&model, &batch)?;
        for v in batch.answer_values(&logprobs)? {
            let sum: f32 = v.iter().sum();
            let min = v.iter().copied().fold(f32::INFINITY, f32::min);
            writeln!(out, "{}", serde_json::json!({"mean": sum / v.len() as f32, "min": min, "sum": sum, "n": v.len()}))?;
        }
    }
    Ok(())
}
