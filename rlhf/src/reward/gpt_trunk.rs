//! The GPT decoder as a reward-model trunk: the SFT model with its LM head removed, read at the final
//! LayerNorm. Left padding is fine here: position ids count each row's own real tokens and padded keys are
//! masked, so a row's hidden states do not depend on how much padding sits before it.
use autograd::Var;
use engine::{DType, Error, Result, Tensor};
use models::gpt::Gpt;

use super::trunk::RewardTrunk;

impl RewardTrunk for Gpt {
    fn hidden_size(&self) -> usize {
        self.config.n_embd
    }

    fn supports_left_padding(&self) -> bool {
        true
    }

    fn forward_hidden(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Var> {
        let (key_padding, positions) = padding_and_positions(attention_mask)?;
        self.hidden_states(input_ids, Some(&key_padding), Some(&positions))
    }

    fn has_lm_head(&self) -> bool {
        true
    }

    fn next_token_logprobs(&self, hidden: &Var, input_ids: &Tensor) -> Result<Option<Var>> {
        let t = input_ids.shape()[1];
        if t < 2 {
            return Err(Error::op("next_token_logprobs", "needs at least 2 tokens per row"));
        }
        let logits = self.lm_head(&hidden.narrow(1, 0, t - 1)?.contiguous()?)?; // [B, T-1, V]
        let next = input_ids.narrow(1, 1, t - 1)?.contiguous()?;
        Ok(Some(crate::rl::logprobs::token_logprobs(&logits, &next)?))
    }
}

/// From an I64 attention mask `[B, T]` (1 = real): the U8 key-padding mask and position ids that count
/// each row's real tokens from 0 (0 at padding).
///
/// ```
/// use engine::Tensor;
/// let mask = Tensor::from_vec(vec![0i64, 0, 1, 1, 1, 1, 1, 0], &[2, 4])?;
/// let (pad, pos) = rlhf::reward::gpt_trunk::padding_and_positions(&mask)?;
/// assert_eq!(pad.to_vec::<u8>()?, vec![0, 0, 1, 1, 1, 1, 1, 0]);
/// assert_eq!(pos.to_vec::<i64>()?, vec![0, 0, 0, 1, 0, 1, 2, 0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn padding_and_positions(attention_mask: &Tensor) -> Result<(Tensor, Tensor)> {
    if attention_mask.rank() != 2 {
        return Err(Error::op("padding_and_positions", format!("attention mask must be [B, T], got {:?}", attention_mask.shape())));
    }
    let (b, t) = (attention_mask.shape()[0], attention_mask.shape()[1]);
    let mask = attention_mask.to_dtype(DType::I64)?.to_vec::<i64>()?;
    let mut pad = Vec::with_capacity(b * t);
    let mut pos = Vec::with_capacity(b * t);
    for row in mask.chunks(t) {
        let mut next = 0i64;
        for &m in row {
            pad.push(u8::from(m != 0));
            pos.push(if m != 0 { next } else { 0 });
            next += i64::from(m != 0);
        }
    }
    Ok((Tensor::from_vec(pad, &[b, t])?, Tensor::from_vec(pos, &[b, t])?))
}
