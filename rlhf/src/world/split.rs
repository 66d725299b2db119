//! Which stage a prompt belongs to, decided by a hash of its text alone, so the same text always lands in
//! the same split whatever the seed, the order or the number of prompts drawn: SFT prompts and the held-out
//! prompts of the later stages can never share a text.
use super::rng::hash_str;

/// The stage a prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// Supervised fine-tuning demonstrations (55% of prompt texts).
    Sft,
    /// Reward-model rankings (15%).
    Reward,
    /// PPO rollouts (15%).
    Ppo,
    /// Evaluation (15%).
    Eval,
}

impl Split {
    /// Every split.
    pub const ALL: [Split; 4] = [Split::Sft, Split::Reward, Split::Ppo, Split::Eval];

    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Sft => "sft",
            Split::Reward => "reward",
            Split::Ppo => "ppo",
            Split::Eval => "eval",
        }
    }

    /// The split of a prompt text: its hash modulo 100 against the percentages above.
    ///
    /// ```
    /// use rlhf::world::split::Split;
    /// let s = Split::of("What is 47 plus 38?");
    /// assert_eq!(s, Split::of("What is 47 plus 38?"));
    /// ```
    pub fn of(prompt: &str) -> Split {
        match hash_str(prompt) % 100 {
            0..=54 => Split::Sft,
            55..=69 => Split::Reward,
            70..=84 => Split::Ppo,
            _ => Split::Eval,
        }
    }
}
