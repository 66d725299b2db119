//! Masked-LM pretraining pieces: choosing and corrupting tokens (BERT's 15% with 80% `[MASK]`, 10% a
//! random token, 10% unchanged) and the loss on the chosen tokens only.
use autograd::Var;
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

/// The label of a token that is not predicted (PyTorch's `ignore_index`).
pub const IGNORE_INDEX: i64 = -100;

/// How tokens are chosen and corrupted.
#[derive(Clone, Debug)]
pub struct MaskingOptions {
    /// Probability that a token is chosen for prediction (BERT: 0.15), each token independently, as
    /// Hugging Face's `DataCollatorForLanguageModeling` does.
    pub mask_probability: f32,
    /// Of the chosen tokens, the share replaced by `[MASK]` (0.8).
    pub mask_replace: f32,
    /// Of the chosen tokens, the share replaced by a random token (0.1); the rest stay unchanged.
    pub random_replace: f32,
    /// The id of `[MASK]`.
    pub mask_token_id: u32,
    /// Random replacements are drawn uniformly from `0..vocab_size`, skipping `special_ids`.
    pub vocab_size: usize,
    /// Tokens never chosen and never drawn as replacements (`[PAD] [CLS] [SEP] [MASK] [UNK]`).
    pub special_ids: Vec<u32>,
}

impl MaskingOptions {
    /// BERT's recipe (15%; 80 / 10 / 10) for a vocabulary with the given `[MASK]` id and special ids.
    pub fn bert(mask_token_id: u32, vocab_size: usize, special_ids: Vec<u32>) -> MaskingOptions {
        MaskingOptions { mask_probability: 0.15, mask_replace: 0.8, random_replace: 0.1, mask_token_id, vocab_size, special_ids }
    }
}

/// A corrupted batch: what the model reads and what it must predict.
#[derive(Clone, Debug)]
pub struct MaskedBatch {
    /// I64 `[B, T]`: the input with the chosen tokens corrupted.
    pub input_ids: Tensor,
    /// I64 `[B, T]`: the original token at chosen positions, [`IGNORE_INDEX`] elsewhere.
    pub labels: Tensor,
}

/// Chooses and corrupts tokens of `input_ids` (I64 `[B, T]`). Positions where `attention_mask` (any dtype,
/// `[B, T]`) is 0 and special tokens are never chosen.
///
/// ```
/// use engine::{rng::Rng, Tensor};
/// use models::bert::mlm::{mask_tokens, MaskingOptions, IGNORE_INDEX};
/// let ids = Tensor::from_vec((0..400).map(|i| 5 + i % 20).collect::<Vec<i64>>(), &[4, 100])?;
/// let options = MaskingOptions::bert(4, 25, vec![0, 1, 2, 3, 4]);
/// let batch = mask_tokens(&ids, None, &options, &mut Rng::new(7))?;
/// let labels = batch.labels.to_vec::<i64>()?;
/// let chosen = labels.iter().filter(|&&l| l != IGNORE_INDEX).count();
/// assert!(chosen > 20 && chosen < 110, "{chosen} of 400 chosen");
/// # Ok::<(), engine::Error>(())
/// ```
pub fn mask_tokens(input_ids: &Tensor, attention_mask: Option<&Tensor>, options: &MaskingOptions, rng: &mut Rng) -> Result<MaskedBatch> {
    const OP: &str = "mask_tokens";
    if input_ids.rank() != 2 || input_ids.dtype() != DType::I64 {
        return Err(Error::op(OP, format!("input_ids must be I64 [B, T], got {} {:?}", input_ids.dtype(), input_ids.shape())));
    }
    let p = (options.mask_probability, options.mask_replace, options.random_replace);
    if !(0.0..=1.0).contains(&p.0) || p.1 < 0.0 || p.2 < 0.0 || p.1 + p.2 > 1.0 {
        return Err(Error::op(OP, format!("bad probabilities {p:?}")));
    }
    let replaceable = options.vocab_size.saturating_sub(options.special_ids.len());
    if p.2 > 0.0 && replaceable == 0 {
        return Err(Error::op(OP, "random replacement needs a non-special token in the vocabulary"));
    }
    let keep = match attention_mask {
        Some(m) if m.shape() != input_ids.shape() => {
            return Err(Error::op(OP, format!("attention_mask {:?} must match input_ids {:?}", m.shape(), input_ids.shape())))
        }
        Some(m) => m.ne_scalar(0.0)?.to_vec::<u8>()?,
        None => vec![1; input_ids.numel()],
    };
    let is_special = |id: i64| options.special_ids.iter().any(|&s| s as i64 == id);
    let mut ids = input_ids.to_vec::<i64>()?;
    let mut labels = vec![IGNORE_INDEX; ids.len()];
    for (i, id) in ids.iter_mut().enumerate() {
        if keep[i] == 0 || is_special(*id) || rng.next_f32() >= p.0 {
            continue;
        }
        labels[i] = *id;
        let r = rng.next_f32();
        if r < p.1 {
            *id = options.mask_token_id as i64;
        } else if r < p.1 + p.2 {
            *id = loop {
                let candidate = rng.gen_range(options.vocab_size)? as i64;
                if !is_special(candidate) {
                    break candidate;
                }
            };
        }
    }
    let shape = input_ids.shape();
    Ok(MaskedBatch { input_ids: Tensor::from_vec(ids, shape)?, labels: Tensor::from_vec(labels, shape)? })
}

/// The masked-LM loss: mean cross-entropy of `logits [B, T, V]` over the chosen positions of `labels`
/// (I64 `[B, T]`, [`IGNORE_INDEX`] elsewhere); 0 when nothing was chosen.
pub fn mlm_loss(logits: &Var, labels: &Tensor) -> Result<Var> {
    logits.cross_entropy(labels, IGNORE_INDEX)
}

/// `(correct, chosen)`: how many chosen positions of `labels` the arg-max of `logits [B, T, V]` gets right.
pub fn masked_accuracy(logits: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    let predicted = logits.argmax(-1, false)?.to_vec::<i64>()?;
    let labels = labels.to_vec::<i64>()?;
    if predicted.len() != labels.len() {
        return Err(Error::op("masked_accuracy", format!("logits {:?} do not match {} labels", logits.shape(), labels.len())));
    }
    let chosen = labels.iter().filter(|&&l| l != IGNORE_INDEX).count();
    let correct = predicted.iter().zip(&labels).filter(|(p, l)| **l != IGNORE_INDEX && p == l).count();
    Ok((correct, chosen))
}

/// Pretraining inputs from a token stream: for each start, `[CLS] tokens[start..start + window] [SEP]`,
/// as I64 `[starts.len(), window + 2]` (feed it to [`mask_tokens`]). An error when a window runs past the
/// end of the stream.
///
/// ```
/// use models::bert::mlm::windows_with_cls_sep;
/// let stream = [10u32, 11, 12, 13, 14];
/// let batch = windows_with_cls_sep(&stream, &[0, 2], 3, 101, 102)?;
/// assert_eq!(batch.to_vec::<i64>()?, vec![101, 10, 11, 12, 102, 101, 12, 13, 14, 102]);
/// assert!(windows_with_cls_sep(&stream, &[3], 3, 101, 102).is_err());
/// # Ok::<(), engine::Error>(())
/// ```
pub fn windows_with_cls_sep(tokens: &[u32], starts: &[usize], window: usize, cls_id: u32, sep_id: u32) -> Result<Tensor> {
    let mut ids = Vec::with_capacity(starts.len() * (window + 2));
    for &start in starts {
        let piece = tokens.get(start..start + window).ok_or_else(|| {
            Error::op("windows_with_cls_sep", format!("window {start}..{} is past the stream's {} tokens", start + window, tokens.len()))
        })?;
        ids.push(cls_id as i64);
        ids.extend(piece.iter().map(|&t| t as i64));
        ids.push(sep_id as i64);
    }
    Tensor::from_vec(ids, &[starts.len(), window + 2])
}
