//! GAE against hand-computed examples, its limits λ = 0 and λ = 1, edge cases, and advantage whitening.
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::rl::gae::{gae, whiten, GaeOptions};

fn t(values: &[f32], b: usize, n: usize) -> Tensor {
    Tensor::from_vec(values.to_vec(), &[b, n]).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: got {g}, want {w} (all: {got:?} vs {want:?})");
    }
}

#[test]
fn gae_matches_hand_computed_example_with_defaults() {
    // γ = 1, λ = 0.95 (the defaults). Row 0: three response tokens.
    //   r = [-0.1, 0.2, 1.0], V = [0.3, 0.6, 0.4]
    //   t=2: δ = 1.0 + 1·0 − 0.4 = 0.6                  A2 = 0.6                    R2 = 0.6 + 0.4 = 1.0
    //   t=1: δ = 0.2 + 0.4 − 0.6 = 0.0                  A1 = 0.0 + 0.95·0.6 = 0.57  R1 = 0.57 + 0.6 = 1.17
    //   t=0: δ = −0.1 + 0.6 − 0.3 = 0.2                 A0 = 0.2 + 0.95·0.57 = 0.7415, R0 = 1.0415
    // Row 1: two response tokens then padding (whose rewards/values are junk and must be ignored).
    //   r = [0.5, 2.0, 9], V = [1.0, 1.5, 7], mask = [1, 1, 0]
    //   t=1: δ = 2.0 + 0 − 1.5 = 0.5                    A1 = 0.5                    R1 = 2.0
    //   t=0: δ = 0.5 + 1.5 − 1.0 = 1.0                  A0 = 1.0 + 0.95·0.5 = 1.475 R0 = 2.475
    // Row 2: prompt token in front (masked), then two response tokens.
    //   r = [5, 0, 1], V = [9, 0.5, 0.5], mask = [0, 1, 1]
    //   t=2: δ = 1 − 0.5 = 0.5, A2 = 0.5, R2 = 1.0;  t=1: δ = 0 + 0.5 − 0.5 = 0, A1 = 0.475, R1 = 0.975
    let rewards = t(&[-0.1, 0.2, 1.0, 0.5, 2.0, 9.0, 5.0, 0.0, 1.0], 3, 3);
    let values = t(&[0.3, 0.6, 0.4, 1.0, 1.5, 7.0, 9.0, 0.5, 0.5], 3, 3);
    let mask = t(&[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0], 3, 3);
    let out = gae(&rewards, &values, &mask, &GaeOptions::default()).unwrap();
    assert_close(
        &out.advantages.to_vec::<f32>().unwrap(),
        &[0.7415, 0.57, 0.6, 1.475, 0.5, 0.0, 0.0, 0.475, 0.5],
        1e-6,
    );
    assert_close(&out.returns.to_vec::<f32>().unwrap(), &[1.0415, 1.17, 1.0, 2.475, 2.0, 0.0, 0.0, 0.975, 1.0], 1e-6);
}

#[test]
fn gae_matches_hand_computed_example_with_discount() {
    // γ = 0.9, λ = 0.5, so γλ = 0.45. r = [1, 0, 2], V = [0.5, 1, 1]
    //   t=2: δ = 2 + 0.9·0 − 1 = 1                      A2 = 1                       R2 = 2
    //   t=1: δ = 0 + 0.9·1 − 1 = −0.1                   A1 = −0.1 + 0.45·1 = 0.35    R1 = 1.35
    //   t=0: δ = 1 + 0.9·1 − 0.5 = 1.4                  A0 = 1.4 + 0.45·0.35 = 1.5575, R0 = 2.0575
    let out = gae(
        &t(&[1.0, 0.0, 2.0], 1, 3),
        &t(&[0.5, 1.0, 1.0], 1, 3),
        &Tensor::ones(&[1, 3], DType::U8).unwrap(),
        &GaeOptions { gamma: 0.9, lambda: 0.5 },
    )
    .unwrap();
    assert_close(&out.advantages.to_vec::<f32>().unwrap(), &[1.5575, 0.35, 1.0], 1e-6);
    assert_close(&out.returns.to_vec::<f32>().unwrap(), &[2.0575, 1.35, 2.0], 1e-6);
}

#[test]
fn lambda_limits_are_td_and_monte_carlo() {
    let mut rng = Rng::new(3);
    let (b, n) = (4, 6);
    let rewards = Tensor::randn(&[b, n], 0.0, 1.0, &mut rng).unwrap();
    let values = Tensor::randn(&[b, n], 0.0, 1.0, &mut rng).unwrap();
    let mask = Tensor::ones(&[b, n], DType::F32).unwrap();
    let r = rewards.to_vec::<f32>().unwrap();
    let v = values.to_vec::<f32>().unwrap();
    // λ = 1, γ = 1: A_t = Σ_{k≥t} r_k − V_t.
    let mc = gae(&rewards, &values, &mask, &GaeOptions { gamma: 1.0, lambda: 1.0 }).unwrap();
    let want: Vec<f32> = (0..b * n).map(|i| r[i..(i / n + 1) * n].iter().sum::<f32>() - v[i]).collect();
    assert_close(&mc.advantages.to_vec::<f32>().unwrap(), &want, 1e-5);
    // λ = 0: A_t = δ_t = r_t + γ V_{t+1} − V_t, with V after the last token 0.
    let gamma = 0.8;
    let td = gae(&rewards, &values, &mask, &GaeOptions { gamma, lambda: 0.0 }).unwrap();
    let want: Vec<f32> =
        (0..b * n).map(|i| r[i] + if (i + 1) % n == 0 { 0.0 } else { gamma * v[i + 1] } - v[i]).collect();
    assert_close(&td.advantages.to_vec::<f32>().unwrap(), &want, 1e-5);
}

#[test]
fn length_one_and_all_masked_rows() {
    // Row 0: one response token: A = r − V = 2 − 0.5, R = r = 2. Row 1: nothing to learn from: all zeros.
    let out = gae(
        &t(&[2.0, 3.0, 4.0, 5.0], 2, 2),
        &t(&[0.5, 1.0, 1.0, 1.0], 2, 2),
        &t(&[1.0, 0.0, 0.0, 0.0], 2, 2),
        &GaeOptions::default(),
    )
    .unwrap();
    assert_eq!(out.advantages.to_vec::<f32>().unwrap(), vec![1.5, 0.0, 0.0, 0.0]);
    assert_eq!(out.returns.to_vec::<f32>().unwrap(), vec![2.0, 0.0, 0.0, 0.0]);
}

#[test]
fn gae_rejects_mismatched_shapes() {
    let two = Tensor::zeros(&[1, 2], DType::F32).unwrap();
    let three = Tensor::zeros(&[1, 3], DType::F32).unwrap();
    assert!(gae(&two, &three, &two, &GaeOptions::default()).is_err());
    assert!(gae(&two, &two, &three, &GaeOptions::default()).is_err());
}

#[test]
fn whitening_gives_zero_mean_unit_variance_over_the_mask() {
    let mut rng = Rng::new(11);
    let x = Tensor::randn(&[3, 5], 2.0, 3.0, &mut rng).unwrap();
    let mut m = vec![1.0f32; 15];
    for j in 2..5 {
        m[5 + j] = 0.0; // row 1 has length 2
    }
    m[10..15].iter_mut().for_each(|v| *v = 0.0); // row 2 is empty
    let mask = t(&m, 3, 5);
    let xs = x.to_vec::<f32>().unwrap();
    let picked = |w: &[f32]| -> Vec<f64> { (0..15).filter(|&i| m[i] != 0.0).map(|i| w[i] as f64).collect() };
    let stats = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64)
    };
    let (mean0, _) = stats(&picked(&xs));

    let w = whiten(&x, &mask, true).unwrap().to_vec::<f32>().unwrap();
    let (mean, var) = stats(&picked(&w));
    assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "mean {mean} var {var}");
    assert!((0..15).filter(|&i| m[i] == 0.0).all(|i| w[i] == 0.0));

    let w = whiten(&x, &mask, false).unwrap().to_vec::<f32>().unwrap();
    let (mean, var) = stats(&picked(&w));
    assert!((mean - mean0).abs() < 1e-4 && (var - 1.0).abs() < 1e-4, "mean {mean} (want {mean0}) var {var}");

    assert!(whiten(&x, &Tensor::zeros(&[3, 5], DType::F32).unwrap(), true).is_err());
}
