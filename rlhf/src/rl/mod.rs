//! The model-agnostic math of policy-gradient RLHF: everything PPO and REINFORCE need once a model has
//! produced logits, values and scores, then the rollouts and one iteration of each trainer (the run folder and
//! the command line are in `rlhf ppo` / `rlhf pg`).
//!
//! | module | what |
//! | --- | --- |
//! | [`logprobs`] | per-token log-probabilities of the chosen tokens, per-token entropy, masked means |
//! | [`kl`] | the per-token KL estimators `k1 = log π − log π_ref` and the non-negative `k3` |
//! | [`rewards`] | InstructGPT's per-token reward: `−β·KL` on every response token plus the score on the last |
//! | [`gae`] | generalized advantage estimation over masked sequences, and advantage whitening |
//! | [`ppo_loss`] | the clipped surrogate, the clipped value loss, clip fraction, approximate KL, explained variance |
//! | [`kl_controller`] | fixed β and Ziegler et al.'s adaptive KL controller |
//! | [`reinforce`] | the REINFORCE loss on whole answers and its running-mean baseline |
//! | [`minibatch`] | seeded minibatch index sets over several PPO epochs, early stop on approximate KL |
//! | [`rollout`] | sampling answers (KV cache, batched), the right-padded batch every model scores, [`rollout::AnswerScorer`] |
//! | [`ptx`] | PPO-ptx: the pretraining loss on world text |
//! | [`policy_reward`] | the reward of `rlhf ppo` / `rlhf pg` from a GPT reward model (token ids) or a BERT one (text) |
//! | [`ppo`] | one PPO iteration: rollout, score, rewards, GAE, epochs of clipped updates, β update |
//! | [`pg`] | one REINFORCE iteration with a running-mean baseline |
//! | [`stats`] | what each iteration logs |
//! | [`run_folder`] | the prompt pool, the RL metrics log, summary and chart of `rlhf ppo` / `rlhf pg` |
//! | [`chart`] | the charts of an RL run (reward, KL, entropy, losses) |
//!
//! **Conventions.** Sequences are `[B, T]` tensors (F32 unless named otherwise). A `mask` is `[B, T]`, F32
//! or U8, nonzero on the response tokens the math applies to (prompt and padding are zero); it need not be
//! contiguous, but "the last response token" of a row is its last nonzero position. `logits[b, t]` is the
//! distribution that chose `tokens[b, t]`: a caller with a causal LM passes `logits[:, :-1]` against
//! `tokens[:, 1:]`.
//!
//! Sources: Schulman et al. 2017, *Proximal Policy Optimization Algorithms* (PPO); Schulman et al. 2016,
//! *High-Dimensional Continuous Control Using Generalized Advantage Estimation* (GAE); Ziegler et al. 2019,
//! *Fine-Tuning Language Models from Human Preferences*; Ouyang et al. 2022, *Training language models to
//! follow instructions with human feedback* (InstructGPT); Williams 1992 (REINFORCE); Schulman 2020,
//! *Approximating KL Divergence* (the k1/k3 estimators).
use engine::{DType, Error, Result, Tensor};

pub mod gae;
pub mod kl;
pub mod kl_controller;
pub mod logprobs;
pub mod chart;
pub mod minibatch;
pub mod pg;
pub mod policy_reward;
pub mod ppo;
pub mod ppo_loss;
pub mod ptx;
pub mod reinforce;
pub mod rewards;
pub mod rollout;
pub mod run_folder;
pub mod stats;

/// Checks that `t` is `[B, T]` like `shape` and returns its values as f32 in row-major order.
pub(crate) fn values_2d(op: &'static str, name: &str, t: &Tensor, shape: &[usize]) -> Result<Vec<f32>> {
    if t.shape() != shape {
        return Err(Error::op(op, format!("{name} is {:?} but must be {:?}", t.shape(), shape)));
    }
    t.to_dtype(DType::F32)?.to_vec_f32()
}

/// The `[B, T]` shape of `t`, or an error naming `op` when `t` is not rank 2.
pub(crate) fn shape_2d(op: &'static str, name: &str, t: &Tensor) -> Result<(usize, usize)> {
    match t.shape() {
        [b, tt] => Ok((*b, *tt)),
        s => Err(Error::op(op, format!("{name} must be [B, T] but is {s:?}"))),
    }
}

/// `mask` (F32 or U8, shape `shape`) as an F32 tensor of exactly 0 and 1.
pub(crate) fn mask_tensor(op: &'static str, mask: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let m: Vec<f32> =
        values_2d(op, "mask", mask, shape)?.into_iter().map(|x| if x != 0.0 { 1.0 } else { 0.0 }).collect();
    Tensor::from_vec(m, shape)
}

/// `mask` as booleans, row-major.
pub(crate) fn mask_bools(op: &'static str, mask: &Tensor, shape: &[usize]) -> Result<Vec<bool>> {
    Ok(values_2d(op, "mask", mask, shape)?.into_iter().map(|x| x != 0.0).collect())
}
