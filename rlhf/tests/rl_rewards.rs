//! The per-token reward: the KL penalty on every response token, the score on the last one of each row.
use engine::{DType, Tensor};
use rlhf::rl::rewards::{ends_with_eos, last_response_token, per_token_rewards, RewardOptions};

fn t(values: &[f32], b: usize, n: usize) -> Tensor {
    Tensor::from_vec(values.to_vec(), &[b, n]).unwrap()
}

#[test]
fn score_lands_on_last_token_of_right_padded_rows() {
    // Four right-padded rows of lengths 4, 2, 1 and 0.
    let (b, n) = (4, 4);
    let lengths = [4usize, 2, 1, 0];
    let mask: Vec<f32> = (0..b * n).map(|i| if i % n < lengths[i / n] { 1.0 } else { 0.0 }).collect();
    let logp: Vec<f32> = (0..b * n).map(|i| -0.1 * (i as f32 + 1.0)).collect();
    let logp_ref: Vec<f32> = (0..b * n).map(|i| -0.05 * (i as f32 + 2.0)).collect();
    let scores = [1.5f32, -2.0, 0.25, 7.0];
    let beta = 0.1;
    let options = RewardOptions { kl_beta: beta, ..Default::default() };
    let out = per_token_rewards(&scores, &t(&logp, b, n), &t(&logp_ref, b, n), &t(&mask, b, n), &[true; 4], &options)
        .unwrap();
    assert_eq!(out.last_token, vec![Some(3), Some(1), Some(0), None]);
    let r = out.rewards.to_vec::<f32>().unwrap();
    let kl = out.kl_penalty.to_vec::<f32>().unwrap();
    for row in 0..b {
        for j in 0..n {
            let i = row * n + j;
            let penalty = if j < lengths[row] { -beta * (logp[i] - logp_ref[i]) } else { 0.0 };
            let score = if j + 1 == lengths[row] { scores[row] } else { 0.0 };
            assert!((kl[i] - penalty).abs() < 1e-7, "kl row {row} token {j}: {} vs {penalty}", kl[i]);
            assert!((r[i] - (penalty + score)).abs() < 1e-6, "row {row} token {j}: {} vs {}", r[i], penalty + score);
        }
    }
    // The empty row's score is dropped, and reported as such.
    assert_eq!(out.scores, vec![1.5, -2.0, 0.25, 0.0]);
}

#[test]
fn last_token_follows_the_mask_not_the_row_end() {
    // Prompt tokens in front (masked out), the response in the middle, padding behind.
    let mask = t(&[0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0], 2, 4);
    assert_eq!(last_response_token(&mask).unwrap(), vec![Some(2), Some(3)]);
    let zeros = Tensor::zeros(&[2, 4], DType::F32).unwrap();
    let out = per_token_rewards(&[3.0, 4.0], &zeros, &zeros, &mask, &[true, true], &RewardOptions::default()).unwrap();
    assert_eq!(out.rewards.to_vec::<f32>().unwrap(), vec![0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 4.0]);
}

#[test]
fn missing_eos_penalty_and_clipping() {
    let tokens = Tensor::from_vec(vec![5i64, 2, 0, 5, 5, 5], &[2, 3]).unwrap();
    let mask = t(&[1.0, 1.0, 0.0, 1.0, 1.0, 1.0], 2, 3);
    let eos = 2;
    let ended = ends_with_eos(&tokens, &mask, eos).unwrap();
    assert_eq!(ended, vec![true, false]);
    // A masked-out EOS does not count as an ending.
    let masked_eos = Tensor::from_vec(vec![5i64, 5, 2], &[1, 3]).unwrap();
    assert_eq!(ends_with_eos(&masked_eos, &t(&[1.0, 1.0, 0.0], 1, 3), eos).unwrap(), vec![false]);

    let zeros = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let penalised = RewardOptions { kl_beta: 0.02, missing_eos_penalty: Some(1.0), score_clip: None };
    let out = per_token_rewards(&[0.5, 0.5], &zeros, &zeros, &mask, &ended, &penalised).unwrap();
    assert_eq!(out.scores, vec![0.5, -0.5]);
    assert_eq!(out.rewards.to_vec::<f32>().unwrap(), vec![0.0, 0.5, 0.0, 0.0, 0.0, -0.5]);

    let clipped = RewardOptions { kl_beta: 0.02, missing_eos_penalty: Some(3.0), score_clip: Some(2.0) };
    let out = per_token_rewards(&[5.0, 0.5], &zeros, &zeros, &mask, &ended, &clipped).unwrap();
    assert_eq!(out.scores, vec![2.0, -2.0]);
}

#[test]
fn rejects_mismatched_inputs() {
    let zeros = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let mask = Tensor::ones(&[2, 3], DType::F32).unwrap();
    let o = RewardOptions::default();
    assert!(per_token_rewards(&[1.0], &zeros, &zeros, &mask, &[true, true], &o).is_err());
    assert!(per_token_rewards(&[1.0, 1.0], &zeros, &zeros, &mask, &[true], &o).is_err());
    assert!(per_token_rewards(
        &[1.0, 1.0],
        &zeros,
        &Tensor::zeros(&[2, 2], DType::F32).unwrap(),
        &mask,
        &[true, true],
        &o
    )
    .is_err());
}
