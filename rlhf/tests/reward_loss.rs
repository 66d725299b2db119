//! The ranking loss: a hand-computed value, the f64 oracle for K = 2..9, finite-difference gradients, ties
//! skipped, and invariance to a constant added to every reward.
use autograd::gradcheck::{check_gradients, GradCheckOptions};
use autograd::Var;
use engine::rng::Rng;
use engine::Tensor;
use rlhf::reward::{ranking_loss, ranking_loss_reference, RankedGroup, Ranking};

fn rewards(values: &[f32]) -> Var {
    Var::leaf(Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
}

fn random_permutation(k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut p: Vec<usize> = (0..k).collect();
    rng.shuffle(&mut p);
    p
}

/// Groups for prompts with `ks` answers each, strictly ranked by random permutations, packed in order.
fn random_groups(ks: &[usize], rng: &mut Rng) -> (Vec<RankedGroup>, usize) {
    let mut offset = 0;
    let mut groups = Vec::new();
    for &k in ks {
        groups.push(RankedGroup { offset, ranking: Ranking::from_order(&random_permutation(k, rng)) });
        offset += k;
    }
    (groups, offset)
}

#[test]
fn loss_matches_a_hand_computed_value() {
    // Prompt 1: r = [2, 0.5, -1], ranked 0 > 1 > 2: margins 1.5, 3, 1.5.
    //   (2 ln(1 + e^-1.5) + ln(1 + e^-3)) / 3 = (2 * 0.2014133 + 0.0485874) / 3 = 0.1504713
    // Prompt 2: r = [0, 1], ranked 0 > 1: margin -1: ln(1 + e^1) = 1.3132617
    // Mean over prompts: 0.7318665
    let r = rewards(&[2.0, 0.5, -1.0, 0.0, 1.0]);
    let groups = [
        RankedGroup { offset: 0, ranking: Ranking::from_order(&[0, 1, 2]) },
        RankedGroup { offset: 3, ranking: Ranking::from_order(&[0, 1]) },
    ];
    let loss = ranking_loss(&r, &groups).unwrap();
    assert!((loss.item().unwrap() - 0.731_866_5).abs() < 1e-6, "loss {}", loss.item().unwrap());
    // The gradient of prompt 2's pair: d/dr3 = -sigmoid(-(-1)) / 2 = -0.7310586 / 2.
    loss.backward().unwrap();
    let g = r.grad().unwrap().to_vec::<f32>().unwrap();
    assert!((g[3] + 0.731_058_6 / 2.0).abs() < 1e-6, "grad {g:?}");
    assert!((g[4] - 0.731_058_6 / 2.0).abs() < 1e-6, "grad {g:?}");
    // Prompt 1, answer 0 is better in pairs of margin 1.5 and 3: -(sigmoid(-1.5) + sigmoid(-3)) / 3 / 2.
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let want0 = -(s(-1.5) + s(-3.0)) / 3.0 / 2.0;
    assert!((g[0] as f64 - want0).abs() < 1e-6, "grad {g:?} want {want0}");
}

#[test]
fn loss_matches_the_oracle_for_k_from_2_to_9() {
    let mut rng = Rng::new(11);
    for k in 2..=9 {
        let (groups, n) = random_groups(&[k, k, k], &mut rng);
        for g in &groups {
            assert_eq!(g.ranking.pairs().len(), k * (k - 1) / 2);
        }
        let values: Vec<f32> = (0..n).map(|_| rng.normal(0.0, 2.0)).collect();
        let loss = ranking_loss(&rewards(&values), &groups).unwrap().item().unwrap() as f64;
        let want = ranking_loss_reference(&values.iter().map(|&v| v as f64).collect::<Vec<_>>(), &groups);
        assert!((loss - want).abs() < 1e-5 * want.max(1.0), "K={k}: {loss} vs oracle {want}");
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let mut rng = Rng::new(3);
    // Prompts of every K from 2 to 9 in one batch, plus one with a tie.
    let (mut groups, n) = random_groups(&[2, 3, 4, 5, 6, 7, 8, 9], &mut rng);
    groups.push(RankedGroup { offset: n, ranking: Ranking::with_ties(vec![vec![1], vec![0, 2], vec![3]]) });
    let n = n + 4;
    let values = Tensor::randn(&[n], 0.0, 1.5, &mut rng).unwrap();
    let report = check_gradients(|v| ranking_loss(&v[0], &groups), &[values], &GradCheckOptions::default()).unwrap();
    assert_eq!(report.checked, n);
    assert!(report.max_abs_error < 5e-4, "{report:?}");
}

#[test]
fn ties_are_skipped() {
    let tied = [RankedGroup { offset: 0, ranking: Ranking::with_ties(vec![vec![0, 1], vec![2]]) }];
    // Only (0, 2) and (1, 2): margins 1 and -0.5.
    let r = rewards(&[1.0, -0.5, 0.0]);
    let loss = ranking_loss(&r, &tied).unwrap();
    let want = ((1.0f64 + (-1.0f64).exp()).ln() + (1.0f64 + 0.5f64.exp()).ln()) / 2.0;
    assert!((loss.item().unwrap() as f64 - want).abs() < 1e-6);
    // Swapping the two tied rewards changes nothing.
    let swapped = ranking_loss(&rewards(&[-0.5, 1.0, 0.0]), &tied).unwrap();
    assert!((swapped.item().unwrap() - loss.item().unwrap()).abs() < 1e-7);
    // A prompt whose answers are all tied adds no pair and does not count in the mean.
    let with_all_tied = [
        tied[0].clone(),
        RankedGroup { offset: 3, ranking: Ranking::with_ties(vec![vec![0, 1]]) },
    ];
    let l2 = ranking_loss(&rewards(&[1.0, -0.5, 0.0, 5.0, -5.0]), &with_all_tied).unwrap();
    assert!((l2.item().unwrap() - loss.item().unwrap()).abs() < 1e-7);
    // A batch with nothing but ties is an error, not a NaN.
    let only_ties = [RankedGroup { offset: 0, ranking: Ranking::with_ties(vec![vec![0, 1]]) }];
    assert!(ranking_loss(&rewards(&[0.0, 1.0]), &only_ties).is_err());
}

#[test]
fn loss_is_invariant_to_a_constant_added_to_every_reward() {
    let mut rng = Rng::new(5);
    let (groups, n) = random_groups(&[4, 6, 9], &mut rng);
    let values: Vec<f32> = (0..n).map(|_| rng.normal(0.0, 1.0)).collect();
    let base = ranking_loss(&rewards(&values), &groups).unwrap().item().unwrap();
    for c in [-7.0f32, 0.25, 3.0, 40.0] {
        let shifted: Vec<f32> = values.iter().map(|v| v + c).collect();
        let l = ranking_loss(&rewards(&shifted), &groups).unwrap().item().unwrap();
        assert!((l - base).abs() < 1e-5, "shift {c}: {l} vs {base}");
    }
    // And the gradient sums to zero over each prompt (a constant direction changes nothing).
    let r = rewards(&values);
    ranking_loss(&r, &groups).unwrap().backward().unwrap();
    let g = r.grad().unwrap().to_vec::<f32>().unwrap();
    for grp in &groups {
        let s: f32 = g[grp.offset..grp.offset + grp.ranking.num_answers()].iter().sum();
        assert!(s.abs() < 1e-6, "prompt at {}: gradient sums to {s}", grp.offset);
    }
}

#[test]
fn bad_rankings_are_errors() {
    let r = rewards(&[0.0, 1.0, 2.0]);
    let dup = [RankedGroup { offset: 0, ranking: Ranking::from_order(&[0, 0, 1]) }];
    assert!(ranking_loss(&r, &dup).is_err());
    let overrun = [RankedGroup { offset: 2, ranking: Ranking::from_order(&[0, 1]) }];
    assert!(ranking_loss(&r, &overrun).is_err());
}

#[test]
fn rankings_records_become_rankings() {
    use rlhf::data::RankingRecord;
    use rlhf::world::ScriptedLabeler;
    let answers = vec!["84".to_string(), "Sure! 47 + 38 = 85.".to_string(), "85".to_string()];
    let record = RankingRecord::scripted(&ScriptedLabeler::new(0.0, 0), "What is 47 plus 38?", answers).unwrap();
    let ranking = Ranking::from_record(&record).unwrap();
    assert_eq!(ranking.pairs(), vec![(1, 2), (1, 0), (2, 0)]);
    let broken = RankingRecord { ranking: vec![0, 0, 1], ..record };
    assert!(Ranking::from_record(&broken).is_err());
}
