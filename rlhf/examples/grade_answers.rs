//! Grades answers to world prompts with the world's checker: `{"prompt", "response"}` JSONL on stdin, one
//! `{"correct", "polite", "concise", "score"}` line per input line on stdout. Handy beside
//! `rlhf reward score` to see what a reward model gets right:
//!
//! ```text
//! cargo run --release -p rlhf --example grade_answers < answers.jsonl > grades.jsonl
//! ```
use std::io::{BufRead, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| format!("stdin:{}: {e}", i + 1))?;
        let (Some(prompt), Some(response)) = (v["prompt"].as_str(), v["response"].as_str()) else {
            return Err(format!("stdin:{}: expected {{\"prompt\": ..., \"response\": ...}}", i + 1).into());
        };
        let g = rlhf::world::checker::grade_prompt(prompt, response)
            .ok_or_else(|| format!("stdin:{}: {prompt:?} is not a prompt of the built-in world", i + 1))?;
        writeln!(out, "{}", serde_json::json!({"correct": g.correct, "polite": g.polite, "concise": g.concise, "score": g.score}))?;
    }
    Ok(())
}
