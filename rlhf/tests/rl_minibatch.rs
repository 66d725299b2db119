//! Minibatch index sets: deterministic per seed, each epoch a permutation, epochs reshuffled; KL early stop.
use rlhf::rl::minibatch::{minibatch_indices, KlEarlyStop};

#[test]
fn every_epoch_is_a_permutation_cut_into_minibatches() {
    let (n, size, epochs) = (10, 4, 4);
    let sets = minibatch_indices(n, size, epochs, 7).unwrap();
    assert_eq!(sets.len(), epochs);
    for epoch in &sets {
        assert_eq!(epoch.iter().map(|m| m.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = epoch.concat();
        all.sort();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
    // Epochs are reshuffled, and not left in order.
    assert!(sets.windows(2).any(|w| w[0] != w[1]));
    assert!(sets.iter().any(|e| e.concat() != (0..n).collect::<Vec<_>>()));
}

#[test]
fn same_seed_same_sets_other_seed_other_sets() {
    assert_eq!(minibatch_indices(32, 8, 3, 1).unwrap(), minibatch_indices(32, 8, 3, 1).unwrap());
    assert_ne!(minibatch_indices(32, 8, 3, 1).unwrap(), minibatch_indices(32, 8, 3, 2).unwrap());
    assert!(minibatch_indices(4, 0, 1, 1).is_err());
    assert!(minibatch_indices(0, 2, 2, 1).unwrap().iter().all(|e| e.is_empty()));
}

#[test]
fn early_stop_on_approximate_kl() {
    let stop = KlEarlyStop { max_approx_kl: Some(0.015) };
    assert!(!stop.should_stop(0.0));
    assert!(!stop.should_stop(0.015));
    assert!(stop.should_stop(0.016));
    assert!(stop.should_stop(f32::INFINITY));
    let never = KlEarlyStop { max_approx_kl: None };
    assert!(!never.should_stop(10.0));
    assert!(never.should_stop(f32::NAN));
}
