//! Evaluating a reward model on held-out rankings, and Elo ratings from the same rankings for teaching.
//!
//! **Pairwise accuracy** is the fraction of ordered (better, worse) pairs of the rankings whose scores
//! agree, `r_better > r_worse`. Tied pairs in the *ranking* are skipped (they say nothing about order);
//! tied *scores* (`r_better == r_worse`) count half, so a constant scorer gets exactly 0.5, chance.
//!
//! **Elo.** Each ranking becomes games between its answers (players): every answer beats every answer of
//! a later tier, answers in one tier draw. Ratings start at [`EloOptions::initial`] and the games are
//! played in their given order (rankings in order, pairs in ranking order, so the result is
//! deterministic) with the standard update `R_a += K (S_a - E_a)`, `E_a = 1 / (1 + 10^((R_b - R_a) / 400))`.
//! One pass of sequential Elo depends on the order of the games; so the games are replayed
//! [`EloOptions::passes`] times with the K-factor shrinking as `K / (pass + 1)`, which settles the
//! ratings near the Bradley–Terry fit of the same games (the model the reward model's loss assumes:
//! `P(a beats b) = sigmoid(r_a - r_b)`, with `r = R ln 10 / 400`; [`bradley_terry`] fits it directly, and
//! the `reward_eval` test finds the two within 30 points of each other on 600 noisy rankings). Players must be comparable: the
//! answers of one prompt, or kinds of answer (sources, checkpoints) that recur across prompts.
//!
//! [`compare_orderings`] puts the Elo ordering beside the reward model's and gives their Spearman and
//! Kendall rank correlations.
use std::cmp::Ordering;

use engine::{Error, Result};

use super::loss::{RankedGroup, Ranking};

/// Pairwise accuracy on rankings: `correct` counts agreeing pairs (score ties as half).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairwiseAccuracy {
    /// Pairs with `r_better > r_worse`, plus half the pairs with equal scores.
    pub correct: f64,
    /// (better, worse) pairs compared.
    pub pairs: usize,
}

impl PairwiseAccuracy {
    /// `correct / pairs` (0.5, chance, when there is no pair).
    pub fn accuracy(&self) -> f64 {
        if self.pairs == 0 {
            0.5
        } else {
            self.correct / self.pairs as f64
        }
    }
}

/// Pairwise accuracy of `scores` (one per answer, the prompts' answers at their groups' offsets, as in a
/// [`super::KwiseBatch`]) against the rankings of `groups`.
///
/// ```
/// use rlhf::reward::{pairwise_accuracy, RankedGroup, Ranking};
/// let groups = [RankedGroup { offset: 0, ranking: Ranking::from_order(&[0, 1, 2]) }];
/// assert_eq!(pairwise_accuracy(&[3.0, 2.0, 1.0], &groups)?.accuracy(), 1.0);
/// assert_eq!(pairwise_accuracy(&[1.0, 1.0, 1.0], &groups)?.accuracy(), 0.5); // ties count half
/// # Ok::<(), engine::Error>(())
/// ```
pub fn pairwise_accuracy(scores: &[f32], groups: &[RankedGroup]) -> Result<PairwiseAccuracy> {
    let mut out = PairwiseAccuracy { correct: 0.0, pairs: 0 };
    for g in groups {
        g.ranking.validate()?;
        if g.offset + g.ranking.num_answers() > scores.len() {
            return Err(Error::op("pairwise_accuracy", format!("group at {} overruns {} scores", g.offset, scores.len())));
        }
        for (b, w) in g.ranking.pairs() {
            let (rb, rw) = (scores[g.offset + b], scores[g.offset + w]);
            out.pairs += 1;
            out.correct += match rb.partial_cmp(&rw) {
                Some(Ordering::Greater) => 1.0,
                Some(Ordering::Equal) => 0.5,
                _ => 0.0,
            };
        }
    }
    Ok(out)
}

/// One game between two players: `score_a` is 1 when `a` won, 0.5 for a draw, 0 when `b` won.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Game {
    /// First player.
    pub a: usize,
    /// Second player.
    pub b: usize,
    /// `a`'s result.
    pub score_a: f64,
}

/// The games of `rankings`: each ranking's local answer `i` is the player `players[i]`. Every answer beats
/// every answer of a later tier (a win for the better one, listed as `a`); answers in one tier draw.
pub fn elo_games(rankings: &[(Vec<usize>, Ranking)]) -> Result<Vec<Game>> {
    let mut games = Vec::new();
    for (players, ranking) in rankings {
        ranking.validate()?;
        if players.len() != ranking.num_answers() {
            return Err(Error::op("elo_games", format!("{} players for {} ranked answers", players.len(), ranking.num_answers())));
        }
        for (t, tier) in ranking.tiers.iter().enumerate() {
            for (i, &x) in tier.iter().enumerate() {
                for &y in &tier[i + 1..] {
                    games.push(Game { a: players[x], b: players[y], score_a: 0.5 });
                }
            }
            for &better in tier {
                for later in &ranking.tiers[t + 1..] {
                    games.extend(later.iter().map(|&worse| Game { a: players[better], b: players[worse], score_a: 1.0 }));
                }
            }
        }
    }
    Ok(games)
}

/// Settings of [`elo_ratings`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EloOptions {
    /// Every player's starting rating (1500).
    pub initial: f64,
    /// The K-factor of the first pass (32, chess's usual); pass `p` uses `k_factor / (p + 1)`.
    pub k_factor: f64,
    /// How many times the games are replayed (20).
    pub passes: usize,
}

impl Default for EloOptions {
    fn default() -> Self {
        EloOptions { initial: 1500.0, k_factor: 32.0, passes: 20 }
    }
}

/// Elo ratings of `num_players` players from `games`, played in order (see the module documentation).
///
/// ```
/// use rlhf::reward::{elo_games, elo_ratings, EloOptions, Ranking};
/// // Player 2 beats 0 beats 1, in three rankings.
/// let r = (vec![0, 1, 2], Ranking::from_order(&[2, 0, 1]));
/// let games = elo_games(&[r.clone(), r.clone(), r])?;
/// let elo = elo_ratings(3, &games, &EloOptions::default())?;
/// assert!(elo[2] > elo[0] && elo[0] > elo[1]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn elo_ratings(num_players: usize, games: &[Game], options: &EloOptions) -> Result<Vec<f64>> {
    if let Some(g) = games.iter().find(|g| g.a >= num_players || g.b >= num_players) {
        return Err(Error::op("elo_ratings", format!("game {g:?} names a player outside 0..{num_players}")));
    }
    let mut rating = vec![options.initial; num_players];
    for pass in 0..options.passes {
        let k = options.k_factor / (pass + 1) as f64;
        for g in games {
            let expected_a = 1.0 / (1.0 + 10f64.powf((rating[g.b] - rating[g.a]) / 400.0));
            let delta = k * (g.score_a - expected_a);
            rating[g.a] += delta;
            rating[g.b] -= delta;
        }
    }
    Ok(rating)
}

/// Bradley–Terry strengths of the same games, order-independent, on Elo's scale (`1500 + 400 log10(p)`,
/// geometric mean strength at 1500), for checking sequential Elo against.
///
/// Fitted by Hunter's MM iteration `p_i <- W_i / sum_j n_ij / (p_i + p_j)` (a draw is half a win for each
/// side), run `iterations` times. So that a player who never lost (or never won) keeps a finite strength,
/// every player also plays one virtual drawn game against a fixed player of strength 1 (a weak prior).
pub fn bradley_terry(num_players: usize, games: &[Game], iterations: usize) -> Result<Vec<f64>> {
    if let Some(g) = games.iter().find(|g| g.a >= num_players || g.b >= num_players) {
        return Err(Error::op("bradley_terry", format!("game {g:?} names a player outside 0..{num_players}")));
    }
    let mut wins = vec![0.5f64; num_players]; // the virtual draw
    for g in games {
        wins[g.a] += g.score_a;
        wins[g.b] += 1.0 - g.score_a;
    }
    let mut p = vec![1.0f64; num_players];
    for _ in 0..iterations {
        let mut denom: Vec<f64> = p.iter().map(|&pi| 1.0 / (pi + 1.0)).collect(); // the virtual game
        for g in games {
            let d = 1.0 / (p[g.a] + p[g.b]);
            denom[g.a] += d;
            denom[g.b] += d;
        }
        for i in 0..num_players {
            p[i] = wins[i] / denom[i];
        }
    }
    let mean_log = p.iter().map(|x| x.log10()).sum::<f64>() / num_players.max(1) as f64;
    Ok(p.iter().map(|x| 1500.0 + 400.0 * (x.log10() - mean_log)).collect())
}

/// Ranks `1..=n` of `values` (1 = smallest), ties given their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let avg = (start + end + 1) as f64 / 2.0; // ranks start+1 ..= end
        for &i in &order[start..end] {
            ranks[i] = avg;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation, 0 when either side is constant.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Spearman's rank correlation (Pearson on average ranks): 1 for the same order, -1 for the reverse.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("spearman", x, y)?;
    Ok(pearson(&average_ranks(x), &average_ranks(y)))
}

/// Kendall's tau-b: (concordant - discordant) pairs over `sqrt((n0 - ties_x)(n0 - ties_y))`.
///
/// ```
/// use rlhf::reward::{kendall_tau, spearman};
/// assert_eq!(kendall_tau(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0])?, 1.0);
/// assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0])?, -1.0);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn kendall_tau(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("kendall_tau", x, y)?;
    let (mut concordant, mut discordant, mut ties_x, mut ties_y, mut n0) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            n0 += 1;
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            if dx == 0.0 {
                ties_x += 1;
            }
            if dy == 0.0 {
                ties_y += 1;
            }
            if dx * dy > 0.0 {
                concordant += 1;
            } else if dx * dy < 0.0 {
                discordant += 1;
            }
        }
    }
    let denom = (((n0 - ties_x) * (n0 - ties_y)) as f64).sqrt();
    Ok(if denom == 0.0 { 0.0 } else { (concordant - discordant) as f64 / denom })
}

fn check_pair(op: &'static str, x: &[f64], y: &[f64]) -> Result<()> {
    if x.len() != y.len() || x.len() < 2 {
        return Err(Error::op(op, format!("needs two series of equal length >= 2, got {} and {}", x.len(), y.len())));
    }
    Ok(())
}

/// The Elo ordering beside the reward model's, for a report.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderingComparison {
    /// Players from the highest Elo rating to the lowest (ties by player index).
    pub elo_order: Vec<usize>,
    /// Players from the highest reward to the lowest (ties by player index).
    pub reward_order: Vec<usize>,
    /// Spearman's rank correlation of the two.
    pub spearman: f64,
    /// Kendall's tau-b of the two.
    pub kendall: f64,
}

/// Both orderings of the same players (`elo[i]` and `reward[i]` belong to player `i`) and their rank
/// correlations.
pub fn compare_orderings(elo: &[f64], reward: &[f64]) -> Result<OrderingComparison> {
    let order = |v: &[f64]| {
        let mut o: Vec<usize> = (0..v.len()).collect();
        o.sort_by(|&i, &j| v[j].total_cmp(&v[i]).then(i.cmp(&j)));
        o
    };
    Ok(OrderingComparison {
        elo_order: order(elo),
        reward_order: order(reward),
        spearman: spearman(elo, reward)?,
        kendall: kendall_tau(elo, reward)?,
    })
}
