//! The SFT training step and the response loss: AdamW with linear warmup and cosine decay, gradient
//! accumulation weighted by response tokens, clipping by the global norm.
use autograd::nn::Module;
use autograd::no_grad;
use autograd::optim::{clip_grad_norm, grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer};
use engine::rng::Rng;
use engine::{Error, Result};
use models::gpt::Gpt;

use super::batch::{pad_batch, EpochSampler};
use crate::data::RenderedChat;

/// The optimisation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SftConfig {
    /// Optimizer steps in the whole run (the cosine reaches `min_lr` here).
    pub steps: u64,
    /// Conversations per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f32,
    /// Final learning rate.
    pub min_lr: f32,
    /// Linear warmup steps.
    pub warmup: u64,
    /// AdamW weight decay of the matrices.
    pub weight_decay: f32,
    /// AdamW beta2.
    pub beta2: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    pub grad_clip: f32,
    /// Seed of the data order and dropout.
    pub seed: u64,
}

impl Default for SftConfig {
    fn default() -> Self {
        SftConfig {
            steps: 300,
            batch_size: 16,
            grad_accum: 1,
            lr: 1e-3,
            min_lr: 1e-4,
            warmup: 20,
            weight_decay: 0.1,
            beta2: 0.99,
            grad_clip: 1.0,
            seed: 1337,
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// Mean cross-entropy over the step's response tokens.
    pub loss: f32,
    /// The learning rate used.
    pub lr: f32,
    /// The global gradient norm before clipping.
    pub grad_norm: f32,
    /// Response tokens in the step.
    pub target_tokens: usize,
    /// Real (unpadded) input tokens in the step.
    pub real_tokens: usize,
}

/// The model, its optimizer and the data-order / dropout generator: everything a checkpoint holds.
pub struct SftTrainer {
    /// The model being fine-tuned.
    pub model: Gpt,
    /// Its optimizer.
    pub opt: AdamW,
    /// The dropout generator (the data order is a function of the step, see [`EpochSampler`]).
    pub rng: Rng,
    config: SftConfig,
    schedule: LrSchedule,
    sampler: EpochSampler,
    pad_id: u32,
}

impl SftTrainer {
    /// A trainer of `model` on `n_examples` training examples (padding with `pad_id`).
    pub fn new(model: Gpt, config: SftConfig, n_examples: usize, pad_id: u32) -> SftTrainer {
        let options = AdamWOptions { lr: config.lr, beta1: 0.9, beta2: config.beta2, eps: 1e-8 };
        let opt = AdamW::for_module(&model, config.weight_decay, options);
        let schedule = LrSchedule::WarmupCosine { max_lr: config.lr, min_lr: config.min_lr, warmup_steps: config.warmup, decay_steps: config.steps };
        SftTrainer {
            model,
            opt,
            rng: Rng::new(config.seed).split(1),
            sampler: EpochSampler::new(n_examples, config.seed),
            config,
            schedule,
            pad_id,
        }
    }

    /// Takes optimizer step number `step` (0-based) on the examples the sampler gives for it.
    ///
    /// ```
    /// use engine::rng::Rng;
    /// use models::gpt::{Gpt, GptConfig};
    /// use rlhf::data::{ChatTokenizer, Conversation};
    /// use rlhf::sft::{RenderedSet, SftConfig, SftTrainer};
    /// let tok = ChatTokenizer::for_world();
    /// let mut c = GptConfig::preset("char-tiny")?;
    /// (c.n_layer, c.n_embd, c.vocab_size) = (1, 32, tok.vocab_size());
    /// let data = RenderedSet::build(&tok, &[Conversation::from_prompt_response("Hi", "Hello!")], 64);
    /// let config = SftConfig { steps: 30, batch_size: 2, lr: 1e-2, warmup: 0, ..Default::default() };
    /// let mut trainer = SftTrainer::new(Gpt::new(c, &mut Rng::new(0))?, config, data.examples.len(), tok.pad_id());
    /// let first = trainer.step(0, &data.examples)?.loss;
    /// let last = (1..30).map(|s| trainer.step(s, &data.examples).unwrap().loss).last().unwrap();
    /// assert!(last < first / 4.0, "{first} -> {last}"); // one answer is easy to memorise
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn step(&mut self, step: u64, train: &[RenderedChat]) -> Result<StepStats> {
        let (b, accum) = (self.config.batch_size, self.config.grad_accum);
        let lr = self.schedule.lr_at(step);
        self.opt.set_lr(lr);
        self.opt.zero_grad();
        let indices = self.sampler.take(step * (b * accum) as u64, b * accum);
        let batches = indices
            .chunks(b)
            .map(|chunk| pad_batch(&chunk.iter().map(|&i| &train[i]).collect::<Vec<_>>(), self.pad_id))
            .collect::<Result<Vec<_>>>()?;
        // Each micro-batch's loss is its mean over its response tokens; weighting by its share of the
        // step's tokens makes the step's gradient the mean over all of them, however they are split.
        let total: usize = batches.iter().map(|b| b.target_tokens).sum();
        let mut loss_sum = 0.0f64;
        for batch in &batches {
            let loss = self.model.forward_train(&batch.ids, Some(&batch.targets), &mut self.rng)?.loss.expect("targets were given");
            let weight = batch.target_tokens as f32 / total as f32;
            loss_sum += loss.item()? as f64 * weight as f64;
            loss.mul_scalar(weight)?.backward()?;
        }
        let params = self.model.parameters();
        let norm = if self.config.grad_clip > 0.0 { clip_grad_norm(&params, self.config.grad_clip)? } else { grad_norm(&params)? };
        self.opt.step()?;
        let loss = loss_sum as f32;
        if !loss.is_finite() {
            return Err(Error::op("sft step", format!("step {}: the loss is {loss}; lower --lr", step + 1)));
        }
        Ok(StepStats {
            loss,
            lr,
            grad_norm: norm,
            target_tokens: total,
            real_tokens: batches.iter().map(|b| b.real_tokens).sum(),
        })
    }
}

/// The mean cross-entropy over every response token of `examples` (no dropout, no gradient), in batches
/// of `batch_size`: the validation loss on responses. `None` for no examples.
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{Gpt, GptConfig};
/// use rlhf::data::{ChatTokenizer, Conversation};
/// use rlhf::sft::{response_loss, RenderedSet};
/// let tok = ChatTokenizer::for_world();
/// let mut c = GptConfig::preset("char-tiny")?;
/// (c.n_layer, c.vocab_size) = (1, tok.vocab_size());
/// let model = Gpt::new(c, &mut Rng::new(0))?;
/// let convs = [Conversation::from_prompt_response("Hi", "Hello!"), Conversation::from_prompt_response("What is 2 plus 3?", "5")];
/// let data = RenderedSet::build(&tok, &convs, 64);
/// let together = response_loss(&model, &data.examples, 2, tok.pad_id())?.unwrap();
/// let one_by_one = response_loss(&model, &data.examples, 1, tok.pad_id())?.unwrap();
/// assert!((together - one_by_one).abs() < 1e-5); // a mean over tokens, however they are batched
/// assert!(together > 1.0); // an untrained model
/// # Ok::<(), engine::Error>(())
/// ```
pub fn response_loss(model: &Gpt, examples: &[RenderedChat], batch_size: usize, pad_id: u32) -> Result<Option<f32>> {
    let _guard = no_grad();
    let (mut sum, mut tokens) = (0.0f64, 0usize);
    for chunk in examples.chunks(batch_size.max(1)) {
        let batch = pad_batch(&chunk.iter().collect::<Vec<_>>(), pad_id)?;
        let loss = model.forward(&batch.ids, Some(&batch.targets))?.loss.expect("targets were given").item()?;
        sum += loss as f64 * batch.target_tokens as f64;
        tokens += batch.target_tokens;
    }
    Ok((tokens > 0).then(|| (sum / tokens as f64) as f32))
}
