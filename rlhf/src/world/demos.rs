//! SFT demonstrations that are good but imperfect, the way human ones are: a stated fraction wrong, some
//! rambling, some curt. Each carries its ground-truth labels, so tests and figures can check the mix.
use super::rng::WorldRng;
use super::style::{render, Style};
use super::tasks::Task;

/// The mix of imperfections. Wrongness is drawn independently of style.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DemoConfig {
    /// Fraction of demonstrations whose answer is wrong (default 0.15).
    pub wrong_fraction: f64,
    /// Fraction worded with wordy preambles (default 0.15).
    pub rambling_fraction: f64,
    /// Fraction worded curtly, with no politeness (default 0.15).
    pub curt_fraction: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { wrong_fraction: 0.15, rambling_fraction: 0.15, curt_fraction: 0.15 }
    }
}

/// One demonstration: a prompt, the response a "human" wrote, and what is true of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Demo {
    /// The prompt text.
    pub prompt: String,
    /// The task behind the prompt.
    pub task: Task,
    /// The demonstrated response.
    pub response: String,
    /// Whether the response gives the right answer (ground truth, not the checker's opinion).
    pub correct: bool,
    /// How the response is worded.
    pub style: Style,
}

/// A response to `task` with the imperfections of `config`, drawn from `rng`.
pub fn demo_response(task: &Task, config: &DemoConfig, rng: &mut WorldRng) -> (String, bool, Style) {
    let correct = !rng.chance(config.wrong_fraction);
    let u = rng.unit();
    let style = if u < config.rambling_fraction {
        Style::Rambling
    } else if u < config.rambling_fraction + config.curt_fraction {
        Style::Curt
    } else {
        Style::Polite
    };
    let reply = if correct { task.reply() } else { task.wrong_reply(rng) };
    (render(&reply, style, rng), correct, style)
}
