//! Per-token log-probabilities and entropy against a naive f64 oracle, their gradients against finite
//! differences, and the masked means.
use autograd::gradcheck::{check_gradients, GradCheckOptions};
use autograd::Var;
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::rl::logprobs::{
    masked_mean, masked_mean_tensor, masked_row_sum, token_entropy, token_entropy_tensor, token_logprobs,
    token_logprobs_tensor,
};

/// Naive oracle: per position, log-softmax in f64 and its entropy.
fn naive(logits: &[f32], tokens: &[i64], v: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lps = Vec::new();
    let mut hs = Vec::new();
    for (pos, &tok) in tokens.iter().enumerate() {
        let z: Vec<f64> = logits[pos * v..(pos + 1) * v].iter().map(|&x| x as f64).collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
        lps.push(z[tok as usize] - lse);
        hs.push(-z.iter().map(|x| (x - lse).exp() * (x - lse)).sum::<f64>());
    }
    (lps, hs)
}

fn random_case(seed: u64, b: usize, n: usize, v: usize) -> (Tensor, Tensor) {
    let mut rng = Rng::new(seed);
    let logits = Tensor::randn(&[b, n, v], 0.0, 3.0, &mut rng).unwrap();
    let tokens: Vec<i64> = (0..b * n).map(|_| rng.gen_range(v).unwrap() as i64).collect();
    (logits, Tensor::from_vec(tokens, &[b, n]).unwrap())
}

#[test]
fn logprobs_and_entropy_match_the_naive_oracle() {
    let (b, n, v) = (2, 5, 13);
    let (logits, tokens) = random_case(1, b, n, v);
    let (want_lp, want_h) = naive(&logits.to_vec::<f32>().unwrap(), &tokens.to_vec::<i64>().unwrap(), v);
    let var_lp = token_logprobs(&Var::leaf(logits.clone()), &tokens).unwrap();
    assert_eq!(var_lp.shape(), &[b, n]);
    let plain_lp = token_logprobs_tensor(&logits, &tokens).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(var_lp.tensor().to_vec::<f32>().unwrap(), plain_lp);
    let h = token_entropy_tensor(&logits).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(token_entropy(&Var::leaf(logits.clone())).unwrap().tensor().to_vec::<f32>().unwrap(), h);
    for i in 0..b * n {
        assert!((plain_lp[i] as f64 - want_lp[i]).abs() < 1e-5, "logp {i}: {} vs {}", plain_lp[i], want_lp[i]);
        assert!((h[i] as f64 - want_h[i]).abs() < 1e-5, "entropy {i}: {} vs {}", h[i], want_h[i]);
        assert!(h[i] >= 0.0 && (h[i] as f64) <= (v as f64).ln() + 1e-5);
    }
}

#[test]
fn logprob_and_entropy_gradients_match_finite_differences() {
    let (logits, tokens) = random_case(2, 2, 3, 5);
    check_gradients(|x| token_logprobs(&x[0], &tokens), std::slice::from_ref(&logits), &GradCheckOptions::default())
        .unwrap();
    check_gradients(|x| token_entropy(&x[0]), &[logits], &GradCheckOptions::default()).unwrap();
}

#[test]
fn logprobs_reject_bad_tokens() {
    let (logits, tokens) = random_case(3, 2, 3, 5);
    let as_f32 = tokens.to_dtype(DType::F32).unwrap();
    assert!(token_logprobs_tensor(&logits, &as_f32).is_err());
    let short = tokens.narrow(1, 0, 2).unwrap().contiguous().unwrap();
    assert!(token_logprobs_tensor(&logits, &short).is_err());
}

#[test]
fn masked_means_and_row_sums() {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let mask = Tensor::from_vec(vec![1u8, 1, 0, 0, 1, 0], &[2, 3]).unwrap();
    assert!((masked_mean_tensor(&x, &mask).unwrap() - 8.0 / 3.0).abs() < 1e-6);
    let leaf = Var::leaf(x.clone());
    let mean = masked_mean(&leaf, &mask).unwrap();
    assert!((mean.item().unwrap() - 8.0 / 3.0).abs() < 1e-6);
    mean.backward().unwrap();
    let third = 1.0 / 3.0;
    assert_eq!(leaf.grad().unwrap().to_vec::<f32>().unwrap(), vec![third, third, 0.0, 0.0, third, 0.0]);
    assert_eq!(
        masked_row_sum(&Var::constant(x.clone()), &mask).unwrap().tensor().to_vec::<f32>().unwrap(),
        vec![3.0, 5.0]
    );
    // An empty mask gives 0, not NaN.
    let none = Tensor::zeros(&[2, 3], DType::U8).unwrap();
    assert_eq!(masked_mean_tensor(&x, &none).unwrap(), 0.0);
    assert_eq!(masked_mean(&Var::constant(x), &none).unwrap().item().unwrap(), 0.0);
}
