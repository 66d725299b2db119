//! Runs without a GPU: checks the attention oracle the GPU tests trust. The naive forward must give a
//! uniform average when every score is equal and respect the causal mask; the naive backward must match
//! central finite differences of the naive forward (in f64 on f32 inputs).
#![cfg(feature = "cuda")]

use kernels::cuda::ops::attention::reference::{attention_backward_naive, attention_forward_naive};

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

#[test]
fn equal_scores_average_the_visible_values() {
    let (t, d) = (4, 2);
    let q = vec![0.0f32; t * d]; // all scores 0
    let v: Vec<f32> = (0..t * d).map(|i| (i / d) as f32).collect();
    let (mut out, mut lse) = (vec![0.0; t * d], vec![0.0; t]);
    attention_forward_naive(&q, &q, &v, 1, t, d, true, &mut out, &mut lse);
    for i in 0..t {
        let mean = (0..=i).sum::<usize>() as f32 / (i + 1) as f32;
        assert!((out[i * d] - mean).abs() < 1e-6, "row {i}: {} vs {mean}", out[i * d]);
        assert!((lse[i] - ((i + 1) as f32).ln()).abs() < 1e-6);
    }
    attention_forward_naive(&q, &q, &v, 1, t, d, false, &mut out, &mut lse);
    assert!(out.chunks(d).all(|r| (r[0] - 1.5).abs() < 1e-6));
}

#[test]
fn naive_backward_matches_finite_differences_of_naive_forward() {
    let (bh, t, d) = (2, 5, 4);
    let n = bh * t * d;
    let mut seed = 7;
    let (q, k, v, g): (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) = (
        (0..n).map(|_| lcg(&mut seed)).collect(),
        (0..n).map(|_| lcg(&mut seed)).collect(),
        (0..n).map(|_| lcg(&mut seed)).collect(),
        (0..n).map(|_| lcg(&mut seed)).collect(),
    );
    for causal in [true, false] {
        // loss = sum(out * g); its gradient is what backward adds for dout = g.
        let loss = |q: &[f32], k: &[f32], v: &[f32]| -> f64 {
            let (mut out, mut lse) = (vec![0.0; n], vec![0.0; bh * t]);
            attention_forward_naive(q, k, v, bh, t, d, causal, &mut out, &mut lse);
            out.iter().zip(&g).map(|(&o, &g)| o as f64 * g as f64).sum()
        };
        let (mut dq, mut dk, mut dv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        attention_backward_naive(&q, &k, &v, &g, bh, t, d, causal, &mut dq, &mut dk, &mut dv);
        let h = 1e-2f32;
        for which in 0..3 {
            for i in (0..n).step_by(3) {
                let mut plus = [q.clone(), k.clone(), v.clone()];
                let mut minus = [q.clone(), k.clone(), v.clone()];
                plus[which][i] += h;
                minus[which][i] -= h;
                let fd =
                    (loss(&plus[0], &plus[1], &plus[2]) - loss(&minus[0], &minus[1], &minus[2])) / (2.0 * h as f64);
                let analytic = [&dq, &dk, &dv][which][i] as f64;
                assert!(
                    (fd - analytic).abs() < 2e-3,
                    "causal {causal} tensor {which} element {i}: finite difference {fd} vs backward {analytic}"
                );
            }
        }
    }
}
