//! PPO's clipped objective: its gradient is 0 exactly where the clip binds and −A·ρ/N elsewhere; finite
//! differences agree inside the clip range; the value loss, the diagnostics.
use autograd::gradcheck::{check_gradients, GradCheckOptions};
use autograd::Var;
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::rl::ppo_loss::{explained_variance, policy_loss, total_loss, value_loss, PpoOptions};

fn t(values: &[f32], b: usize, n: usize) -> Tensor {
    Tensor::from_vec(values.to_vec(), &[b, n]).unwrap()
}

#[test]
fn clipped_gradient_is_zero_where_the_clip_binds_for_both_signs_of_the_advantage() {
    let eps = 0.2f32;
    // (ratio, advantage, does the clip bind?)
    let cases: [(f32, f32, bool); 9] = [
        (1.5, 1.0, true),   // ratio above 1+ε, A > 0: the min takes the clipped term
        (1.5, -2.0, false), // above 1+ε, A < 0: the unclipped term is the smaller, gradient flows
        (0.5, -1.0, true),  // below 1−ε, A < 0: clipped
        (0.5, 3.0, false),  // below 1−ε, A > 0: gradient flows
        (1.1, 1.0, false),  // inside the range, both signs
        (0.9, -1.0, false),
        (1.0, 0.5, false),
        (1.25, 0.7, true),
        (0.7, -0.4, true),
    ];
    let n = cases.len();
    // One more, masked-out token (huge ratio, must get no gradient and not count in N).
    let old: Vec<f32> = (0..=n).map(|i| -1.0 - 0.1 * i as f32).collect();
    let mut new: Vec<f32> = cases.iter().zip(&old).map(|(c, o)| o + c.0.ln()).collect();
    new.push(old[n] + 3.0);
    let mut adv: Vec<f32> = cases.iter().map(|c| c.1).collect();
    adv.push(1.0);
    let mut mask = vec![1.0f32; n];
    mask.push(0.0);
    let logp = Var::leaf(t(&new, 1, n + 1));
    let out = policy_loss(&logp, &t(&old, 1, n + 1), &t(&adv, 1, n + 1), &t(&mask, 1, n + 1), eps).unwrap();
    out.loss.backward().unwrap();
    let grad = logp.grad().unwrap().to_vec::<f32>().unwrap();
    for (i, &(ratio, a, binds)) in cases.iter().enumerate() {
        let want = if binds { 0.0 } else { -a * ratio / n as f32 };
        assert!((grad[i] - want).abs() < 1e-6, "case {i} (ratio {ratio}, A {a}): grad {} want {want}", grad[i]);
    }
    assert_eq!(grad[n], 0.0);
    // The loss value: −mean of min(ρA, clip(ρ)A).
    let want_loss: f32 =
        -cases.iter().map(|&(r, a, _)| (r * a).min(r.clamp(1.0 - eps, 1.0 + eps) * a)).sum::<f32>() / n as f32;
    assert!((out.loss.item().unwrap() - want_loss).abs() < 1e-5);
    // Clip fraction: ratios outside [0.8, 1.2]: 1.5, 1.5, 0.5, 0.5, 1.25, 0.7.
    assert!((out.clip_fraction - 6.0 / 9.0).abs() < 1e-6, "{}", out.clip_fraction);
    let want_kl: f64 = cases.iter().map(|c| (c.0 as f64 - 1.0) - (c.0 as f64).ln()).sum::<f64>() / n as f64;
    assert!((out.approx_kl as f64 - want_kl).abs() < 1e-5, "{} vs {want_kl}", out.approx_kl);
}

#[test]
fn policy_loss_matches_finite_differences_inside_the_clip_range() {
    let mut rng = Rng::new(21);
    let (b, n) = (3, 4);
    let old = Tensor::rand_uniform(&[b, n], -3.0, -0.5, &mut rng).unwrap();
    // Log-ratios within ±0.1 keep ρ in [0.905, 1.105], inside [0.8, 1.2] even after the ±0.01 perturbation.
    let delta = Tensor::rand_uniform(&[b, n], -0.1, 0.1, &mut rng).unwrap();
    let new = old.add(&delta).unwrap();
    let adv = Tensor::randn(&[b, n], 0.0, 1.0, &mut rng).unwrap();
    let mask = Tensor::from_vec((0..b * n).map(|i| (i % n != 3 || i < n) as u8).collect::<Vec<u8>>(), &[b, n]).unwrap();
    let report =
        check_gradients(|v| Ok(policy_loss(&v[0], &old, &adv, &mask, 0.2)?.loss), &[new], &GradCheckOptions::default())
            .unwrap();
    assert_eq!(report.checked, b * n);
}

#[test]
fn value_loss_clips_around_old_values() {
    let eps = 0.2f32;
    // (new V, old V, return): the loss per token is ½·max((V − R)², (V_clip − R)²).
    let cases: [(f32, f32, f32); 4] = [
        (1.0, 0.9, 2.0),  // inside the clip range: plain squared error, gradient V − R
        (2.0, 1.0, 3.0),  // moved +1 towards R: clipped V = 1.2 is further from R, gradient 0
        (2.0, 1.0, 0.0),  // moved +1 away from R: unclipped is the larger, gradient V − R
        (0.0, 1.0, -5.0), // moved −1 towards R: clipped 0.8 is further, gradient 0
    ];
    let new: Vec<f32> = cases.iter().map(|c| c.0).collect();
    let old: Vec<f32> = cases.iter().map(|c| c.1).collect();
    let ret: Vec<f32> = cases.iter().map(|c| c.2).collect();
    let values = Var::leaf(t(&new, 1, 4));
    let mask = Tensor::ones(&[1, 4], DType::F32).unwrap();
    let out = value_loss(&values, &t(&old, 1, 4), &t(&ret, 1, 4), &mask, eps).unwrap();
    let want: f32 = cases
        .iter()
        .map(|&(v, o, r)| 0.5 * (v - r).powi(2).max((o + (v - o).clamp(-eps, eps) - r).powi(2)))
        .sum::<f32>()
        / 4.0;
    assert!((out.loss.item().unwrap() - want).abs() < 1e-5);
    assert_eq!(out.clip_fraction, 0.5);
    out.loss.backward().unwrap();
    let grad = values.grad().unwrap().to_vec::<f32>().unwrap();
    let want_grad = [(1.0 - 2.0) / 4.0, 0.0, (2.0 - 0.0) / 4.0, 0.0];
    for i in 0..4 {
        assert!((grad[i] - want_grad[i]).abs() < 1e-6, "token {i}: {} vs {}", grad[i], want_grad[i]);
    }
}

#[test]
fn value_loss_matches_finite_differences_away_from_kinks() {
    let mut rng = Rng::new(4);
    let old = Tensor::randn(&[2, 3], 0.0, 1.0, &mut rng).unwrap();
    // Offsets ±(0.05..0.1) from the old values (inside ε_v = 0.2) or ±(0.5..0.9) (outside), never near ±0.2.
    let offsets: Vec<f32> = [0.07f32, -0.6, 0.8, -0.05, 0.09, -0.9].to_vec();
    let new = old.add(&t(&offsets, 2, 3)).unwrap();
    let returns = Tensor::randn(&[2, 3], 0.0, 2.0, &mut rng).unwrap();
    let mask = Tensor::ones(&[2, 3], DType::F32).unwrap();
    check_gradients(|v| Ok(value_loss(&v[0], &old, &returns, &mask, 0.2)?.loss), &[new], &GradCheckOptions::default())
        .unwrap();
}

#[test]
fn total_loss_adds_value_and_subtracts_entropy_bonus() {
    let pg = Var::constant(Tensor::scalar(1.0));
    let vf = Var::constant(Tensor::scalar(2.0));
    let h = Var::constant(Tensor::scalar(3.0));
    let o = PpoOptions { value_coef: 0.5, entropy_coef: 0.1, ..Default::default() };
    assert!((total_loss(&pg, &vf, Some(&h), &o).unwrap().item().unwrap() - (1.0 + 1.0 - 0.3)).abs() < 1e-6);
    assert_eq!(total_loss(&pg, &vf, None, &o).unwrap().item().unwrap(), 2.0);
}

#[test]
fn explained_variance_of_perfect_constant_and_bad_critics() {
    let returns = t(&[1.0, 2.0, 3.0, 4.0, 100.0], 1, 5);
    let mask = t(&[1.0, 1.0, 1.0, 1.0, 0.0], 1, 5);
    assert_eq!(explained_variance(&returns, &returns, &mask).unwrap(), 1.0);
    let constant = t(&[2.5, 2.5, 2.5, 2.5, 0.0], 1, 5);
    assert!(explained_variance(&constant, &returns, &mask).unwrap().abs() < 1e-6);
    let reversed = t(&[4.0, 3.0, 2.0, 1.0, 0.0], 1, 5);
    // Var[R − V] = Var[2R − 5] = 4·Var[R]: 1 − 4 = −3.
    assert!((explained_variance(&reversed, &returns, &mask).unwrap() + 3.0).abs() < 1e-5);
    assert!(explained_variance(&returns, &constant, &mask).unwrap().is_nan());
}
