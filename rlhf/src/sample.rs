//! Answering prompts with a chat model: the one sampling path that SFT evaluation, collecting K answers
//! for ranking, PPO/PG rollouts and the pipeline's report share.
//!
//! Each conversation is rendered as a prompt ending in `<|assistant|>` (oldest turns dropped to leave
//! `max_new_tokens` of room), prompts run in batches of `batch_size` through the KV-cache generator, and a
//! row stops at `<|end|>`. Batch `i` samples with seed `seed + i`, so the answers depend only on the seed,
//! the prompts and the batch size, never on the thread count.
use engine::Result;
use models::gpt::{generate_rows, GenerateOptions, Gpt};

use crate::data::{ChatTokenizer, Conversation};

/// How to answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOptions {
    /// Longest answer in tokens (the end-of-turn token included).
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f32,
    /// Sample among the k most likely tokens.
    pub top_k: Option<usize>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Prompts per generation batch.
    pub batch_size: usize,
    /// Seed of the first batch.
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions { max_new_tokens: 48, temperature: 1.0, top_k: None, top_p: None, batch_size: 32, seed: 0 }
    }
}

/// One answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SampledAnswer {
    /// The rendered prompt (ending in `<|assistant|>`).
    pub prompt_ids: Vec<u32>,
    /// The answer's tokens; the last is `<|end|>` when the model finished the turn.
    pub answer_ids: Vec<u32>,
    /// The answer's text (without `<|end|>`).
    pub text: String,
    /// Whether the answer ended with `<|end|>` (not cut off by `max_new_tokens`).
    pub finished: bool,
}

/// Answers every conversation (each ending in a user turn) once.
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{Gpt, GptConfig};
/// use rlhf::data::{ChatTokenizer, Conversation};
/// use rlhf::sample::{answer, SampleOptions};
/// let tok = ChatTokenizer::for_world();
/// let mut config = GptConfig::preset("char-tiny")?;
/// config.n_layer = 1;
/// config.vocab_size = tok.vocab_size();
/// let model = Gpt::new(config, &mut Rng::new(0))?;
/// let prompts = vec![Conversation::from_prompt("What is 2 plus 2?"), Conversation::from_prompt("Hi")];
/// let options = SampleOptions { max_new_tokens: 8, ..Default::default() };
/// let answers = answer(&model, &tok, &prompts, &options)?;
/// assert_eq!(answers.len(), 2);
/// assert!(answers.iter().all(|a| a.answer_ids.len() <= 8 && a.finished == (a.answer_ids.last() == Some(&tok.end_id()))));
/// assert_eq!(answers, answer(&model, &tok, &prompts, &options)?); // same seed, same answers
/// # Ok::<(), engine::Error>(())
/// ```
pub fn answer(model: &Gpt, tok: &ChatTokenizer, conversations: &[Conversation], options: &SampleOptions) -> Result<Vec<SampledAnswer>> {
    let room = model.config.block_size.saturating_sub(options.max_new_tokens).max(1);
    let prompts: Vec<Vec<u32>> = conversations
        .iter()
        .map(|c| tok.render_prompt(c, room).map_err(|e| engine::Error::op("sample::answer", e.to_string())))
        .collect::<Result<_>>()?;
    answer_ids(model, tok, &prompts, options)
}

/// Each conversation answered `k` times (rows `i*k .. (i+1)*k` belong to conversation `i`): the K samples
/// of a prompt that a labeler ranks.
pub fn answer_k(model: &Gpt, tok: &ChatTokenizer, conversations: &[Conversation], k: usize, options: &SampleOptions) -> Result<Vec<SampledAnswer>> {
    let repeated: Vec<Conversation> = conversations.iter().flat_map(|c| std::iter::repeat_n(c.clone(), k)).collect();
    answer(model, tok, &repeated, options)
}

/// Answers already-rendered prompts.
pub fn answer_ids(model: &Gpt, tok: &ChatTokenizer, prompts: &[Vec<u32>], options: &SampleOptions) -> Result<Vec<SampledAnswer>> {
    let end = tok.end_id();
    let mut out = Vec::with_capacity(prompts.len());
    for (i, chunk) in prompts.chunks(options.batch_size.max(1)).enumerate() {
        let generate = GenerateOptions {
            max_new_tokens: options.max_new_tokens,
            temperature: options.temperature,
            top_k: options.top_k,
            top_p: options.top_p,
            stop_tokens: vec![end],
            seed: options.seed.wrapping_add(i as u64),
            use_cache: true,
        };
        for (prompt, row) in chunk.iter().zip(generate_rows(model, chunk, &generate, &mut |_, _| {})?) {
            let text = tok.decode(&row.tokens).map_err(|e| engine::Error::op("sample::answer", e.to_string()))?;
            let finished = row.stopped_by.is_some();
            let mut answer_ids = row.tokens;
            if finished {
                answer_ids.push(end);
            }
            out.push(SampledAnswer { prompt_ids: prompt.clone(), answer_ids, text, finished });
        }
    }
    Ok(out)
}
