//! GPU fused attention (flash-style forward and recomputing backward) against the naive f64 oracle
//! `kernels::cuda::ops::attention::reference` (the maths of `autograd::ops::attention`): head_dim 32, 64
//! and 128, sequence lengths from 1 to 1000 (partial tiles, one key, more keys than a tile), causal and
//! not, several batch × head slices, sharp score distributions (the online softmax rescales often).
//! Prints "skipping: <reason>" and passes without a GPU.
//!
//! Tolerances: out 2e-5 absolute + 1e-4 relative, lse 2e-5 absolute + 1e-6 relative, dq/dk/dv 1e-4
//! absolute + 1e-4 relative (fp32 sums over up to 1000 keys against an f64 oracle).
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use cuda_ops_common::{assert_close, device, Rng};
use kernels::cuda::ops::attention::{self as gpu, reference};

/// (batch, heads, seq, head_dim, score scale): the inputs are uniform in +-scale.
const CASES: &[(usize, usize, usize, usize, f32)] = &[
    (1, 1, 1, 32, 1.0),
    (1, 1, 7, 32, 1.0),
    (2, 3, 33, 32, 1.0),
    (1, 2, 100, 64, 1.0),
    (2, 1, 257, 64, 2.0),
    (1, 1, 1000, 64, 1.0),
    (1, 2, 17, 128, 1.0),
    (2, 2, 129, 128, 1.5),
    (1, 1, 300, 128, 3.0),
];

#[test]
fn flash_attention_forward_matches_reference() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(40);
    for &(b, h, t, d, s) in CASES {
        let n = b * h * t * d;
        let (q, k, v) = (rng.vec(n, -s, s), rng.vec(n, -s, s), rng.vec(n, -1.0, 1.0));
        let (qd, kd, vd) = (dev.htod(&q).unwrap(), dev.htod(&k).unwrap(), dev.htod(&v).unwrap());
        for causal in [true, false] {
            let (mut want, mut want_lse) = (vec![0.0; n], vec![0.0; b * h * t]);
            reference::attention_forward_naive(&q, &k, &v, b * h, t, d, causal, &mut want, &mut want_lse);
            let (mut out, mut lse) = (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(b * h * t).unwrap());
            gpu::flash_attention_forward(&dev, &qd, &kd, &vd, b, h, t, d, causal, &mut out, &mut lse).unwrap();
            let what = format!("attention forward b{b} h{h} t{t} d{d} scale {s} causal {causal}");
            let e = assert_close(&format!("{what} out"), &dev.dtoh(&out).unwrap(), &want, 2e-5, 1e-4);
            assert_close(&format!("{what} lse"), &dev.dtoh(&lse).unwrap(), &want_lse, 2e-5, 1e-6);
            println!("{what}: max |out - reference| {e:e}");
        }
    }
}

#[test]
fn flash_attention_backward_accumulates_the_reference_gradients() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(41);
    for &(b, h, t, d, s) in CASES {
        let n = b * h * t * d;
        let (q, k, v) = (rng.vec(n, -s, s), rng.vec(n, -s, s), rng.vec(n, -1.0, 1.0));
        let dout = rng.vec(n, -1.0, 1.0);
        let (dq0, dk0, dv0) = (rng.vec(n, -0.5, 0.5), rng.vec(n, -0.5, 0.5), rng.vec(n, -0.5, 0.5));
        let (qd, kd, vd, dod) =
            (dev.htod(&q).unwrap(), dev.htod(&k).unwrap(), dev.htod(&v).unwrap(), dev.htod(&dout).unwrap());
        for causal in [true, false] {
            let (mut want_dq, mut want_dk, mut want_dv) = (dq0.clone(), dk0.clone(), dv0.clone());
            reference::attention_backward_naive(
                &q,
                &k,
                &v,
                &dout,
                b * h,
                t,
                d,
                causal,
                &mut want_dq,
                &mut want_dk,
                &mut want_dv,
            );
            // Forward on the GPU provides out and lse, as in training.
            let (mut out, mut lse) = (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(b * h * t).unwrap());
            gpu::flash_attention_forward(&dev, &qd, &kd, &vd, b, h, t, d, causal, &mut out, &mut lse).unwrap();
            let (mut dq, mut dk, mut dv) = (dev.htod(&dq0).unwrap(), dev.htod(&dk0).unwrap(), dev.htod(&dv0).unwrap());
            gpu::flash_attention_backward(
                &dev, &qd, &kd, &vd, &out, &dod, &lse, b, h, t, d, causal, &mut dq, &mut dk, &mut dv,
            )
            .unwrap();
            let what = format!("attention backward b{b} h{h} t{t} d{d} scale {s} causal {causal}");
            let eq = assert_close(&format!("{what} dq"), &dev.dtoh(&dq).unwrap(), &want_dq, 1e-4, 1e-4);
            let ek = assert_close(&format!("{what} dk"), &dev.dtoh(&dk).unwrap(), &want_dk, 1e-4, 1e-4);
            let ev = assert_close(&format!("{what} dv"), &dev.dtoh(&dv).unwrap(), &want_dv, 1e-4, 1e-4);
            println!("{what}: max error dq {eq:e} dk {ek:e} dv {ev:e}");
        }
    }
}

#[test]
fn flash_attention_is_deterministic() {
    let Some(dev) = device() else { return };
    let (b, h, t, d) = (2, 2, 200, 64);
    let n = b * h * t * d;
    let mut rng = Rng::new(42);
    let (q, k, v, g) = (
        dev.htod(&rng.vec(n, -1.0, 1.0)).unwrap(),
        dev.htod(&rng.vec(n, -1.0, 1.0)).unwrap(),
        dev.htod(&rng.vec(n, -1.0, 1.0)).unwrap(),
        dev.htod(&rng.vec(n, -1.0, 1.0)).unwrap(),
    );
    let run = || {
        let (mut out, mut lse) = (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(b * h * t).unwrap());
        gpu::flash_attention_forward(&dev, &q, &k, &v, b, h, t, d, true, &mut out, &mut lse).unwrap();
        let (mut dq, mut dk, mut dv) = (
            dev.alloc_zeros::<f32>(n).unwrap(),
            dev.alloc_zeros::<f32>(n).unwrap(),
            dev.alloc_zeros::<f32>(n).unwrap(),
        );
        gpu::flash_attention_backward(&dev, &q, &k, &v, &out, &g, &lse, b, h, t, d, true, &mut dq, &mut dk, &mut dv)
            .unwrap();
        [dev.dtoh(&out).unwrap(), dev.dtoh(&dq).unwrap(), dev.dtoh(&dk).unwrap(), dev.dtoh(&dv).unwrap()]
    };
    assert_eq!(run(), run(), "two identical attention runs differ");
}

#[test]
fn flash_attention_rejects_unsupported_shapes() {
    let Some(dev) = device() else { return };
    let x = dev.alloc_zeros::<f32>(2 * 48).unwrap();
    let (mut o, mut l) = (dev.alloc_zeros::<f32>(2 * 48).unwrap(), dev.alloc_zeros::<f32>(2).unwrap());
    let e = gpu::flash_attention_forward(&dev, &x, &x, &x, 1, 1, 2, 48, true, &mut o, &mut l).unwrap_err();
    assert_eq!(e.kernel, "cuda_flash_attention_forward");
    assert!(e.message.contains("head_dim 48"), "{e}");
    let e = gpu::flash_attention_forward(&dev, &x, &x, &x, 1, 1, 3, 32, true, &mut o, &mut l).unwrap_err();
    assert!(e.message.contains("lse has 2 elements") && e.message.contains("need 3"), "{e}");
}
