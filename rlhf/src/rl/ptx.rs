//! PPO-ptx (Ouyang et al. 2022, eq. 2): the pretraining loss mixed into PPO's with a coefficient γ, so
//! the policy keeps the language-model skills the reward model does not ask for. The text is the built-in
//! world's pretraining corpus (or any text), tokenised once; each call draws random windows of the block
//! size, like `rlhf pretrain`.
use autograd::Var;
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::gpt::Gpt;

use crate::data::ChatTokenizer;

/// Tokenised pretraining text.
pub struct PtxData {
    ids: Vec<u32>,
}

impl PtxData {
    /// Tokenises `text` with the chat tokenizer's inner vocabulary (no special tokens, as in pretraining).
    ///
    /// ```
    /// use engine::rng::Rng;
    /// use models::gpt::{Gpt, GptConfig};
    /// use rlhf::data::ChatTokenizer;
    /// use rlhf::rl::ptx::PtxData;
    /// let tok = ChatTokenizer::for_world();
    /// let data = PtxData::new(&tok, &rlhf::world::World::new(1).pretraining_corpus(2_000))?;
    /// let mut config = GptConfig::preset("char-tiny")?;
    /// (config.n_layer, config.vocab_size) = (1, tok.vocab_size());
    /// let model = Gpt::new(config, &mut Rng::new(0))?;
    /// let loss = data.loss(&model, 2, &mut Rng::new(3))?.item()?;
    /// assert!((loss - (102f32).ln()).abs() < 0.2); // untrained: about uniform
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn new(tok: &ChatTokenizer, text: &str) -> Result<PtxData> {
        let ids = tok.inner().encode_for_model(text, false).map_err(|e| Error::op("PtxData::new", e.to_string()))?;
        Ok(PtxData { ids })
    }

    /// The next-token loss of `model` on `batch` random windows (differentiable).
    pub fn loss(&self, model: &Gpt, batch: usize, rng: &mut Rng) -> Result<Var> {
        let t = model.config.block_size;
        if self.ids.len() < t + 2 {
            return Err(Error::op("PtxData::loss", format!("{} tokens of text, fewer than a window of {}", self.ids.len(), t + 1)));
        }
        let (mut ids, mut targets) = (Vec::with_capacity(batch * t), Vec::with_capacity(batch * t));
        for _ in 0..batch {
            let start = rng.gen_range(self.ids.len() - t - 1)?;
            ids.extend(self.ids[start..start + t].iter().map(|&i| i as i64));
            targets.extend(self.ids[start + 1..start + t + 1].iter().map(|&i| i as i64));
        }
        let out = model.forward(&Tensor::from_vec(ids, &[batch, t])?, Some(&Tensor::from_vec(targets, &[batch, t])?))?;
        out.loss.ok_or_else(|| Error::op("PtxData::loss", "no loss from the model"))
    }
}
