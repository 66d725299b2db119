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

/// [`World::distinct_prompts`] gives up on a family after this many draws in a row found no new text.
const EXHAUSTED_AFTER: usize = 2_000;

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

impl World {
    /// The world of `seed`.
    pub fn new(seed: u64) -> World {
        World { seed }
    }

    /// `n` prompts of `split`, the families taken in turn, each drawn from its family's task distribution
    /// (draws whose text belongs to another split are skipped). Each split is its own random stream, so
    /// asking for more reward prompts does not change the SFT prompts.
    ///
    /// A text can come back more than once (facts have about 150 texts in all, of which the Eval split
    /// holds about 22). Drawing only distinct texts would bend the task mix as `n` grows: a family's small
    /// sub-spaces run out first, so 3,000 distinct reward prompts asked mostly about letters absent from
    /// the word (the answer 0, a third of the counting tasks), and a reward model learned "0 is right".
    pub fn prompts(&self, split: Split, n: usize) -> Vec<Prompt> {
        let mut rng = WorldRng::derive(self.seed, split.name());
        let mut out = Vec::with_capacity(n);
        for turn in 0..n {
            let family = Family::ALL[turn % Family::ALL.len()];
            loop {
                let task = Task::generate(family, &mut rng);
                let text = task.phrase(&mut rng);
                if Split::of(&text) == split {
                    out.push(Prompt { text, task });
                    break;
                }
            }
        }
        out
    }

    /// Up to `n` **distinct** prompts of `split`, the families taken in turn; a family whose texts of this
    /// split run out is skipped (facts have about 22 in the Eval split). What an evaluation wants: no
    /// prompt counted twice. For a few hundred prompts the task mix stays close to [`World::prompts`]'s;
    /// for thousands it bends (see there), so training data comes from [`World::prompts`].
    pub fn distinct_prompts(&self, split: Split, n: usize) -> Vec<Prompt> {
        let mut rng = WorldRng::derive(self.seed, split.name());
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(n);
        let mut misses = [0usize; Family::ALL.len()];
        let mut turn = 0usize;
        while out.len() < n && misses.iter().any(|&m| m < EXHAUSTED_AFTER) {
            let k = turn % Family::ALL.len();
            turn += 1;
            while misses[k] < EXHAUSTED_AFTER {
                let task = Task::generate(Family::ALL[k], &mut rng);
                let text = task.phrase(&mut rng);
                if Split::of(&text) == split && seen.insert(text.clone()) {
                    misses[k] = 0;
                    out.push(Prompt { text, task });
                    break;
                }
                misses[k] += 1;
            }
        }
        out
    }

    /// `n` SFT demonstrations on the SFT split's prompts, imperfect as `config` says.
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
