//! REINFORCE: the gradient raises the log-likelihood of answers better than the baseline and lowers the
//! worse ones; the baseline's running mean.
use autograd::Var;
use engine::{DType, Tensor};
use rlhf::rl::logprobs::token_logprobs;
use rlhf::rl::reinforce::{reinforce_loss, BaselineKind, RunningBaseline};

#[test]
fn gradient_sign_follows_reward_minus_baseline_on_response_tokens_only() {
    // Two answers of 3 tokens, the second with its last token padding.
    let logp = Var::leaf(Tensor::from_vec(vec![-1.0f32, -0.5, -2.0, -1.5, -0.1, -9.0], &[2, 3]).unwrap());
    let mask = Tensor::from_vec(vec![1u8, 1, 1, 1, 1, 0], &[2, 3]).unwrap();
    let (rewards, baseline) = ([2.0f32, -1.0], 0.5);
    let loss = reinforce_loss(&logp, &mask, &rewards, baseline).unwrap();
    // L = −½·[(2 − 0.5)·(−3.5) + (−1 − 0.5)·(−1.6)] = −½·(−5.25 + 2.4) = 1.425
    assert!((loss.item().unwrap() - 1.425).abs() < 1e-6);
    loss.backward().unwrap();
    // dL/dlogp = −(R − b)/B on response tokens: −0.75 for the good answer, +0.75 for the bad, 0 on padding.
    assert_eq!(logp.grad().unwrap().to_vec::<f32>().unwrap(), vec![-0.75, -0.75, -0.75, 0.75, 0.75, 0.0]);
}

#[test]
fn a_gradient_step_makes_the_rewarded_answer_more_likely() {
    // A "policy" that is just free logits over 3 tokens at 2 positions; two sampled answers.
    let logits = Tensor::zeros(&[2, 2, 3], DType::F32).unwrap();
    let tokens = Tensor::from_vec(vec![0i64, 1, 2, 2], &[2, 2]).unwrap();
    let mask = Tensor::ones(&[2, 2], DType::F32).unwrap();
    let answer_logp = |logits: &Tensor| -> Vec<f32> {
        let lp = rlhf::rl::logprobs::token_logprobs_tensor(logits, &tokens).unwrap().to_vec::<f32>().unwrap();
        vec![lp[0] + lp[1], lp[2] + lp[3]]
    };
    let before = answer_logp(&logits);
    let leaf = Var::leaf(logits.clone());
    let loss = reinforce_loss(&token_logprobs(&leaf, &tokens).unwrap(), &mask, &[1.0, 0.0], 0.5).unwrap();
    loss.backward().unwrap();
    let stepped = logits.sub(&leaf.grad().unwrap().mul_scalar(0.5).unwrap()).unwrap();
    let after = answer_logp(&stepped);
    assert!(after[0] > before[0], "rewarded answer: {} -> {}", before[0], after[0]);
    assert!(after[1] < before[1], "punished answer: {} -> {}", before[1], after[1]);
}

#[test]
fn exponential_baseline_update() {
    let mut b = RunningBaseline::new(BaselineKind::Exponential { decay: 0.9 });
    assert_eq!(b.value(), 0.0);
    // The first batch sets the baseline to its mean (no bias towards 0).
    assert_eq!(b.update(&[1.0, 3.0]), 2.0);
    // Then b ← 0.9·2 + 0.1·mean([10]) = 2.8.
    assert!((b.update(&[10.0]) - 2.8).abs() < 1e-6);
    assert!((b.update(&[]) - 2.8).abs() < 1e-6);
    assert_eq!(b.count, 3);
}

#[test]
fn cumulative_baseline_is_the_mean_of_all_rewards() {
    let mut b = RunningBaseline::new(BaselineKind::Cumulative);
    let batches: [&[f32]; 3] = [&[1.0, 2.0, 3.0], &[10.0], &[-4.0, 0.5]];
    let mut seen = Vec::new();
    for batch in batches {
        seen.extend_from_slice(batch);
        let mean = seen.iter().sum::<f32>() / seen.len() as f32;
        assert!((b.update(batch) - mean).abs() < 1e-6);
    }
}

#[test]
fn rejects_wrong_number_of_rewards() {
    let logp = Var::leaf(Tensor::zeros(&[2, 3], DType::F32).unwrap());
    let mask = Tensor::ones(&[2, 3], DType::F32).unwrap();
    assert!(reinforce_loss(&logp, &mask, &[1.0], 0.0).is_err());
}
