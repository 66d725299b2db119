//! Evaluating a chat model on the built-in world: answer held-out prompts (greedy by default) and grade
//! every answer with the world's checker. SFT, policy gradient and PPO report their before/after numbers
//! with it, and the pipeline's closing note quotes its per-prompt answers.
//!
//! Prompts are rendered whole (a prompt that leaves no room to answer in the model's context, or that the
//! model's tokenizer cannot encode, is counted in [`WorldEval::skipped`] and not graded), sorted by length into batches so that one long prompt does not
//! shorten the room of many short ones (a batch's answers get at most `block - longest prompt` tokens),
//! then answered by [`crate::sample::answer_ids`].
use engine::{Error, Result};
use models::gpt::Gpt;
use serde_json::{json, Value};

use crate::data::{ChatTokenizer, Conversation};
use crate::sample::{answer_ids, SampleOptions};
use crate::world::checker::{grade, summarize, Grade, GradeSummary};
use crate::world::tasks::{Family, Task};
use crate::world::{Prompt, Split, World};

/// Sampling options for evaluation: greedy, answers of up to 48 tokens, 32 prompts a batch.
///
/// ```
/// assert_eq!(rlhf::evaluate::eval_options().temperature, 0.0);
/// ```
pub fn eval_options() -> SampleOptions {
    SampleOptions { temperature: 0.0, ..SampleOptions::default() }
}

/// `n` distinct held-out prompts of the world of `seed` ([`Split::Eval`]: never in SFT, reward or PPO data).
pub fn eval_prompts(seed: u64, n: usize) -> Vec<Prompt> {
    World::new(seed).distinct_prompts(Split::Eval, n)
}

/// One graded answer.
#[derive(Clone, Debug, PartialEq)]
pub struct GradedAnswer {
    /// The prompt text.
    pub prompt: String,
    /// The answer text (without `<|end|>`).
    pub answer: String,
    /// Whether the model ended its turn (false: cut off by the length limit).
    pub finished: bool,
    /// The checker's verdict.
    pub grade: Grade,
}

impl GradedAnswer {
    /// As a JSON object (one line of an answers file).
    pub fn to_json(&self) -> Value {
        json!({
            "prompt": self.prompt,
            "answer": self.answer,
            "finished": self.finished,
            "correct": self.grade.correct,
            "polite": self.grade.polite,
            "concise": self.grade.concise,
            "score": self.grade.score,
        })
    }
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldEval {
    /// Fractions correct / polite / concise and the mean preference score over the graded answers.
    pub summary: GradeSummary,
    /// Every graded answer, in the order of the prompts given.
    pub answers: Vec<GradedAnswer>,
    /// Prompts not graded because they leave no room for an answer in the model's context.
    pub skipped: usize,
    /// Prompts not graded because the tokenizer cannot encode them (a character vocabulary without digits).
    pub unencodable: usize,
}

impl WorldEval {
    /// The standard error of [`GradeSummary::correct`] as a binomial proportion over the answers (0 for
    /// none). Answers to the same prompt are not independent, so this is a lower bound.
    pub fn correct_std_error(&self) -> f64 {
        let (p, n) = (self.summary.correct, self.summary.count);
        if n == 0 {
            return 0.0;
        }
        (p * (1.0 - p) / n as f64).sqrt()
    }

    /// Fraction of graded answers that ended with `<|end|>`.
    pub fn finished_fraction(&self) -> f64 {
        if self.answers.is_empty() {
            return 0.0;
        }
        self.answers.iter().filter(|a| a.finished).count() as f64 / self.answers.len() as f64
    }

    /// The numbers as a JSON object (for `summary.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "prompts": self.summary.count,
            "skipped_too_long": self.skipped,
            "skipped_unencodable": self.unencodable,
            "correct": self.summary.correct,
            "polite": self.summary.polite,
            "concise": self.summary.concise,
            "mean_score": self.summary.mean_score,
            "finished": self.finished_fraction(),
        })
    }

    /// One line for a person: `correct 41.0%, polite 88.0%, concise 80.5%, score 2.06 (200 prompts)`.
    pub fn describe(&self) -> String {
        let s = &self.summary;
        let mut skipped = String::new();
        if self.skipped > 0 {
            skipped += &format!(", {} skipped: too long for the context", self.skipped);
        }
        if self.unencodable > 0 {
            skipped += &format!(", {} skipped: characters the tokenizer lacks", self.unencodable);
        }
        format!(
            "correct {:.1}%, polite {:.1}%, concise {:.1}%, score {:.2} ({} prompts{skipped})",
            100.0 * s.correct,
            100.0 * s.polite,
            100.0 * s.concise,
            s.mean_score,
            s.count
        )
    }
}

/// Answers `prompts` with `model` and grades each answer with the world's checker.
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{Gpt, GptConfig};
/// use rlhf::data::ChatTokenizer;
/// use rlhf::evaluate::{eval_options, eval_prompts, evaluate_world};
/// let tok = ChatTokenizer::for_world();
/// let mut config = GptConfig::preset("char-tiny")?;
/// (config.n_layer, config.block_size, config.vocab_size) = (1, 128, tok.vocab_size());
/// let model = Gpt::new(config, &mut Rng::new(0))?;
/// let prompts = eval_prompts(1, 8);
/// let options = rlhf::sample::SampleOptions { max_new_tokens: 8, ..eval_options() };
/// let eval = evaluate_world(&model, &tok, &prompts, &options)?;
/// assert_eq!(eval.answers.len(), 8);
/// assert_eq!(eval.summary.count, 8);
/// assert_eq!(eval.answers[3].prompt, prompts[3].text); // in the order given
/// assert!(eval.summary.correct < 0.5); // an untrained model
/// # Ok::<(), engine::Error>(())
/// ```
pub fn evaluate_world(model: &Gpt, tok: &ChatTokenizer, prompts: &[Prompt], options: &SampleOptions) -> Result<WorldEval> {
    let block = model.config.block_size;
    // (index into prompts, rendered ids) of the prompts that leave room for at least one answer token.
    let mut rendered: Vec<(usize, Vec<u32>)> = Vec::with_capacity(prompts.len());
    let (mut skipped, mut unencodable) = (0, 0);
    for (i, p) in prompts.iter().enumerate() {
        match tok.render_prompt(&Conversation::from_prompt(&p.text), block - 1) {
            Ok(ids) => rendered.push((i, ids)),
            Err(crate::data::ChatError::TooLong { .. }) => skipped += 1,
            Err(crate::data::ChatError::Tokenizer(_)) => unencodable += 1,
            Err(e) => return Err(Error::op("evaluate_world", format!("prompt {i} {:?}: {e}", p.text))),
        }
    }
    rendered.sort_by_key(|(_, ids)| ids.len()); // stable: equal lengths keep the given order
    let ids: Vec<Vec<u32>> = rendered.iter().map(|(_, ids)| ids.clone()).collect();
    let answers = if ids.is_empty() { Vec::new() } else { answer_ids(model, tok, &ids, options)? };
    let mut graded: Vec<(usize, GradedAnswer)> = rendered
        .iter()
        .zip(answers)
        .map(|((i, _), a)| {
            let p = &prompts[*i];
            (*i, GradedAnswer { prompt: p.text.clone(), grade: grade(&p.task, &a.text), answer: a.text, finished: a.finished })
        })
        .collect();
    graded.sort_by_key(|(i, _)| *i);
    let answers: Vec<GradedAnswer> = graded.into_iter().map(|(_, a)| a).collect();
    let grades: Vec<Grade> = answers.iter().map(|a| a.grade).collect();
    Ok(WorldEval { summary: summarize(&grades), answers, skipped, unencodable })
}

/// [`evaluate_world`] `samples` times, sample `i` seeded `options.seed + i`, the answers concatenated in
/// sample order (every sample answers the prompts in the same order, so two models' answers pair up index
/// by index). Several answers a prompt shrink the sampling noise of the figures: at 30% correct, one
/// answer to each of 300 prompts has a standard error of 2.6 points, four answers 1.3.
///
/// ```no_run
/// # fn main() -> engine::Result<()> {
/// # let (model, tok): (models::gpt::Gpt, rlhf::data::ChatTokenizer) = unimplemented!();
/// use rlhf::evaluate::{eval_prompts, evaluate_world_sampled};
/// let options = rlhf::sample::SampleOptions { temperature: 1.0, ..Default::default() };
/// let eval = evaluate_world_sampled(&model, &tok, &eval_prompts(1337, 300), &options, 4)?;
/// assert_eq!(eval.answers.len(), 1200);
/// # Ok(()) }
/// ```
pub fn evaluate_world_sampled(model: &Gpt, tok: &ChatTokenizer, prompts: &[Prompt], options: &SampleOptions, samples: usize) -> Result<WorldEval> {
    if samples == 0 {
        return Err(Error::op("evaluate_world_sampled", "samples must be at least 1"));
    }
    let mut all: Option<WorldEval> = None;
    for i in 0..samples {
        let options = SampleOptions { seed: options.seed.wrapping_add(i as u64), ..options.clone() };
        let eval = evaluate_world(model, tok, prompts, &options)?;
        match &mut all {
            None => all = Some(eval),
            Some(a) => a.answers.extend(eval.answers),
        }
    }
    let mut all = all.expect("samples >= 1");
    let grades: Vec<Grade> = all.answers.iter().map(|a| a.grade).collect();
    all.summary = summarize(&grades);
    Ok(all)
}

/// The correct fraction of `answers` per task family, as `(family, correct, answers)` in
/// [`Family::ALL`] order (families with no answer left out; answers to non-world prompts ignored).
///
/// ```
/// use rlhf::evaluate::correct_by_family;
/// let answers = rlhf::evaluate::GradedAnswer {
///     prompt: "What is 47 plus 38?".into(),
///     answer: "85".into(),
///     finished: true,
///     grade: rlhf::world::grade_prompt("What is 47 plus 38?", "85").unwrap(),
/// };
/// assert_eq!(correct_by_family(&[answers]), vec![(rlhf::world::Family::Arithmetic, 1, 1)]);
/// ```
pub fn correct_by_family(answers: &[GradedAnswer]) -> Vec<(Family, usize, usize)> {
    let mut counts = [(0usize, 0usize); Family::ALL.len()];
    for a in answers {
        if let Some(task) = Task::from_prompt(&a.prompt) {
            let k = Family::ALL.iter().position(|f| *f == task.family()).expect("every family is in ALL");
            counts[k].0 += a.grade.correct as usize;
            counts[k].1 += 1;
        }
    }
    Family::ALL.iter().zip(counts).filter(|(_, (_, n))| *n > 0).map(|(f, (c, n))| (*f, c, n)).collect()
}

/// [`correct_by_family`] as a JSON object `{"arithmetic": 0.04, ...}`.
pub fn correct_by_family_json(answers: &[GradedAnswer]) -> Value {
    let map: serde_json::Map<String, Value> =
        correct_by_family(answers).into_iter().map(|(f, c, n)| (f.name().to_string(), json!(c as f64 / n as f64))).collect();
    Value::Object(map)
}
