//! Policy gradient and PPO both raise the reward on a toy task: a small random GPT is rewarded for the
//! share of its answer's tokens that lie in the lower half of the vocabulary (about 0.5 at the start).
//! Both trainers run their real iteration code; only the scorer is a stand-in for the reward model.
use autograd::optim::{AdamW, AdamWOptions};
use engine::rng::Rng;
use engine::Result;
use models::gpt::{Gpt, GptConfig};
use rlhf::data::{ChatTokenizer, Conversation};
use rlhf::reward::reward_model_from_policy;
use rlhf::rl::kl_controller::KlController;
use rlhf::rl::pg::{PgConfig, PgTrainer};
use rlhf::rl::ppo::{draw_prompts, ActorCritic, PpoConfig, PpoTrainer};
use rlhf::rl::reinforce::{BaselineKind, RunningBaseline};
use rlhf::rl::rollout::{AnswerScorer, PaddedBatch, Rollout};

/// The toy reward: the fraction of answer tokens (its `<|end|>` excluded) with an id below `limit`.
struct LowHalf {
    limit: u32,
}

impl AnswerScorer for LowHalf {
    fn score(&self, _batch: &PaddedBatch, rollouts: &[&Rollout]) -> Result<Vec<f32>> {
        Ok(rollouts.iter().map(|r| r.answer_ids.iter().filter(|&&t| t < self.limit).count() as f32 / r.answer_ids.len() as f32).collect())
    }
}

fn tiny(tok: &ChatTokenizer, seed: u64) -> Gpt {
    let mut config = GptConfig::preset("char-tiny").unwrap();
    (config.n_layer, config.n_embd, config.n_head, config.block_size, config.vocab_size) = (1, 32, 2, 48, tok.vocab_size());
    Gpt::new(config, &mut Rng::new(seed)).unwrap()
}

fn pool(tok: &ChatTokenizer) -> Vec<(String, Vec<u32>)> {
    ["Hi", "Tell me a word.", "Go on.", "What now?"]
        .iter()
        .map(|p| (p.to_string(), tok.render_prompt(&Conversation::from_prompt(p), 30).unwrap()))
        .collect()
}

/// Mean reward of the first and of the last `window` iterations.
fn report(name: &str, rewards: &[f32], window: usize) -> (f32, f32) {
    let first = rewards[..window].iter().sum::<f32>() / window as f32;
    let last = rewards[rewards.len() - window..].iter().sum::<f32>() / window as f32;
    println!("{name}: reward by iteration {rewards:.3?} (first {window}: {first:.3}, last {window}: {last:.3})");
    (first, last)
}

#[test]
fn policy_gradient_raises_the_reward() {
    let tok = ChatTokenizer::for_world();
    let policy = tiny(&tok, 1);
    let reference = tiny(&tok, 1);
    let scorer = LowHalf { limit: 51 };
    let opt = AdamW::for_module(&policy, 0.0, AdamWOptions { lr: 2e-2, ..Default::default() });
    let config = PgConfig { batch_size: 32, minibatch_size: 16, max_new_tokens: 8, ..Default::default() };
    let mut trainer = PgTrainer {
        policy,
        reference,
        scorer: &scorer,
        tok: tok.clone(),
        opt,
        kl: KlController::Fixed(0.0),
        baseline: RunningBaseline::new(BaselineKind::Exponential { decay: 0.8 }),
        config,
    };
    let (pool, mut rng) = (pool(&tok), Rng::new(4));
    let mut rewards = Vec::new();
    for it in 1..=20 {
        let prompts = draw_prompts(&pool, 32, &mut rng).unwrap();
        let out = trainer.iteration(it, &prompts, &mut rng).unwrap();
        assert_eq!(out.stats.minibatches, 2);
        assert!(out.stats.baseline.is_some() && out.stats.clip_fraction.is_none());
        rewards.push(out.stats.reward_mean);
    }
    let (first, last) = report("pg", &rewards, 2);
    assert!(last > first + 0.15, "policy gradient did not raise the reward: {first:.3} -> {last:.3}");
}

#[test]
fn ppo_raises_the_reward_and_reports_its_diagnostics() {
    let tok = ChatTokenizer::for_world();
    let policy = tiny(&tok, 2);
    let reference = tiny(&tok, 2);
    let critic = reward_model_from_policy(&policy, &mut Rng::new(5)).unwrap();
    let ac = ActorCritic { policy, critic };
    let scorer = LowHalf { limit: 51 };
    // lr 1e-2 over 30 iterations, judged on 4-iteration means: at 2e-2 over 20 the reward climbs with dips
    // (one seed of five ended +0.11 after 20, +0.18 after 30); with these settings five model/rollout
    // seeds all gained +0.20 to +0.35.
    let opt = AdamW::for_module(&ac, 0.0, AdamWOptions { lr: 1e-2, ..Default::default() });
    let config = PpoConfig { batch_size: 32, minibatch_size: 16, epochs: 2, max_new_tokens: 8, max_approx_kl: None, ..Default::default() };
    let mut trainer =
        PpoTrainer { ac, reference, scorer: &scorer, tok: tok.clone(), opt, kl: KlController::Fixed(0.0), config, ptx: None };
    let (pool, mut rng) = (pool(&tok), Rng::new(4));
    let mut rewards = Vec::new();
    for it in 1..=30 {
        let prompts = draw_prompts(&pool, 32, &mut rng).unwrap();
        let out = trainer.iteration(it, &prompts, &mut rng).unwrap();
        let s = &out.stats;
        assert_eq!(s.minibatches, 4);
        if it == 1 {
            // The policy still equals the reference: the KL to it is exactly 0.
            assert_eq!(s.kl, 0.0);
        }
        assert!(s.clip_fraction.is_some_and(|c| (0.0..=1.0).contains(&c)));
        assert!(s.approx_kl.is_some_and(|k| k >= 0.0));
        assert!(s.value_loss.is_some_and(|v| v.is_finite()));
        rewards.push(s.reward_mean);
    }
    let (first, last) = report("ppo", &rewards, 4);
    assert!(last > first + 0.15, "PPO did not raise the reward: {first:.3} -> {last:.3}");
}
