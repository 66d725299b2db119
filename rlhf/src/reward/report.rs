//! What a trained reward model is reported with: held-out loss and pairwise accuracy, Elo ratings from the
//! held-out rankings beside the model's scores (players: kinds of answer, e.g. right/wrong x polite/curt x
//! concise/long for the built-in world), the per-prompt agreement of the model's order with the labeler's
//! (Kendall's tau), and the cost of K-wise batching against feeding each pair on its own.
use std::time::Instant;

use engine::Result;
use serde::Serialize;

use super::batching::{pack_kwise, ForwardPasses, KwiseExample, Padding};
use super::eval::{bradley_terry, compare_orderings, elo_games, elo_ratings, kendall_tau, pairwise_accuracy, EloOptions};
use super::loss::{ranking_loss_reference, RankedGroup, Ranking};
use super::trunk::{RewardModel, RewardTrunk};
use crate::world::grade_prompt;

/// Loss and pairwise accuracy on a set of rankings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankingEval {
    /// The ranking loss (mean over prompts of the mean over pairs).
    pub loss: f64,
    /// Pairwise accuracy (score ties count half).
    pub accuracy: f64,
    /// (better, worse) pairs compared.
    pub pairs: usize,
    /// Prompts (rankings).
    pub prompts: usize,
}

/// Each example's group in a flat list of scores (answers in example order).
pub fn groups_of(examples: &[KwiseExample]) -> Vec<RankedGroup> {
    let mut offset = 0;
    examples
        .iter()
        .map(|e| {
            let g = RankedGroup { offset, ranking: e.ranking.clone() };
            offset += e.answers.len();
            g
        })
        .collect()
}

/// Loss and accuracy of `scores` (every answer of `examples`, in order).
///
/// ```
/// use rlhf::reward::{KwiseExample, Ranking};
/// use rlhf::reward::report::evaluate_scores;
/// let ex = KwiseExample { prompt: vec![1], answers: vec![vec![2], vec![3], vec![4]], ranking: Ranking::from_order(&[2, 0, 1]) };
/// let e = evaluate_scores(&[0.5, 0.0, 1.0], &[ex])?;
/// assert_eq!((e.accuracy, e.pairs, e.prompts), (1.0, 3, 1));
/// # Ok::<(), engine::Error>(())
/// ```
pub fn evaluate_scores(scores: &[f32], examples: &[KwiseExample]) -> Result<RankingEval> {
    let groups = groups_of(examples);
    let acc = pairwise_accuracy(scores, &groups)?;
    let r: Vec<f64> = scores.iter().map(|&x| x as f64).collect();
    let loss = if groups.is_empty() { f64::NAN } else { ranking_loss_reference(&r, &groups) };
    Ok(RankingEval { loss, accuracy: acc.accuracy(), pairs: acc.pairs, prompts: examples.len() })
}

/// The kinds of world answer the Elo comparison uses as players: right or wrong, polite or not, concise or long.
pub const WORLD_KINDS: [&str; 8] = [
    "wrong, curt, long",
    "wrong, curt, concise",
    "wrong, polite, long",
    "wrong, polite, concise",
    "right, curt, long",
    "right, curt, concise",
    "right, polite, long",
    "right, polite, concise",
];

/// The [`WORLD_KINDS`] index of an answer to a world prompt (`None` for other prompts).
pub fn world_answer_kind(prompt: &str, answer: &str) -> Option<usize> {
    let g = grade_prompt(prompt, answer)?;
    Some(4 * g.correct as usize + 2 * g.polite as usize + g.concise as usize)
}

/// Elo ratings of kinds of answer from rankings, beside the reward model's mean score per kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EloBesideReward {
    /// The kinds present (players), by name.
    pub players: Vec<String>,
    /// Answers of each kind.
    pub answers: Vec<usize>,
    /// Sequential Elo from the rankings' games.
    pub elo: Vec<f64>,
    /// Bradley–Terry strengths of the same games on Elo's scale (order-independent).
    pub bradley_terry: Vec<f64>,
    /// The reward model's mean score per kind, each score taken relative to the mean score of its
    /// prompt's answers (Elo, too, only compares answers to one prompt).
    pub mean_reward: Vec<f64>,
    /// Kinds from the highest Elo to the lowest.
    pub elo_order: Vec<String>,
    /// Kinds from the highest mean reward to the lowest.
    pub reward_order: Vec<String>,
    /// Spearman's rank correlation of the two orderings.
    pub spearman: f64,
    /// Kendall's tau-b of the two orderings.
    pub kendall: f64,
}

/// Elo of answer kinds from the rankings of `examples` beside the mean reward per kind (relative to each
/// prompt's mean). `kinds[i]` is the
/// kind of answer `i` (flat, as `scores`), `None` when unknown; `None` overall when fewer than two kinds
/// appear or an answer has no kind.
pub fn elo_beside_reward(examples: &[KwiseExample], scores: &[f32], kinds: &[Option<usize>], names: &[&str]) -> Result<Option<EloBesideReward>> {
    if kinds.iter().any(Option::is_none) || kinds.len() != scores.len() {
        return Ok(None);
    }
    let kinds: Vec<usize> = kinds.iter().map(|k| k.expect("checked")).collect();
    // Players are the kinds that appear, renumbered 0..n.
    let mut present: Vec<usize> = kinds.clone();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        return Ok(None);
    }
    let player = |kind: usize| present.binary_search(&kind).expect("present");
    let n = present.len();
    let groups = groups_of(examples);
    let rankings: Vec<(Vec<usize>, Ranking)> = groups
        .iter()
        .map(|g| ((g.offset..g.offset + g.ranking.num_answers()).map(|i| player(kinds[i])).collect(), g.ranking.clone()))
        .collect();
    let games = elo_games(&rankings)?;
    let elo = elo_ratings(n, &games, &EloOptions::default())?;
    let bt = bradley_terry(n, &games, 200)?;
    // Elo only ever compares answers to the same prompt, and a reward model's scale shifts from prompt
    // to prompt; so each score counts relative to its prompt's mean score.
    let mut relative = vec![0.0f64; scores.len()];
    for g in &groups {
        let k = g.ranking.num_answers();
        let mean = scores[g.offset..g.offset + k].iter().map(|&x| x as f64).sum::<f64>() / k as f64;
        for i in g.offset..g.offset + k {
            relative[i] = scores[i] as f64 - mean;
        }
    }
    let (mut sum, mut count) = (vec![0.0f64; n], vec![0usize; n]);
    for (&k, &s) in kinds.iter().zip(&relative) {
        sum[player(k)] += s;
        count[player(k)] += 1;
    }
    let mean_reward: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
    let cmp = compare_orderings(&elo, &mean_reward)?;
    let name = |p: usize| names.get(present[p]).map(|s| s.to_string()).unwrap_or_else(|| format!("kind {}", present[p]));
    Ok(Some(EloBesideReward {
        players: (0..n).map(name).collect(),
        answers: count,
        elo,
        bradley_terry: bt,
        mean_reward,
        elo_order: cmp.elo_order.iter().map(|&p| name(p)).collect(),
        reward_order: cmp.reward_order.iter().map(|&p| name(p)).collect(),
        spearman: cmp.spearman,
        kendall: cmp.kendall,
    }))
}

/// The mean over prompts of Kendall's tau-b between the labeler's order (tiers) and the model's scores,
/// over the prompts whose answers are not all tied; `None` when there is none.
pub fn per_prompt_kendall(examples: &[KwiseExample], scores: &[f32]) -> Result<Option<f64>> {
    let (mut sum, mut n) = (0.0, 0usize);
    for g in groups_of(examples) {
        let k = g.ranking.num_answers();
        if k < 2 || g.ranking.tiers.len() < 2 {
            continue;
        }
        let mut label = vec![0.0; k];
        for (t, tier) in g.ranking.tiers.iter().enumerate() {
            for &i in tier {
                label[i] = -(t as f64); // better tiers higher
            }
        }
        let model: Vec<f64> = scores[g.offset..g.offset + k].iter().map(|&x| x as f64).collect();
        sum += kendall_tau(&label, &model)?;
        n += 1;
    }
    Ok((n > 0).then(|| sum / n as f64))
}

/// The cost of K-wise batching against feeding every pair as its own two sequences.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchingCost {
    /// Sequences per epoch of the training rankings, K-wise (each answer once).
    pub kwise_sequences: usize,
    /// Sequences per epoch if every (better, worse) pair were fed on its own.
    pub pairwise_sequences: usize,
    /// `pairwise / kwise` (K - 1 for strict rankings of K).
    pub ratio: f64,
    /// Prompts of the timed epoch (a small case).
    pub timed_prompts: usize,
    /// Wall time of that epoch (forward + backward), K-wise, seconds.
    pub kwise_epoch_s: f64,
    /// The same epoch with each pair as its own two sequences, seconds.
    pub pairwise_epoch_s: f64,
}

/// The sequence counts of `examples` (see [`ForwardPasses`]).
pub fn forward_passes(examples: &[KwiseExample]) -> ForwardPasses {
    ForwardPasses::of(&examples.iter().map(|e| e.ranking.clone()).collect::<Vec<_>>())
}

/// Times one epoch (forward and backward of the ranking loss, no optimizer step) over `examples`, K-wise
/// and pair by pair, `batch_prompts` prompts per batch either way. Leaves gradients in the parameters:
/// zero them afterwards.
pub fn time_epoch_both_ways<T: RewardTrunk>(
    model: &RewardModel<T>,
    examples: &[KwiseExample],
    pad_id: u32,
    padding: Padding,
    max_len: usize,
    batch_prompts: usize,
) -> Result<(f64, f64)> {
    let started = Instant::now();
    for chunk in examples.chunks(batch_prompts.max(1)) {
        let batch = pack_kwise(chunk, pad_id, padding, Some(max_len))?;
        model.loss(&batch)?.0.backward()?;
    }
    let kwise = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for chunk in examples.chunks(batch_prompts.max(1)) {
        let pairs: Vec<KwiseExample> = chunk
            .iter()
            .flat_map(|e| {
                e.ranking.pairs().into_iter().map(move |(b, w)| KwiseExample {
                    prompt: e.prompt.clone(),
                    answers: vec![e.answers[b].clone(), e.answers[w].clone()],
                    ranking: Ranking::from_order(&[0, 1]),
                })
            })
            .collect();
        let batch = pack_kwise(&pairs, pad_id, padding, Some(max_len))?;
        model.loss(&batch)?.0.backward()?;
    }
    Ok((kwise, started.elapsed().as_secs_f64()))
}
