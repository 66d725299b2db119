//! The InstructGPT ranking loss: for each prompt, every pair of its ranked answers (better, worse) adds
//! `-log sigmoid(r_better - r_worse)`; a prompt's pairs are averaged (`1/|pairs|`, which is `1/C(K,2)`
//! for a strict ranking of K answers) and the prompts are averaged.
//!
//! All answers of a batch are run through the model once, giving `r [N]`; the pairs are read out of `r`
//! by two index tensors (`index_select`), so the loss differentiates through the ordinary autograd ops
//! (`index_select -> sub -> log_sigmoid -> mul -> sum`). [`ranking_loss_reference`] is the naive f64
//! oracle the tests hold it equal to.
use engine::{Error, Result, Tensor};

use autograd::Var;

use crate::data::RankingRecord;

/// A ranking of the answers to one prompt, best tier first. Answers in one tier are tied: no pair is made
/// between them (ties are skipped), every answer of a tier is preferred to every answer of a later tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking {
    /// Tiers of local answer indices (`0..K`), best first.
    pub tiers: Vec<Vec<usize>>,
}

impl Ranking {
    /// A strict ranking (no ties) from indices best to worst, as a rankings record holds them.
    pub fn from_order(order: &[usize]) -> Ranking {
        Ranking { tiers: order.iter().map(|&i| vec![i]).collect() }
    }

    /// The strict ranking of a rankings-file record (checked to be a permutation of its responses).
    ///
    /// ```
    /// use rlhf::data::RankingRecord;
    /// use rlhf::reward::Ranking;
    /// let record = RankingRecord {
    ///     prompt: "q".into(),
    ///     responses: vec!["a".into(), "b".into(), "c".into()],
    ///     ranking: vec![2, 0, 1],
    ///     labeler: "scripted".into(),
    /// };
    /// assert_eq!(Ranking::from_record(&record)?.pairs(), vec![(2, 0), (2, 1), (0, 1)]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn from_record(record: &RankingRecord) -> Result<Ranking> {
        record.validate().map_err(|e| Error::op("Ranking::from_record", e))?;
        Ok(Ranking::from_order(&record.ranking))
    }

    /// A ranking with ties: `tiers[0]` holds the best answers.
    pub fn with_ties(tiers: Vec<Vec<usize>>) -> Ranking {
        Ranking { tiers }
    }

    /// The number of answers ranked (K).
    pub fn num_answers(&self) -> usize {
        self.tiers.iter().map(Vec::len).sum()
    }

    /// Every (better, worse) pair of local indices, tiers in order; tied answers make no pair.
    ///
    /// ```
    /// use rlhf::reward::Ranking;
    /// assert_eq!(Ranking::from_order(&[2, 0, 1]).pairs(), vec![(2, 0), (2, 1), (0, 1)]);
    /// // 0 and 1 tied: the pair (0, 1) is skipped.
    /// assert_eq!(Ranking::with_ties(vec![vec![0, 1], vec![2]]).pairs(), vec![(0, 2), (1, 2)]);
    /// ```
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (t, tier) in self.tiers.iter().enumerate() {
            for &better in tier {
                for later in &self.tiers[t + 1..] {
                    out.extend(later.iter().map(|&worse| (better, worse)));
                }
            }
        }
        out
    }

    /// Checks that the tiers hold each of `0..K` exactly once (K = [`Ranking::num_answers`]).
    pub fn validate(&self) -> Result<()> {
        let k = self.num_answers();
        let mut seen = vec![false; k];
        for &i in self.tiers.iter().flatten() {
            if i >= k || std::mem::replace(&mut seen[i], true) {
                return Err(Error::op("Ranking", format!("tiers {:?} are not a partition of 0..{k}", self.tiers)));
            }
        }
        Ok(())
    }
}

/// One prompt's answers inside a batch of rewards: they sit at `offset..offset + K` of `r`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankedGroup {
    /// Where this prompt's first answer is in the batch.
    pub offset: usize,
    /// The ranking of its K answers (local indices).
    pub ranking: Ranking,
}

/// The pairs of a batch as index tensors and per-pair weights, built once per batch.
#[derive(Clone, Debug)]
pub struct PairIndex {
    /// I64 `[P]`: batch index of the better answer of each pair.
    pub better: Tensor,
    /// I64 `[P]`: batch index of the worse answer.
    pub worse: Tensor,
    /// f32 `[P]`: `1 / (|pairs of its prompt| * prompts with a pair)`, so the weighted sum is the mean over
    /// prompts of each prompt's mean over its pairs.
    pub weight: Tensor,
    /// P, the number of pairs.
    pub num_pairs: usize,
}

impl PairIndex {
    /// The pairs of `groups` over a batch of `n` rewards. Prompts whose answers are all tied have no pair
    /// and do not count in the mean; a batch with no pair at all is an error.
    pub fn new(groups: &[RankedGroup], n: usize) -> Result<PairIndex> {
        let (mut better, mut worse, mut weight) = (Vec::new(), Vec::new(), Vec::new());
        let counted = groups.iter().filter(|g| !g.ranking.pairs().is_empty()).count();
        for g in groups {
            g.ranking.validate()?;
            if g.offset + g.ranking.num_answers() > n {
                return Err(Error::op(
                    "ranking_loss",
                    format!("group at {} with {} answers overruns {n} rewards", g.offset, g.ranking.num_answers()),
                ));
            }
            let pairs = g.ranking.pairs();
            let w = 1.0 / (pairs.len() as f64 * counted as f64);
            for (b, l) in pairs {
                better.push((g.offset + b) as i64);
                worse.push((g.offset + l) as i64);
                weight.push(w as f32);
            }
        }
        if better.is_empty() {
            return Err(Error::op("ranking_loss", "no (better, worse) pair in the batch: every ranking is all ties"));
        }
        let p = better.len();
        Ok(PairIndex {
            better: Tensor::from_vec(better, &[p])?,
            worse: Tensor::from_vec(worse, &[p])?,
            weight: Tensor::from_vec(weight, &[p])?,
            num_pairs: p,
        })
    }
}

/// The ranking loss over rewards `r [N]` (each answer scored once) for the prompts in `groups`:
/// `mean over prompts of -1/|pairs| * sum over pairs of log sigmoid(r_better - r_worse)`.
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::reward::{ranking_loss, RankedGroup, Ranking};
/// let r = Var::leaf(Tensor::from_vec(vec![1.0f32, 0.0], &[2])?);
/// let groups = [RankedGroup { offset: 0, ranking: Ranking::from_order(&[0, 1]) }];
/// let loss = ranking_loss(&r, &groups)?;
/// // -log sigmoid(1) = log(1 + e^-1)
/// assert!((loss.item()? - (1.0 + (-1.0f32).exp()).ln()).abs() < 1e-6);
/// loss.backward()?;
/// # Ok::<(), engine::Error>(())
/// ```
pub fn ranking_loss(rewards: &Var, groups: &[RankedGroup]) -> Result<Var> {
    if rewards.rank() != 1 {
        return Err(Error::op("ranking_loss", format!("rewards must be [N], got {:?}", rewards.shape())));
    }
    let pairs = PairIndex::new(groups, rewards.shape()[0])?;
    ranking_loss_with(rewards, &pairs)
}

/// [`ranking_loss`] with the pair index built beforehand.
pub fn ranking_loss_with(rewards: &Var, pairs: &PairIndex) -> Result<Var> {
    // r [N] -> r_better, r_worse [P]
    let margin = rewards.index_select(0, &pairs.better)?.sub(&rewards.index_select(0, &pairs.worse)?)?;
    margin.log_sigmoid()?.mul(&Var::constant(pairs.weight.clone()))?.sum_all()?.neg()
}

/// The naive oracle of [`ranking_loss`], in f64 over plain numbers, with the same rules (ties skipped,
/// all-tied prompts left out of the mean).
pub fn ranking_loss_reference(rewards: &[f64], groups: &[RankedGroup]) -> f64 {
    let log_sigmoid = |x: f64| if x >= 0.0 { -(-x).exp().ln_1p() } else { x - x.exp().ln_1p() };
    let mut total = 0.0;
    let mut counted = 0usize;
    for g in groups {
        let pairs = g.ranking.pairs();
        if pairs.is_empty() {
            continue;
        }
        let sum: f64 = pairs.iter().map(|&(b, w)| log_sigmoid(rewards[g.offset + b] - rewards[g.offset + w])).sum();
        total += -sum / pairs.len() as f64;
        counted += 1;
    }
    total / counted as f64
}
