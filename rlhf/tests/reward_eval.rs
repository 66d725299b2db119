//! Evaluation on synthetic rankings: pairwise accuracy of perfect, reversed and constant scorers; Elo
//! ratings recovering known true scores; rank correlations; reward normalisation.
use engine::rng::Rng;
use rlhf::reward::{
    apply_bias, bradley_terry, compare_orderings, elo_games, elo_ratings, kendall_tau, normalization_bias, pairwise_accuracy, spearman,
    EloOptions, RankedGroup, Ranking,
};

/// `n_rankings` rankings of `k` distinct players drawn from `true_scores`, ordered by the true score plus
/// Gumbel noise of scale `noise` (0 = exact; the Plackett–Luce model, Bradley–Terry for pairs).
fn synthetic_rankings(true_scores: &[f64], n_rankings: usize, k: usize, noise: f64, seed: u64) -> Vec<(Vec<usize>, Ranking)> {
    let mut rng = Rng::new(seed);
    (0..n_rankings)
        .map(|_| {
            let mut all: Vec<usize> = (0..true_scores.len()).collect();
            rng.shuffle(&mut all);
            let players: Vec<usize> = all[..k].to_vec();
            let noisy: Vec<f64> = players
                .iter()
                .map(|&p| true_scores[p] + noise * -(-(rng.next_f64().max(1e-12)).ln()).ln())
                .collect();
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &b| noisy[b].total_cmp(&noisy[a]));
            (players, Ranking::from_order(&order))
        })
        .collect()
}

/// The rankings as groups over a flat score vector: answer slot `offset + i` is player `players[i]`.
fn as_groups(rankings: &[(Vec<usize>, Ranking)]) -> (Vec<RankedGroup>, Vec<usize>) {
    let mut groups = Vec::new();
    let mut slots = Vec::new();
    for (players, ranking) in rankings {
        groups.push(RankedGroup { offset: slots.len(), ranking: ranking.clone() });
        slots.extend(players);
    }
    (groups, slots)
}

fn true_scores() -> Vec<f64> {
    // Ten players in a scrambled order, so recovering the order is not recovering the indices.
    vec![0.3, 2.1, -1.0, 1.2, 0.0, -2.2, 3.0, -0.4, 1.6, 0.8]
}

#[test]
fn accuracy_of_perfect_reversed_and_constant_scorers() {
    let truth = true_scores();
    let rankings = synthetic_rankings(&truth, 50, 5, 0.0, 1);
    let (groups, slots) = as_groups(&rankings);
    let perfect: Vec<f32> = slots.iter().map(|&p| truth[p] as f32).collect();
    let reversed: Vec<f32> = perfect.iter().map(|s| -s).collect();
    let constant = vec![0.7f32; slots.len()];
    let acc = pairwise_accuracy(&perfect, &groups).unwrap();
    assert_eq!(acc.pairs, 50 * 10);
    assert_eq!(acc.accuracy(), 1.0);
    assert_eq!(pairwise_accuracy(&reversed, &groups).unwrap().accuracy(), 0.0);
    assert_eq!(pairwise_accuracy(&constant, &groups).unwrap().accuracy(), 0.5);
    // Noisy rankings: a perfect scorer agrees with most pairs but not all.
    let noisy = synthetic_rankings(&truth, 200, 5, 1.0, 2);
    let (groups, slots) = as_groups(&noisy);
    let perfect: Vec<f32> = slots.iter().map(|&p| truth[p] as f32).collect();
    let a = pairwise_accuracy(&perfect, &groups).unwrap().accuracy();
    assert!(a > 0.6 && a < 1.0, "accuracy on noisy rankings {a}");
}

#[test]
fn ranking_ties_are_skipped_in_accuracy() {
    let groups = [RankedGroup { offset: 0, ranking: Ranking::with_ties(vec![vec![0, 1], vec![2]]) }];
    // Only (0, 2) and (1, 2) count; the order of 0 and 1 does not matter.
    let a = pairwise_accuracy(&[1.0, 2.0, 0.0], &groups).unwrap();
    assert_eq!((a.pairs, a.correct), (2, 2.0));
    let b = pairwise_accuracy(&[1.0, -1.0, 0.0], &groups).unwrap();
    assert_eq!((b.pairs, b.correct), (2, 1.0));
}

#[test]
fn elo_recovers_the_true_order() {
    let truth = true_scores();
    let rankings = synthetic_rankings(&truth, 300, 4, 0.0, 7);
    let games = elo_games(&rankings).unwrap();
    assert_eq!(games.len(), 300 * 6);
    let elo = elo_ratings(truth.len(), &games, &EloOptions::default()).unwrap();
    let cmp = compare_orderings(&elo, &truth).unwrap();
    println!("Elo {elo:.0?}\nElo order {:?}\ntrue order {:?}", cmp.elo_order, cmp.reward_order);
    assert_eq!(cmp.elo_order, cmp.reward_order);
    assert_eq!(cmp.spearman, 1.0);
    assert_eq!(cmp.kendall, 1.0);
    // Deterministic: the same games give the same ratings.
    assert_eq!(elo, elo_ratings(truth.len(), &games, &EloOptions::default()).unwrap());
    // Zero-sum updates: the mean rating stays at the initial one.
    let mean = elo.iter().sum::<f64>() / elo.len() as f64;
    assert!((mean - 1500.0).abs() < 1e-6);
}

#[test]
fn elo_on_noisy_rankings_agrees_with_the_truth() {
    let truth = true_scores();
    let rankings = synthetic_rankings(&truth, 600, 4, 1.0, 8);
    let elo = elo_ratings(truth.len(), &elo_games(&rankings).unwrap(), &EloOptions::default()).unwrap();
    let cmp = compare_orderings(&elo, &truth).unwrap();
    println!("noisy: spearman {:.3}, kendall {:.3}", cmp.spearman, cmp.kendall);
    assert!(cmp.spearman > 0.9, "{cmp:?}");
    assert!(cmp.kendall > 0.75, "{cmp:?}");
    // A reward model that scores players by their true scores agrees with Elo as well; a reversed one does not.
    let reversed: Vec<f64> = truth.iter().map(|s| -s).collect();
    assert!(compare_orderings(&elo, &reversed).unwrap().spearman < -0.9);
}

#[test]
fn tied_tiers_are_draws_in_elo() {
    let rankings = vec![(vec![0, 1, 2], Ranking::with_ties(vec![vec![0, 1], vec![2]]))];
    let games = elo_games(&rankings).unwrap();
    assert_eq!(games.len(), 3);
    assert_eq!(games[0].score_a, 0.5);
    let elo = elo_ratings(3, &games, &EloOptions::default()).unwrap();
    // The two tied answers end close (sequential Elo is order-dependent: 0 plays 2 before 1 does) and both
    // well above the answer they beat.
    assert!((elo[0] - elo[1]).abs() < 5.0 && elo[1] > elo[2] + 100.0, "{elo:?}");
    assert!(elo_ratings(2, &games, &EloOptions::default()).is_err());
}

#[test]
fn rank_correlations_on_known_values() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, 3.0, 2.0, 4.0];
    // One discordant pair of six: (5 - 1) / 6. Spearman: 1 - 6 * 2 / (4 * 15) = 0.8.
    assert!((kendall_tau(&x, &y).unwrap() - 4.0 / 6.0).abs() < 1e-12);
    assert!((spearman(&x, &y).unwrap() - 0.8).abs() < 1e-12);
    // Ties take average ranks: x ranks [1, 2.5, 2.5, 4].
    let xt = [1.0, 2.0, 2.0, 3.0];
    let s = spearman(&xt, &x).unwrap();
    assert!((s - 0.9486832980505138).abs() < 1e-12, "{s}");
    assert!(spearman(&[1.0], &[1.0]).is_err());
}

#[test]
fn normalisation_centres_the_sft_scores() {
    let mut rng = Rng::new(3);
    let scores: Vec<f32> = (0..1000).map(|_| rng.normal(2.5, 1.3)).collect();
    let b = normalization_bias(&scores).unwrap();
    let centred = apply_bias(&scores, b);
    let mean: f64 = centred.iter().map(|&s| s as f64).sum::<f64>() / centred.len() as f64;
    assert!(mean.abs() < 1e-5, "mean after normalisation {mean}");
    assert!((b + 2.5).abs() < 0.15, "bias {b}");
    // Differences, and so every comparison, are unchanged.
    assert!(((centred[0] - centred[1]) - (scores[0] - scores[1])).abs() < 1e-5);
    assert!(normalization_bias(&[]).is_err());
    assert!(normalization_bias(&[1.0, f32::NAN]).is_err());
}

#[test]
fn sequential_elo_settles_near_the_bradley_terry_fit() {
    let truth = true_scores();
    let rankings = synthetic_rankings(&truth, 600, 4, 1.0, 9);
    let games = elo_games(&rankings).unwrap();
    let elo = elo_ratings(truth.len(), &games, &EloOptions::default()).unwrap();
    let bt = bradley_terry(truth.len(), &games, 500).unwrap();
    let cmp = compare_orderings(&elo, &bt).unwrap();
    println!("Elo {elo:.0?}\nBT  {bt:.0?}\nspearman {:.3}", cmp.spearman);
    assert!(cmp.spearman > 0.95, "{cmp:?}");
    for (e, b) in elo.iter().zip(&bt) {
        assert!((e - b).abs() < 30.0, "Elo {e:.0} is far from Bradley-Terry {b:.0}");
    }
    assert!(compare_orderings(&bt, &truth).unwrap().spearman > 0.9);
    // Order-independent: the games reversed give the same fit.
    let reversed: Vec<_> = games.iter().rev().copied().collect();
    let bt2 = bradley_terry(truth.len(), &reversed, 500).unwrap();
    for (a, b) in bt.iter().zip(&bt2) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // Gumbel noise of scale 1 is Plackett-Luce with strengths e^score: the fitted log-strength gaps
    // (400 log10 e per unit of score on the Elo scale) follow the true gaps.
    let per_unit = 400.0 * std::f64::consts::LOG10_E;
    let (lo, hi) = (5, 6); // the weakest (-2.2) and strongest (3.0) players
    let gap = (bt[hi] - bt[lo]) / per_unit;
    assert!((gap - 5.2).abs() < 1.0, "fitted score gap {gap:.2}, true 5.2");
}
