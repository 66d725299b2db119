//! The KL controller: fixed β never moves; adaptive β moves in the right direction, within its bounds, and
//! steers a policy whose KL falls with β to the target.
use rlhf::rl::kl_controller::KlController;

#[test]
fn fixed_beta_never_moves() {
    let mut c = KlController::instructgpt();
    assert_eq!(c.beta(), 0.02);
    assert_eq!(c.update(100.0, 512), 0.02);
    assert_eq!(c.update(0.0, 512), 0.02);
}

#[test]
fn adaptive_beta_moves_towards_the_target() {
    let (beta, target, horizon, n) = (0.1, 6.0, 10_000.0, 500);
    let k = n as f64 / horizon;
    let step = |kl: f64| KlController::adaptive(beta, target, horizon).unwrap().update(kl, n);
    // Above target: β grows; below: it shrinks; at target: unchanged.
    assert!(step(7.0) > beta);
    assert!(step(5.0) < beta);
    assert_eq!(step(6.0), beta);
    // Proportional inside the clip: error (6.6 − 6)/6 = 0.1.
    assert!((step(6.6) - beta * (1.0 + 0.1 * k)).abs() < 1e-12);
    // Bounded: the error is clipped to ±0.2 however far the KL is.
    assert!((step(1e6) - beta * (1.0 + 0.2 * k)).abs() < 1e-12);
    assert!((step(0.0) - beta * (1.0 - 0.2 * k)).abs() < 1e-12);
    // Non-finite KL is ignored; β never goes negative even for a huge batch.
    assert_eq!(step(f64::NAN), beta);
    assert!(KlController::adaptive(beta, target, horizon).unwrap().update(0.0, 1_000_000) >= 0.0);
    assert!(KlController::adaptive(beta, 0.0, horizon).is_err());
    assert!(KlController::adaptive(beta, target, 0.0).is_err());
}

#[test]
fn adaptive_beta_steers_kl_to_the_target() {
    // A toy policy whose KL to the reference is inversely proportional to β: KL = 0.6 / β.
    let target = 6.0;
    let mut c = KlController::adaptive(0.5, target, 1000.0).unwrap();
    for _ in 0..2000 {
        let kl = 0.6 / c.beta();
        c.update(kl, 64);
    }
    let kl = 0.6 / c.beta();
    assert!((kl - target).abs() / target < 0.02, "kl {kl} beta {}", c.beta());
}
