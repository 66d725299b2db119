//! Embedding gather/scatter-add, the AdamW step and bf16/f16 conversion.
//!
//! Tolerances: embedding forward is a copy (bitwise). Embedding backward must equal the sequential
//! reference bitwise: each table row receives its positions' rows in position order, exactly as the
//! reference adds them. AdamW vs a hand-computed step and vs the f64 reference: 2e-6 relative (the fast
//! path is f32 with scalars computed in f64: a handful of roundings). Conversions: bitwise against
//! `half`'s scalar conversions, and f32 -> half -> f32 round trips exact for representable values and
//! within half an ulp of the format (2^-8 relative for bf16's 8 significant bits, 2^-11 for f16's 11) otherwise.
mod support;

use half::{bf16, f16};
use kernels::adamw::reference::adamw_step_naive;
use kernels::convert::reference::{f32_to_bf16_naive, f32_to_f16_naive};
use kernels::embedding::reference::*;
use kernels::AdamWConfig;
use support::{assert_close, assert_same, with_threads, Rng, SIZES};

#[test]
fn embedding_forward_gathers_rows() {
    let mut rng = Rng::new(51);
    for &vocab in &[1usize, 7, 257] {
        for &dim in &SIZES {
            let table = rng.vec(vocab * dim, -1.0, 1.0);
            let ids: Vec<i64> = (0..33).map(|_| rng.below(vocab) as i64).collect();
            let (mut got, mut want) = (vec![0.0; ids.len() * dim], vec![0.0; ids.len() * dim]);
            kernels::embedding_forward(&table, vocab, dim, &ids, &mut got).unwrap();
            embedding_forward_naive(&table, dim, &ids, &mut want);
            assert_same("embedding_forward", &got, &want);
        }
    }
}

#[test]
fn embedding_backward_accumulates_repeated_ids_deterministically() {
    let mut rng = Rng::new(52);
    for &(vocab, dim, n) in &[(7usize, 33usize, 1000usize), (257, 1, 33), (1, 7, 257), (50, 768, 300), (1000, 257, 1000)] {
        // Few distinct ids (vocab small relative to n) guarantees repeats.
        let ids: Vec<i64> = (0..n).map(|_| rng.below(vocab) as i64).collect();
        let dout = rng.vec(n * dim, -1.0, 1.0);
        let init = rng.vec(vocab * dim, -1.0, 1.0);
        let mut want = init.clone();
        embedding_backward_naive(&dout, &ids, dim, &mut want);
        for threads in [1, 2, 3] {
            let got = with_threads(threads, || {
                let mut g = init.clone();
                kernels::embedding_backward(&dout, &ids, vocab, dim, &mut g).unwrap();
                g
            });
            assert_same(&format!("embedding_backward v{vocab} d{dim} n{n} t{threads}"), &got, &want);
        }
    }
    // Hand check: id 1 twice.
    let mut dt = [0.0; 4];
    kernels::embedding_backward(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 0, 1], 2, 2, &mut dt).unwrap();
    assert_eq!(dt, [3.0, 4.0, 6.0, 8.0]);
}

#[test]
fn embedding_errors_name_the_position() {
    let mut out = [0.0; 6];
    let e = kernels::embedding_forward(&[0.0; 4], 2, 2, &[0, 2, 1], &mut out).unwrap_err();
    assert!(e.message.contains("position 1"), "{e}");
    let e = kernels::embedding_forward(&[0.0; 4], 2, 2, &[0, 1, -1], &mut out).unwrap_err();
    assert!(e.message.contains("position 2"), "{e}");
    let mut dt = [0.0; 4];
    let e = kernels::embedding_backward(&[0.0; 6], &[5, 0, 0], 2, 2, &mut dt).unwrap_err();
    assert!(e.message.contains("position 0"), "{e}");
    assert!(kernels::embedding_forward(&[0.0; 3], 2, 2, &[0], &mut out).is_err());
    assert!(kernels::embedding_backward(&[0.0; 5], &[0, 0, 0], 2, 2, &mut dt).is_err());
}

#[test]
fn adamw_matches_a_hand_computed_step() {
    // Two steps written out in f64 for one parameter: lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.1,
    // p = 2, g = 0.5 then -1. The betas are f32 in the config, so the hand computation uses their
    // f32 values (0.9f32 = 0.89999998, 0.999f32 = 0.99900001).
    let cfg = AdamWConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1 };
    let (b1, b2, lr, eps) = (0.9f32 as f64, 0.999f32 as f64, 0.1f32 as f64, 1e-8f32 as f64);
    let decay = 1.0 - lr * (0.1f32 as f64);
    // Step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p = 2 * 0.99 - 0.1 * 0.5 / (0.5 + 1e-8).
    let m1 = (1.0 - b1) * 0.5;
    let v1 = (1.0 - b2) * 0.25;
    let p1 = 2.0 * decay - lr / (1.0 - b1) * m1 / ((v1).sqrt() / (1.0 - b2).sqrt() + eps);
    assert!((p1 - 1.88).abs() < 1e-6, "hand arithmetic: {p1}"); // ~ 1.98 - 0.1
    // Step 2.
    let m2 = b1 * m1 - (1.0 - b1); // g = -1
    let v2 = b2 * v1 + (1.0 - b2) * 1.0;
    let p2 = p1 * decay - lr / (1.0 - b1 * b1) * m2 / (v2.sqrt() / (1.0 - b2 * b2).sqrt() + eps);

    let (mut p, mut m, mut v) = ([2.0f32], [0.0f32], [0.0f32]);
    kernels::adamw_step(&mut p, &[0.5], &mut m, &mut v, &cfg, 1).unwrap();
    let close = |got: f32, want: f64| ((got as f64 - want) / want).abs() < 2e-6;
    assert!(close(m[0], m1) && close(v[0], v1) && close(p[0], p1), "step 1: {p:?} {m:?} {v:?} vs {p1} {m1} {v1}");
    kernels::adamw_step(&mut p, &[-1.0], &mut m, &mut v, &cfg, 2).unwrap();
    assert!(close(m[0], m2) && close(v[0], v2) && close(p[0], p2), "step 2: {p:?} {m:?} {v:?} vs {p2} {m2} {v2}");
}

#[test]
fn adamw_matches_reference_and_is_thread_invariant() {
    let mut rng = Rng::new(53);
    let cfg = AdamWConfig { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1 };
    for &n in &[1usize, 7, 33, 257, 1000, 100_003] {
        let p0 = rng.vec(n, -1.0, 1.0);
        let m0 = rng.vec(n, -0.1, 0.1);
        let v0: Vec<f32> = rng.vec(n, 0.0, 0.01);
        let g = rng.vec(n, -1.0, 1.0);
        let (mut wp, mut wm, mut wv) = (p0.clone(), m0.clone(), v0.clone());
        adamw_step_naive(&mut wp, &g, &mut wm, &mut wv, &cfg, 7);
        let run = || {
            let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
            kernels::adamw_step(&mut p, &g, &mut m, &mut v, &cfg, 7).unwrap();
            (p, m, v)
        };
        let (p, m, v) = with_threads(1, run);
        // Absolute parts: 2 ulp of the largest term entering each update (p ~ 1, m's terms ~ 0.1,
        // v's terms ~ 0.01), since near-cancelling terms leave a result smaller than its error.
        assert_close("adamw p", &p, &wp, 2e-6, 2.5e-7);
        assert_close("adamw m", &m, &wm, 2e-6, 2e-8);
        assert_close("adamw v", &v, &wv, 2e-6, 2e-9);
        let (p2, _, _) = with_threads(2, run);
        assert_same("adamw 1 vs 2 threads", &p, &p2);
    }
    let (mut p, mut m, mut v) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 1]);
    assert!(kernels::adamw_step(&mut p, &[0.0; 2], &mut m, &mut v, &cfg, 1).is_err());
    let mut v2 = [0.0f32; 2];
    assert!(kernels::adamw_step(&mut p, &[0.0; 2], &mut m, &mut v2, &cfg, 0).is_err(), "step is 1-based");
}

#[test]
fn half_conversions_match_scalar_and_round_trip() {
    let mut rng = Rng::new(54);
    for &n in &[1usize, 7, 33, 257, 1000] {
        let mut x = rng.vec(n, -1000.0, 1000.0);
        if n > 4 {
            x[0] = f32::INFINITY;
            x[1] = -0.0;
            x[2] = 1e-30; // below f16's range: flushes to 0; bf16 keeps it
            x[3] = 70000.0; // above f16's max: inf
        }
        let (mut b, mut wb) = (vec![bf16::ZERO; n], vec![bf16::ZERO; n]);
        kernels::f32_to_bf16(&x, &mut b).unwrap();
        f32_to_bf16_naive(&x, &mut wb);
        assert_eq!(b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), wb.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        let mut back = vec![0.0f32; n];
        kernels::bf16_to_f32(&b, &mut back).unwrap();
        for i in 0..n {
            if x[i].is_finite() {
                assert!((back[i] - x[i]).abs() <= x[i].abs() * 2f32.powi(-8), "bf16 {} -> {}", x[i], back[i]);
            }
            assert_eq!(back[i], b[i].to_f32());
        }

        let (mut h, mut wh) = (vec![f16::ZERO; n], vec![f16::ZERO; n]);
        kernels::f32_to_f16(&x, &mut h).unwrap();
        f32_to_f16_naive(&x, &mut wh);
        assert_eq!(h.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), wh.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        kernels::f16_to_f32(&h, &mut back).unwrap();
        for i in 0..n {
            if x[i].abs() < 65000.0 && x[i].abs() > 1e-4 {
                assert!((back[i] - x[i]).abs() <= x[i].abs() * 2f32.powi(-11), "f16 {} -> {}", x[i], back[i]);
            }
        }
        if n > 4 {
            assert_eq!(back[3], f32::INFINITY);
            assert_eq!(back[2], 0.0);
        }
        // Values exactly representable survive a round trip bitwise.
        let exact: Vec<f32> = (0..n).map(|i| ((i % 256) as f32 - 128.0) * 0.5).collect(); // <= 8 significant bits
        kernels::f32_to_bf16(&exact, &mut b).unwrap();
        kernels::bf16_to_f32(&b, &mut back).unwrap();
        assert_same("bf16 exact round trip", &back, &exact);
        kernels::f32_to_f16(&exact, &mut h).unwrap();
        kernels::f16_to_f32(&h, &mut back).unwrap();
        assert_same("f16 exact round trip", &back, &exact);
    }
    let mut b = [bf16::ZERO; 2];
    let e = kernels::f32_to_bf16(&[1.0; 3], &mut b).unwrap_err();
    assert_eq!(e.kernel, "f32_to_bf16");
    assert!(kernels::f16_to_f32(&[f16::ZERO; 1], &mut [0.0; 2]).is_err());
}
