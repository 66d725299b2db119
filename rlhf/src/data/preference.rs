//! Preference data: a pair (chosen over rejected) and a K-wise ranking (best to worst) of answers to one
//! prompt, which gives all C(K,2) pairs; and pairwise JSONL `{"prompt", "chosen", "rejected"}`.
use super::conversation::Conversation;
use super::error::{jsonl_lines, read_to_string, DataError, LineErrors};
use serde::Deserialize;
use std::path::Path;

/// One answer preferred over another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferencePair {
    /// The conversation so far; its last turn is the user's.
    pub prompt: Conversation,
    /// The better answer.
    pub chosen: String,
    /// The worse answer.
    pub rejected: String,
}

/// K answers to one prompt, ranked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KwiseRanking {
    /// The conversation so far; its last turn is the user's.
    pub prompt: Conversation,
    /// The answers.
    pub responses: Vec<String>,
    /// Indices into `responses`, best first.
    pub ranking: Vec<usize>,
}

impl KwiseRanking {
    /// All C(K,2) pairs as (better, worse) indices into `responses`, in ranking order.
    ///
    /// ```
    /// use rlhf::data::{Conversation, KwiseRanking};
    /// let r = KwiseRanking {
    ///     prompt: Conversation::from_prompt("q"),
    ///     responses: vec!["a".into(), "b".into(), "c".into()],
    ///     ranking: vec![2, 0, 1],
    /// };
    /// assert_eq!(r.pairs(), vec![(2, 0), (2, 1), (0, 1)]);
    /// ```
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.ranking.len() * self.ranking.len().saturating_sub(1) / 2);
        for (i, &better) in self.ranking.iter().enumerate() {
            for &worse in &self.ranking[i + 1..] {
                out.push((better, worse));
            }
        }
        out
    }
}

#[derive(Deserialize)]
struct PairLine {
    prompt: String,
    chosen: String,
    rejected: String,
}

/// Loads pairwise preferences `{"prompt", "chosen", "rejected"}` (one user turn as the prompt); every bad
/// line is reported with its number.
pub fn load_pairs_jsonl(path: impl AsRef<Path>) -> Result<Vec<PreferencePair>, DataError> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    for (n, line) in jsonl_lines(&text) {
        match serde_json::from_str::<PairLine>(line) {
            Ok(p) if p.prompt.trim().is_empty() => errors.push(path, n, "empty \"prompt\""),
            Ok(p) => out.push(PreferencePair { prompt: Conversation::from_prompt(&p.prompt), chosen: p.chosen, rejected: p.rejected }),
            Err(e) => errors.push(path, n, format!("expected {{\"prompt\", \"chosen\", \"rejected\"}} strings: {e}")),
        }
    }
    errors.finish(out)
}
