//! The KL estimators: exactly 0 when the policy is the reference, k3 never negative, both unbiased.
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::rl::kl::{masked_kl, per_token_kl, KlEstimator};
use rlhf::rl::logprobs::token_logprobs_tensor;

#[test]
fn kl_is_exactly_zero_when_policy_equals_reference() {
    let mut rng = Rng::new(5);
    let (b, n, v) = (3, 7, 11);
    let logits = Tensor::randn(&[b, n, v], 0.0, 2.0, &mut rng).unwrap();
    let tokens: Vec<i64> = (0..b * n).map(|_| rng.gen_range(v).unwrap() as i64).collect();
    let tokens = Tensor::from_vec(tokens, &[b, n]).unwrap();
    // The policy and a reference that is a separate copy of the same weights score the same tokens.
    let logp = token_logprobs_tensor(&logits, &tokens).unwrap();
    let reference_logits = Tensor::from_vec(logits.to_vec::<f32>().unwrap(), &[b, n, v]).unwrap();
    let logp_ref = token_logprobs_tensor(&reference_logits, &tokens).unwrap();
    let mask = Tensor::from_vec((0..b * n).map(|i| (i % n < 5) as u8).collect::<Vec<u8>>(), &[b, n]).unwrap();
    for est in [KlEstimator::K1, KlEstimator::K3] {
        assert!(per_token_kl(&logp, &logp_ref, est).unwrap().to_vec::<f32>().unwrap().iter().all(|&k| k == 0.0));
        let s = masked_kl(&logp, &logp_ref, &mask, est).unwrap();
        assert_eq!((s.per_token, s.per_sequence), (0.0, 0.0));
    }
    // And not 0 once they differ.
    let other = logits.mul_scalar(1.1).unwrap();
    let logp_other = token_logprobs_tensor(&other, &tokens).unwrap();
    assert!(masked_kl(&logp, &logp_other, &mask, KlEstimator::K3).unwrap().per_token > 0.0);
}

#[test]
fn k3_is_never_negative_and_k1_can_be() {
    let mut rng = Rng::new(9);
    let logp = Tensor::randn(&[4, 16], -2.0, 1.0, &mut rng).unwrap();
    let logp_ref = Tensor::randn(&[4, 16], -2.0, 1.0, &mut rng).unwrap();
    let k3 = per_token_kl(&logp, &logp_ref, KlEstimator::K3).unwrap().to_vec::<f32>().unwrap();
    let k1 = per_token_kl(&logp, &logp_ref, KlEstimator::K1).unwrap().to_vec::<f32>().unwrap();
    assert!(k3.iter().all(|&k| k >= 0.0));
    assert!(k1.iter().any(|&k| k < 0.0));
}

#[test]
fn estimators_are_unbiased_on_samples_from_the_policy() {
    // π and π_ref over 3 tokens; true KL(π‖π_ref) = Σ p log(p/q).
    let p = [0.6f64, 0.3, 0.1];
    let q = [0.3f64, 0.3, 0.4];
    let truth: f64 = p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum();
    let mut rng = Rng::new(1);
    let n = 20_000;
    let (mut lp, mut lq) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let u = rng.next_f64();
        let a = if u < p[0] {
            0
        } else if u < p[0] + p[1] {
            1
        } else {
            2
        };
        lp.push(p[a].ln() as f32);
        lq.push(q[a].ln() as f32);
    }
    let logp = Tensor::from_vec(lp, &[1, n]).unwrap();
    let logp_ref = Tensor::from_vec(lq, &[1, n]).unwrap();
    let mask = Tensor::ones(&[1, n], DType::F32).unwrap();
    for est in [KlEstimator::K1, KlEstimator::K3] {
        let s = masked_kl(&logp, &logp_ref, &mask, est).unwrap();
        assert!((s.per_token as f64 - truth).abs() < 0.02, "{est:?}: {} vs true {truth}", s.per_token);
        assert!((s.per_sequence - s.per_token * n as f32).abs() < 1e-2 * n as f32);
    }
}

#[test]
fn masked_kl_per_token_and_per_sequence() {
    // k1 = [0.5, 1.0 | 2.0, (masked 9)]: per token (0.5 + 1 + 2) / 3, per answer (1.5 + 2) / 2.
    let logp = Tensor::from_vec(vec![0.5f32, 1.0, 2.0, 9.0], &[2, 2]).unwrap();
    let zeros = Tensor::zeros(&[2, 2], DType::F32).unwrap();
    let mask = Tensor::from_vec(vec![1u8, 1, 1, 0], &[2, 2]).unwrap();
    let s = masked_kl(&logp, &zeros, &mask, KlEstimator::K1).unwrap();
    assert!((s.per_token - 3.5 / 3.0).abs() < 1e-6 && (s.per_sequence - 1.75).abs() < 1e-6, "{s:?}");
}
