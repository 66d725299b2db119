//! K-wise batching: each prompt's K answers (prompt tokens followed by answer tokens) are packed as K rows
//! of one padded batch, so every answer runs through the model once and all C(K,2) pairs of the prompt
//! are read from the same K rewards (see [`super::loss`]). The reward is read at the last real token of
//! each row ([`last_token_values`]), never at padding.
//!
//! **Padding side.** With right padding a row's real tokens sit at columns `0..len` and its last real
//! token at `len - 1`; with left padding they sit at `T - len..T` and the last is always `T - 1`. A trunk
//! whose positions count from column 0 (BERT's absolute position embeddings) must get right padding to
//! see the same positions as an unpadded run; a trunk that takes position ids from the mask
//! ([`KwiseBatch::position_ids`]) can take either.
use engine::{Error, Result, Tensor};

use autograd::Var;

use super::loss::{RankedGroup, Ranking};

/// Which side the padding goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Real tokens first, padding after (`[a b c 0 0]`).
    Right,
    /// Padding first, real tokens after (`[0 0 a b c]`).
    Left,
}

/// One prompt with its K answers and their ranking, as token ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KwiseExample {
    /// The prompt's tokens (with whatever template and special tokens the trunk wants).
    pub prompt: Vec<u32>,
    /// The K answers' tokens, each appended to the prompt.
    pub answers: Vec<Vec<u32>>,
    /// Their ranking (local indices `0..K`).
    pub ranking: Ranking,
}

/// A padded batch of the answers of several prompts, K rows per prompt, in order.
#[derive(Clone, Debug)]
pub struct KwiseBatch {
    /// I64 `[B, T]`, padded with the pad id.
    pub input_ids: Tensor,
    /// I64 `[B, T]`, 1 at real tokens, 0 at padding.
    pub attention_mask: Tensor,
    /// I64 `[B, T]`: 0 at a row's first real token, counting up over real tokens; 0 at padding.
    pub position_ids: Tensor,
    /// I64 `[B]`: the column of each row's last real token.
    pub last_index: Tensor,
    /// F32 `[B, T - 1]`: 1 where `input_ids[b, t + 1]` is an answer token (next-token target layout; the
    /// reward model's answer-likelihood feature sums over these).
    pub answer_mask: Tensor,
    /// The real length of each row (after truncation).
    pub lengths: Vec<usize>,
    /// Each prompt's rows and ranking, for [`super::ranking_loss`].
    pub groups: Vec<RankedGroup>,
    /// The padding side used.
    pub padding: Padding,
}

impl KwiseBatch {
    /// B, the number of rows (answers).
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }
}

/// Packs `examples` into one batch: row `i` is `prompt ++ answer`, cut to its last `max_len` tokens when
/// longer (the end, where the reward is read, is kept), then padded to the longest row with `pad_id` on
/// the `padding` side.
///
/// ```
/// use rlhf::reward::{pack_kwise, KwiseExample, Padding, Ranking};
/// let ex = KwiseExample { prompt: vec![5, 6], answers: vec![vec![7], vec![8, 9, 10]], ranking: Ranking::from_order(&[1, 0]) };
/// let right = pack_kwise(&[ex.clone()], 0, Padding::Right, None)?;
/// assert_eq!(right.input_ids.to_vec::<i64>()?, vec![5, 6, 7, 0, 0, 5, 6, 8, 9, 10]);
/// assert_eq!(right.last_index.to_vec::<i64>()?, vec![2, 4]);
/// // Targets 0..4 predict columns 1..5; the answers are columns 2 and 2..5.
/// assert_eq!(right.answer_mask.to_vec::<f32>()?, vec![0., 1., 0., 0., 0., 1., 1., 1.]);
/// let left = pack_kwise(&[ex], 0, Padding::Left, None)?;
/// assert_eq!(left.input_ids.to_vec::<i64>()?, vec![0, 0, 5, 6, 7, 5, 6, 8, 9, 10]);
/// assert_eq!(left.last_index.to_vec::<i64>()?, vec![4, 4]);
/// assert_eq!(left.answer_mask.to_vec::<f32>()?, vec![0., 0., 0., 1., 0., 1., 1., 1.]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn pack_kwise(examples: &[KwiseExample], pad_id: u32, padding: Padding, max_len: Option<usize>) -> Result<KwiseBatch> {
    let mut rows: Vec<Vec<u32>> = Vec::new();
    let mut answer_lens: Vec<usize> = Vec::new();
    let mut groups = Vec::with_capacity(examples.len());
    for ex in examples {
        ex.ranking.validate()?;
        if ex.ranking.num_answers() != ex.answers.len() {
            return Err(Error::op(
                "pack_kwise",
                format!("{} answers but the ranking ranks {}", ex.answers.len(), ex.ranking.num_answers()),
            ));
        }
        groups.push(RankedGroup { offset: rows.len(), ranking: ex.ranking.clone() });
        for answer in &ex.answers {
            let mut row: Vec<u32> = ex.prompt.iter().chain(answer).copied().collect();
            if let Some(m) = max_len {
                if m == 0 {
                    return Err(Error::op("pack_kwise", "max_len must be at least 1"));
                }
                if row.len() > m {
                    row.drain(..row.len() - m);
                }
            }
            if row.is_empty() {
                return Err(Error::op("pack_kwise", "an empty row (empty prompt and answer) has no last token"));
            }
            answer_lens.push(answer.len().min(row.len()));
            rows.push(row);
        }
    }
    let b = rows.len();
    let t = rows.iter().map(Vec::len).max().unwrap_or(0);
    let (mut ids, mut mask, mut pos) = (Vec::with_capacity(b * t), Vec::with_capacity(b * t), Vec::with_capacity(b * t));
    let mut last = Vec::with_capacity(b);
    for row in &rows {
        let pad = t - row.len();
        let real_ids = row.iter().map(|&id| id as i64);
        let real_pos = 0..row.len() as i64;
        match padding {
            Padding::Right => {
                ids.extend(real_ids.chain(std::iter::repeat_n(pad_id as i64, pad)));
                mask.extend(std::iter::repeat_n(1i64, row.len()).chain(std::iter::repeat_n(0, pad)));
                pos.extend(real_pos.chain(std::iter::repeat_n(0, pad)));
                last.push(row.len() as i64 - 1);
            }
            Padding::Left => {
                ids.extend(std::iter::repeat_n(pad_id as i64, pad).chain(real_ids));
                mask.extend(std::iter::repeat_n(0i64, pad).chain(std::iter::repeat_n(1, row.len())));
                pos.extend(std::iter::repeat_n(0, pad).chain(real_pos));
                last.push(t as i64 - 1);
            }
        }
    }
    // Answer tokens sit at the end of each row's real tokens; target column c predicts column c + 1.
    let targets = t.saturating_sub(1);
    let mut answer_mask = vec![0f32; b * targets];
    for (i, (row, &a)) in rows.iter().zip(&answer_lens).enumerate() {
        let end = match padding {
            Padding::Right => row.len(),
            Padding::Left => t,
        };
        for column in (end - a).max(1)..end {
            answer_mask[i * targets + column - 1] = 1.0;
        }
    }
    Ok(KwiseBatch {
        input_ids: Tensor::from_vec(ids, &[b, t])?,
        answer_mask: Tensor::from_vec(answer_mask, &[b, targets])?,
        attention_mask: Tensor::from_vec(mask, &[b, t])?,
        position_ids: Tensor::from_vec(pos, &[b, t])?,
        last_index: Tensor::from_vec(last, &[b])?,
        lengths: rows.iter().map(Vec::len).collect(),
        groups,
        padding,
    })
}

/// The value at each row's last real token: `values [B, T]` -> `[B]`, or `values [B, T, H]` -> `[B, H]`,
/// read by `gather` along the time axis at `last_index` (I64 `[B]`), so the gradient flows back to
/// exactly those positions.
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::reward::last_token_values;
/// let v = Var::constant(Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
/// let picked = last_token_values(&v, &Tensor::from_vec(vec![1i64, 2], &[2])?)?;
/// assert_eq!(picked.tensor().to_vec::<f32>()?, vec![2.0, 6.0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn last_token_values(values: &Var, last_index: &Tensor) -> Result<Var> {
    let shape = values.shape().to_vec();
    let idx = last_index.to_dtype(engine::DType::I64)?.to_vec::<i64>()?;
    if shape.len() < 2 || idx.len() != shape[0] {
        return Err(Error::op(
            "last_token_values",
            format!("values must be [B, T] or [B, T, H] with B = {} indices, got {shape:?}", idx.len()),
        ));
    }
    if let Some(&bad) = idx.iter().find(|&&i| i < 0 || i as usize >= shape[1]) {
        return Err(Error::op("last_token_values", format!("last index {bad} outside 0..{}", shape[1])));
    }
    match shape.len() {
        2 => values.gather(1, &Tensor::from_vec(idx, &[shape[0], 1])?)?.squeeze(1),
        3 => {
            let h = shape[2];
            let index: Vec<i64> = idx.iter().flat_map(|&i| std::iter::repeat_n(i, h)).collect();
            values.gather(1, &Tensor::from_vec(index, &[shape[0], 1, h])?)?.squeeze(1)
        }
        _ => Err(Error::op("last_token_values", format!("values must be [B, T] or [B, T, H], got {shape:?}"))),
    }
}

/// How many sequences the model runs for a set of rankings: each answer once (K-wise batching) against
/// each pair fed on its own (two sequences per (better, worse) pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardPasses {
    /// Sequences run with K-wise batching: the sum of K.
    pub kwise: usize,
    /// Sequences run when every pair is fed independently: `2 * |pairs|` (`2 * C(K,2) = K (K - 1)` for a
    /// strict ranking).
    pub pairwise: usize,
}

impl ForwardPasses {
    /// The counts for these rankings (tied answers make no pair, so they cost nothing pairwise).
    ///
    /// ```
    /// use rlhf::reward::{ForwardPasses, Ranking};
    /// let c = ForwardPasses::of(&[Ranking::from_order(&[0, 1, 2, 3])]);
    /// assert_eq!((c.kwise, c.pairwise, c.saved()), (4, 12, 8));
    /// ```
    pub fn of(rankings: &[Ranking]) -> ForwardPasses {
        ForwardPasses {
            kwise: rankings.iter().map(Ranking::num_answers).sum(),
            pairwise: rankings.iter().map(|r| 2 * r.pairs().len()).sum(),
        }
    }

    /// For one strict ranking of `k` answers: `k` against `2 * C(k, 2)`.
    pub fn strict(k: usize) -> ForwardPasses {
        ForwardPasses { kwise: k, pairwise: k * k.saturating_sub(1) }
    }

    /// Sequences saved by K-wise batching (0 when pairwise would run fewer, e.g. all answers tied).
    pub fn saved(&self) -> usize {
        self.pairwise.saturating_sub(self.kwise)
    }

    /// `pairwise / kwise` (`K - 1` for strict rankings).
    pub fn ratio(&self) -> f64 {
        self.pairwise as f64 / self.kwise.max(1) as f64
    }
}
