//! Rendered chats to padded training batches, and the order the examples are drawn in.
//!
//! A batch is right-padded to its longest row. Targets are `-100` (ignored by the loss) wherever the
//! target token is not the assistant's (the chat template's loss mask) and on padding, so the model's
//! mean cross-entropy is exactly the mean over response tokens. Right padding needs no attention mask:
//! attention is causal, so a real token never sees the padding after it.
use engine::rng::Rng;
use engine::{Error, Result, Tensor};

use crate::data::RenderedChat;

/// The target id the loss ignores.
pub const IGNORE: i64 = -100;

/// One padded batch.
#[derive(Debug)]
pub struct SftBatch {
    /// Inputs, I64 `[rows, width]`: each example's `ids[..n-1]`, then the padding id.
    pub ids: Tensor,
    /// Targets, I64 `[rows, width]`: the next token where it is an assistant token, else [`IGNORE`].
    pub targets: Tensor,
    /// How many targets count (the response tokens).
    pub target_tokens: usize,
    /// How many input positions are real (not padding).
    pub real_tokens: usize,
}

/// The shifted inputs and masked targets of one example, unpadded.
///
/// ```
/// use rlhf::data::{ChatTokenizer, Conversation};
/// use rlhf::sft::batch::{example_targets, IGNORE};
/// let tok = ChatTokenizer::for_world();
/// let chat = tok.render(&Conversation::from_prompt_response("Hi", "Yo")).unwrap();
/// let (inputs, targets) = example_targets(&chat);
/// assert_eq!(inputs.len(), chat.ids.len() - 1);
/// let learned: Vec<u32> = targets.iter().filter(|&&t| t != IGNORE).map(|&t| t as u32).collect();
/// assert_eq!(tok.decode(&learned).unwrap(), "Yo<|end|>");
/// ```
pub fn example_targets(chat: &RenderedChat) -> (Vec<i64>, Vec<i64>) {
    let (inputs, targets, mask) = chat.training_pair();
    let inputs = inputs.iter().map(|&t| t as i64).collect();
    let targets = targets.iter().zip(mask).map(|(&t, &m)| if m == 1 { t as i64 } else { IGNORE }).collect();
    (inputs, targets)
}

/// Pads `examples` into one batch; fails when a row has no response token (its loss would be undefined)
/// or is too short to shift.
///
/// ```
/// use rlhf::data::{ChatTokenizer, Conversation};
/// use rlhf::sft::batch::pad_batch;
/// let tok = ChatTokenizer::for_world();
/// let a = tok.render(&Conversation::from_prompt_response("What is 2 plus 3?", "5")).unwrap();
/// let b = tok.render(&Conversation::from_prompt_response("Hi", "Hello there!")).unwrap();
/// let batch = pad_batch(&[&a, &b], tok.pad_id())?;
/// assert_eq!(batch.ids.shape(), &[2, a.ids.len().max(b.ids.len()) - 1]);
/// assert_eq!(batch.target_tokens, 2 + 13); // "5<|end|>" and "Hello there!<|end|>"
/// # Ok::<(), engine::Error>(())
/// ```
pub fn pad_batch(examples: &[&RenderedChat], pad_id: u32) -> Result<SftBatch> {
    const OP: &str = "sft::pad_batch";
    if examples.is_empty() {
        return Err(Error::op(OP, "no examples"));
    }
    let rows: Vec<(Vec<i64>, Vec<i64>)> = examples.iter().map(|e| example_targets(e)).collect();
    let width = rows.iter().map(|(i, _)| i.len()).max().unwrap_or(0);
    if let Some(k) = rows.iter().position(|(i, t)| i.is_empty() || t.iter().all(|&t| t == IGNORE)) {
        return Err(Error::op(OP, format!("row {k} has no response token to learn")));
    }
    let mut ids = Vec::with_capacity(rows.len() * width);
    let mut targets = Vec::with_capacity(rows.len() * width);
    let (mut target_tokens, mut real_tokens) = (0, 0);
    for (inputs, row_targets) in &rows {
        real_tokens += inputs.len();
        target_tokens += row_targets.iter().filter(|&&t| t != IGNORE).count();
        ids.extend_from_slice(inputs);
        ids.extend(std::iter::repeat_n(pad_id as i64, width - inputs.len()));
        targets.extend_from_slice(row_targets);
        targets.extend(std::iter::repeat_n(IGNORE, width - inputs.len()));
    }
    Ok(SftBatch {
        ids: Tensor::from_vec(ids, &[rows.len(), width])?,
        targets: Tensor::from_vec(targets, &[rows.len(), width])?,
        target_tokens,
        real_tokens,
    })
}

/// The order examples are drawn in: epochs, each a fresh seeded permutation of all examples. Position
/// `p` of the stream is example `perm(p / n)[p % n]`, so the stream is a pure function of the seed and
/// resuming needs only the step (a restarted run draws the same batches as an uninterrupted one).
///
/// ```
/// use rlhf::sft::batch::EpochSampler;
/// let mut s = EpochSampler::new(5, 1);
/// let first: Vec<usize> = s.take(0, 5);
/// let mut sorted = first.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]); // one epoch sees every example once
/// assert_eq!(EpochSampler::new(5, 1).take(3, 4), s.take(3, 4)); // no hidden state
/// ```
#[derive(Clone, Debug)]
pub struct EpochSampler {
    n: usize,
    seed: u64,
    cached: Option<(u64, Vec<usize>)>,
}

impl EpochSampler {
    /// A sampler over `n > 0` examples.
    pub fn new(n: usize, seed: u64) -> EpochSampler {
        EpochSampler { n: n.max(1), seed, cached: None }
    }

    /// The examples at stream positions `start .. start + count`.
    pub fn take(&mut self, start: u64, count: usize) -> Vec<usize> {
        (start..start + count as u64).map(|p| self.at(p)).collect()
    }

    fn at(&mut self, position: u64) -> usize {
        let epoch = position / self.n as u64;
        if self.cached.as_ref().map(|c| c.0) != Some(epoch) {
            let mut perm: Vec<usize> = (0..self.n).collect();
            Rng::new(self.seed).split(epoch).shuffle(&mut perm);
            self.cached = Some((epoch, perm));
        }
        self.cached.as_ref().expect("just filled").1[(position % self.n as u64) as usize]
    }
}
