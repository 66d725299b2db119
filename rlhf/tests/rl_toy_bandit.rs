//! The pieces composed on a toy problem (no language model): a "policy" of free logits per position,
//! `[T, V]`, writes answers of T tokens; the score is how many tokens are 0. PPO (per-token reward with KL
//! penalty → GAE → whitening → clipped losses over shuffled minibatches for several epochs, early stop on
//! approximate KL) and REINFORCE (with a running baseline) must both raise the score from its starting
//! expectation T/V, and PPO's KL to the reference must grow from exactly 0.
use autograd::Var;
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::rl::gae::{gae, whiten, GaeOptions};
use rlhf::rl::kl::{masked_kl, KlEstimator};
use rlhf::rl::logprobs::{token_logprobs, token_logprobs_tensor};
use rlhf::rl::minibatch::{minibatch_indices, KlEarlyStop};
use rlhf::rl::ppo_loss::{explained_variance, policy_loss, total_loss, value_loss, PpoOptions};
use rlhf::rl::reinforce::{reinforce_loss, BaselineKind, RunningBaseline};
use rlhf::rl::rewards::{per_token_rewards, RewardOptions};

const T: usize = 3;
const V: usize = 4;
const B: usize = 32;

/// `[B, T]` tokens sampled from `softmax(logits [T, V])` per position.
fn sample(logits: &Tensor, rng: &mut Rng) -> Tensor {
    let p = logits.softmax(-1).unwrap().to_vec::<f32>().unwrap();
    let mut tokens = Vec::with_capacity(B * T);
    for _ in 0..B {
        for t in 0..T {
            let u = rng.next_f32();
            let (mut acc, mut pick) = (0.0, V - 1);
            for v in 0..V {
                acc += p[t * V + v];
                if u < acc {
                    pick = v;
                    break;
                }
            }
            tokens.push(pick as i64);
        }
    }
    Tensor::from_vec(tokens, &[B, T]).unwrap()
}

fn scores(tokens: &Tensor) -> Vec<f32> {
    let ids = tokens.to_vec::<i64>().unwrap();
    ids.chunks(T).map(|row| row.iter().filter(|&&x| x == 0).count() as f32).collect()
}

/// The per-position logits repeated for a batch of `n` rows: `[n, T, V]`.
fn batch_logits(logits: &Var, n: usize) -> Var {
    logits.unsqueeze(0).unwrap().broadcast_to(&[n, T, V]).unwrap()
}

fn index(rows: &[usize]) -> Tensor {
    Tensor::from_vec(rows.iter().map(|&r| r as i64).collect::<Vec<_>>(), &[rows.len()]).unwrap()
}

fn mean(xs: &[f32]) -> f32 {
    xs.iter().sum::<f32>() / xs.len() as f32
}

#[test]
fn ppo_improves_the_score_and_pays_kl_for_it() {
    let mut rng = Rng::new(17);
    let reference = Tensor::zeros(&[T, V], DType::F32).unwrap();
    let mut policy = reference.clone();
    let mut value = Tensor::zeros(&[T], DType::F32).unwrap();
    let mask = Tensor::ones(&[B, T], DType::F32).unwrap();
    let options = PpoOptions { value_coef: 0.5, ..Default::default() };
    let early_stop = KlEarlyStop { max_approx_kl: Some(0.5) };
    let reward_options = RewardOptions { kl_beta: 0.05, ..Default::default() };
    let (lr, epochs, minibatch) = (0.5f32, 4, 8);
    let mut first_score = None;
    let mut last = (0.0f32, 0.0f32);
    for iteration in 0..25 {
        // Rollout: sample, score, per-token rewards, GAE, whitening.
        let tokens = sample(&policy, &mut rng);
        let s = scores(&tokens);
        first_score.get_or_insert(mean(&s));
        let broadcast = |t: &Tensor| t.unsqueeze(0).unwrap().broadcast_to(&[B, T, V]).unwrap().contiguous().unwrap();
        let logp_old = token_logprobs_tensor(&broadcast(&policy), &tokens).unwrap();
        let logp_ref = token_logprobs_tensor(&broadcast(&reference), &tokens).unwrap();
        let kl = masked_kl(&logp_old, &logp_ref, &mask, KlEstimator::K1).unwrap();
        if iteration == 0 {
            assert_eq!(kl.per_sequence, 0.0);
        }
        let rewards = per_token_rewards(&s, &logp_old, &logp_ref, &mask, &[true; B], &reward_options).unwrap();
        let values_old = value.unsqueeze(0).unwrap().broadcast_to(&[B, T]).unwrap().contiguous().unwrap();
        let g = gae(&rewards.rewards, &values_old, &mask, &GaeOptions::default()).unwrap();
        let advantages = whiten(&g.advantages, &mask, true).unwrap();
        let ev = explained_variance(&values_old, &g.returns, &mask).unwrap();
        assert!(ev.is_nan() || ev <= 1.0);
        last = (mean(&s), kl.per_sequence);

        // Update: several epochs over shuffled minibatches.
        'epochs: for epoch in minibatch_indices(B, minibatch, epochs, 1000 + iteration).unwrap() {
            for rows in epoch {
                let idx = index(&rows);
                let pick = |t: &Tensor| t.index_select(0, &idx).unwrap().contiguous().unwrap();
                let (policy_leaf, value_leaf) = (Var::leaf(policy.clone()), Var::leaf(value.clone()));
                let logits = batch_logits(&policy_leaf, rows.len());
                let logp = token_logprobs(&logits, &pick(&tokens)).unwrap();
                let m = pick(&mask);
                let pl = policy_loss(&logp, &pick(&logp_old), &pick(&advantages), &m, options.clip_eps).unwrap();
                assert!((0.0..=1.0).contains(&pl.clip_fraction) && pl.approx_kl >= 0.0);
                let values = value_leaf.unsqueeze(0).unwrap().broadcast_to(&[rows.len(), T]).unwrap();
                let vl =
                    value_loss(&values, &pick(&values_old), &pick(&g.returns), &m, options.value_clip_eps).unwrap();
                total_loss(&pl.loss, &vl.loss, None, &options).unwrap().backward().unwrap();
                policy = policy.sub(&policy_leaf.grad().unwrap().mul_scalar(lr).unwrap()).unwrap();
                value = value.sub(&value_leaf.grad().unwrap().mul_scalar(lr).unwrap()).unwrap();
                if early_stop.should_stop(pl.approx_kl) {
                    break 'epochs;
                }
            }
        }
    }
    let start = first_score.unwrap();
    let (end, kl) = last;
    eprintln!("PPO: score {start} -> {end}, KL to reference {kl}");
    // Start: T/V = 0.75 expected zeros; the best answer has 3.
    assert!(start < 1.3, "start score {start}");
    assert!(end > 2.0, "PPO score {start} -> {end}");
    assert!(kl > 0.1 && kl.is_finite(), "KL to reference {kl}");
}

#[test]
fn reinforce_improves_the_score() {
    let mut rng = Rng::new(5);
    let mut policy = Tensor::zeros(&[T, V], DType::F32).unwrap();
    let mask = Tensor::ones(&[B, T], DType::F32).unwrap();
    let mut baseline = RunningBaseline::new(BaselineKind::Exponential { decay: 0.9 });
    let mut history = Vec::new();
    for _ in 0..40 {
        let tokens = sample(&policy, &mut rng);
        let s = scores(&tokens);
        history.push(mean(&s));
        let leaf = Var::leaf(policy.clone());
        let logp = token_logprobs(&batch_logits(&leaf, B), &tokens).unwrap();
        reinforce_loss(&logp, &mask, &s, baseline.value()).unwrap().backward().unwrap();
        baseline.update(&s);
        policy = policy.sub(&leaf.grad().unwrap().mul_scalar(0.5).unwrap()).unwrap();
    }
    let start = history[0];
    let end = mean(&history[history.len() - 5..]);
    eprintln!("REINFORCE: score {start} -> {end}, baseline {}", baseline.value());
    assert!(start < 1.3 && end > 2.0, "REINFORCE score {start} -> {end}");
    assert!((baseline.value() - end).abs() < 0.6, "baseline {} tracks the recent reward {end}", baseline.value());
}
