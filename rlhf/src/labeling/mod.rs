//! Collecting rankings: labelers behind one interface, and the loop that samples K answers per prompt
//! from the SFT model, has them ranked, and appends each ranking to the rankings file (resuming where an
//! interrupted run stopped).
//!
//! | file | what |
//! | --- | --- |
//! | `record.rs` | [`LabeledRanking`] (the rankings-file record, with optional ties and history), [`RankingsLog`] (append-safe, resumable) |
//! | `scripted.rs` | [`ScriptedWorldLabeler`]: the world's checker, with seeded noise; equal scores tie |
//! | `human.rs` | [`HumanLabeler`]: a terminal interface (order, ties, pairwise choices, skip), plain text when piped |
//! | `order_input.rs` | parsing `2 1=4 3` into a ranking with ties |
//! | `dataset.rs` | importing pairwise `{"prompt","chosen","rejected"}`, HH-RLHF, OASST and rankings files |
//! | `collect.rs` | [`collect_rankings`] and [`run_rank`]: sample, rank, append, resume |
pub mod collect;
pub mod dataset;
pub mod human;
pub mod order_input;
pub mod record;
pub mod scripted;

pub use collect::{collect_rankings, load_prompts, run_rank, CollectOptions, CollectReport, LabelerChoice, PromptSource, RankOptions};
pub use dataset::{import_file, DatasetFormat, Imported};
pub use human::HumanLabeler;
pub use order_input::parse_order;
pub use record::{load_labeled, LabeledRanking, RankingsLog};
pub use scripted::ScriptedWorldLabeler;

use crate::data::Message;
use crate::reward::Ranking;
use crate::run::RunError;

/// What a labeler is asked: one prompt and its K answers.
#[derive(Clone, Copy, Debug)]
pub struct RankRequest<'a> {
    /// The prompt text (the last user turn).
    pub prompt: &'a str,
    /// The earlier turns, for a multi-turn prompt.
    pub messages: Option<&'a [Message]>,
    /// The K answers.
    pub responses: &'a [String],
    /// 1-based position of this prompt in the session (for progress: `position/total`).
    pub position: usize,
    /// Prompts in the session.
    pub total: usize,
}

/// A labeler's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A ranking of the answers (tiers best first; answers in one tier are tied).
    Ranked(Ranking),
    /// No ranking for this prompt (it is not recorded, so a later run asks again).
    Skip,
    /// Stop the session here; everything ranked so far is kept.
    Quit,
}

/// Anyone who ranks answers: a script, a person at a terminal, a dataset.
pub trait Labeler {
    /// The name written in each record's `labeler` field.
    fn name(&self) -> String;
    /// Ranks the answers of one prompt.
    fn rank(&mut self, request: &RankRequest) -> Result<Verdict, RunError>;
}
