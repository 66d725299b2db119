//! The built-in instruction world: a deterministic, seeded generator compiled into the program that makes
//! every stage's default data, and the checker that grades answers to it.
//!
//! ```
//! use rlhf::world::{checker, DemoConfig, Split, World};
//! let world = World::new(42);
//! let prompts = world.prompts(Split::Eval, 14);
//! assert_eq!(prompts.len(), 14);
//! for p in &prompts {
//!     let best = checker::grade(&p.task, &checker::canonical_answer(&p.task));
//!     assert!(best.correct && best.polite && best.concise);
//! }
//! let demos = world.sft_demos(100, &DemoConfig::default());
//! assert!(demos.iter().all(|d| Split::of(&d.prompt) == Split::Sft));
//! let corpus = world.pretraining_corpus(2_000);
//! assert!(corpus.contains("The capital of France is Paris.") || corpus.contains("Paris is the capital of France."));
//! assert!(World::is_world_text(&corpus));
//! ```
//!
//! | file | what |
//! | --- | --- |
//! | `rng.rs` | seeded draws on [`engine::Rng`], content hashes |
//! | `tables.rs` | the fixed facts and words |
//! | `template.rs` | prompt templates that fill and read back |
//! | `parse.rs` | finding integers, words and spelled letters in free text |
//! | `tasks/` | the seven task families, one file each |
//! | `style.rs` | polite, curt and rambling wordings; politeness markers |
//! | `split.rs` | SFT / reward / PPO / eval split by a hash of the prompt text |
//! | `demos.rs` | imperfect SFT demonstrations with their labels |
//! | `corpus.rs` | the pretraining corpus |
//! | `checker.rs` | grading any answer: correct, concise, polite, score |
//! | `labeler.rs` | ranking answers by score, with seeded noise |
pub mod checker;
pub mod corpus;
pub mod demos;
pub mod labeler;
pub mod parse;
pub mod rng;
pub mod split;
pub mod style;
pub mod tables;
pub mod tasks;
pub mod template;

pub use checker::{canonical_answer, grade, grade_prompt, summarize, Grade, GradeSummary};
pub use demos::{Demo, DemoConfig};
pub use labeler::{pairwise_agreement, rank, ScriptedLabeler};
pub use split::Split;
pub use style::Style;
pub use tasks::{Family, Task};

use rng::WorldRng;
use std::collections::HashSet;

/// Every character the world writes: printable ASCII and the newline (96 characters). A character-level
/// vocabulary built from this string covers all world text.
pub fn charset() -> String {
    let mut s: String = (b' '..=b'~').map(|b| b as char).collect();
    s.push('\n');
    s
}

/// A prompt of the world and the task behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// The text shown to the model.
    pub text: String,
    /// What is asked.
    pub task: Task,
}

/// The world for one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct World {
    /// Everything the world generates follows from this.
    pub seed: u64,
}

/// A family is given up after this many draws in a row that found no new prompt of the wanted split.
const EXHAUSTED_AFTER: usize = 2_000;

impl World {
    /// The world of `seed`.
    pub fn new(seed: u64) -> World {
        World { seed }
    }

    /// Up to `n` distinct prompts of `split`, the families taken in turn. Each split is its own random
    /// stream, so asking for more reward prompts does not change the SFT prompts. Families whose prompts of
    /// this split run out (facts have about 150 distinct texts in all) are skipped; the numeric families never
    /// run out, so fewer than `n` come back only for very large `n` with no numeric family left (never in
    /// practice).
    pub fn prompts(&self, split: Split, n: usize) -> Vec<Prompt> {
        let mut rng = WorldRng::derive(self.seed, split.name());
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(n);
        let mut misses = [0usize; 7];
        let mut turn = 0usize;
        while out.len() < n && misses.iter().any(|&m| m < EXHAUSTED_AFTER) {
            let k = turn % Family::ALL.len();
            turn += 1;
            if misses[k] >= EXHAUSTED_AFTER {
                continue;
            }
            loop {
                let task = Task::generate(Family::ALL[k], &mut rng);
                let text = task.phrase(&mut rng);
                if Split::of(&text) == split && seen.insert(text.clone()) {
                    misses[k] = 0;
                    out.push(Prompt { text, task });
                    break;
                }
                misses[k] += 1;
                if misses[k] >= EXHAUSTED_AFTER {
                    break;
                }
            }
        }
        out
    }

    /// `n` SFT demonstrations on the SFT split's prompts (distinct prompts), imperfect as `config` says.
    ///
    /// ```
    /// use rlhf::world::{World, DemoConfig};
    /// let demos = World::new(1).sft_demos(3, &DemoConfig::default());
    /// for d in &demos {
    ///     println!("{} -> {} (correct: {}, {})", d.prompt, d.response, d.correct, d.style.name());
    /// }
    /// assert_eq!(demos, World::new(1).sft_demos(3, &DemoConfig::default()));
    /// ```
    pub fn sft_demos(&self, n: usize, config: &DemoConfig) -> Vec<Demo> {
        let mut rng = WorldRng::derive(self.seed, "sft-demos");
        self.prompts(Split::Sft, n)
            .into_iter()
            .map(|p| {
                let (response, correct, style) = demos::demo_response(&p.task, config, &mut rng);
                Demo { prompt: p.text, task: p.task, response, correct, style }
            })
            .collect()
    }

    /// About `chars` characters of pretraining text written from the world's facts.
    pub fn pretraining_corpus(&self, chars: usize) -> String {
        corpus::pretraining_corpus(self.seed, chars)
    }

    /// Whether every character of `text` is in [`charset`].
    pub fn is_world_text(text: &str) -> bool {
        text.bytes().all(|b| b == b'\n' || (b' '..=b'~').contains(&b))
    }
}
