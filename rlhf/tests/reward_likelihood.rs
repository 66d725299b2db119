//! The reward model's answer-likelihood feature: `r = head(last token) + w · Σ_answer log p_trunk`. The
//! feature equals the trunk's own log-likelihood of the answer tokens (checked against `Gpt::token_logprobs`
//! of each row alone), under left and right padding and with the prompt cut; PPO's scorer (rollout layout)
//! gives the training layout's rewards; the weight gets a gradient and round-trips through the folder;
//! models without the feature are unchanged; an encoder refuses it.
use autograd::no_grad;
use engine::rng::Rng;
use engine::{DType, Tensor};
use models::bert::{BertConfig, BertModel};
use models::gpt::Gpt;
use rlhf::data::ChatTokenizer;
use rlhf::reward::{load_reward_dir, pack_kwise, ranking_loss, reward_model_from_policy, save_reward_dir, GptRewardModel, Padding, RewardModel};
use rlhf::rl::rollout::{AnswerScorer, PaddedBatch, Rollout};

mod common;

fn policy(seed: u64, tok: &ChatTokenizer) -> Gpt {
    common::tiny_chat_gpt(seed, tok)
}

/// A reward model whose head reads 0 everywhere, so its reward is `w` times the feature alone.
fn feature_only(policy: &Gpt, w: f32) -> GptRewardModel {
    let rm = reward_model_from_policy(policy, &mut Rng::new(1)).unwrap().with_likelihood_feature(w).unwrap();
    rm.head.weight.set_value(Tensor::zeros(rm.head.weight.value().shape(), DType::F32).unwrap()).unwrap();
    rm.head.bias.as_ref().unwrap().set_value(Tensor::zeros(&[1], DType::F32).unwrap()).unwrap();
    rm
}

/// `Σ log p(answer token)` of `prompt ++ answer` alone, cut to its last `max_len` tokens, under `policy`.
fn loglik_alone(policy: &Gpt, prompt: &[u32], answer: &[u32], max_len: usize) -> f32 {
    let _guard = no_grad();
    let mut row: Vec<u32> = [prompt, answer].concat();
    let cut = row.len().saturating_sub(max_len);
    row.drain(..cut);
    let answer_start = row.len() - answer.len().min(row.len());
    let ids = Tensor::from_vec(row.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[1, row.len()]).unwrap();
    let lp = policy.token_logprobs(&ids).unwrap().tensor().to_vec::<f32>().unwrap(); // lp[t] scores row[t + 1]
    (answer_start.max(1)..row.len()).map(|c| lp[c - 1]).sum()
}

#[test]
fn the_feature_is_the_trunks_log_likelihood_of_the_answer_under_any_padding() {
    let tok = ChatTokenizer::for_world();
    let policy = policy(3, &tok);
    let rm = feature_only(&policy, 2.0);
    let ex = common::reward_examples(&tok);
    for max_len in [None, Some(12)] {
        let expected: Vec<f32> = ex
            .iter()
            .flat_map(|e| e.answers.iter().map(|a| 2.0 * loglik_alone(&policy, &e.prompt, a, max_len.unwrap_or(usize::MAX))).collect::<Vec<_>>())
            .collect();
        for padding in [Padding::Right, Padding::Left] {
            let batch = pack_kwise(&ex, tok.pad_id(), padding, max_len).unwrap();
            let _guard = no_grad();
            let got = rm.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert!((g - e).abs() < 1e-3 * e.abs().max(1.0), "{padding:?}, max_len {max_len:?}, row {i}: {g} against {e}");
            }
            assert!(got.iter().all(|&g| g < 0.0), "log-likelihoods are negative: {got:?}");
        }
    }
}

#[test]
fn ppo_scores_rollouts_as_training_scores_rankings() {
    let tok = ChatTokenizer::for_world();
    let policy = policy(4, &tok);
    let rm = reward_model_from_policy(&policy, &mut Rng::new(9)).unwrap().with_likelihood_feature(0.7).unwrap();
    let ex = common::reward_examples(&tok);
    let batch = pack_kwise(&ex, tok.pad_id(), Padding::Left, None).unwrap();
    let _guard = no_grad();
    let trained: Vec<f32> = rm.rewards_for(&batch).unwrap().tensor().to_vec().unwrap();
    let rollouts: Vec<Rollout> = ex
        .iter()
        .flat_map(|e| e.answers.iter().map(|a| Rollout { prompt: String::new(), prompt_ids: e.prompt.clone(), answer_ids: a.clone(), text: String::new(), finished: true }))
        .collect();
    let rows: Vec<&Rollout> = rollouts.iter().collect();
    let padded = PaddedBatch::of(&rows, tok.pad_id()).unwrap();
    let scored = AnswerScorer::score(&rm, &padded, &rows).unwrap();
    for (i, (a, b)) in trained.iter().zip(&scored).enumerate() {
        assert!((a - b).abs() < 1e-3 * a.abs().max(1.0), "row {i}: rankings layout {a}, rollout layout {b}");
    }
    // Paid per token (PPO's --likelihood-reward per-token): head + the row's token sums is the same score,
    // and only answer positions carry any of it.
    let (head, per_token) = AnswerScorer::score_per_token(&rm, &padded, &rows).unwrap();
    let per_token = per_token.expect("the feature comes per token");
    assert_eq!(per_token.shape(), padded.mask.shape());
    let (p, m) = (per_token.to_vec::<f32>().unwrap(), padded.mask.to_dtype(DType::F32).unwrap().to_vec::<f32>().unwrap());
    let t = padded.mask.shape()[1];
    for (i, s) in scored.iter().enumerate() {
        let row: f32 = p[i * t..(i + 1) * t].iter().sum();
        assert!((head[i] + row - s).abs() < 1e-3 * s.abs().max(1.0), "row {i}: {} + {row} against {s}", head[i]);
        assert!((0..t).all(|j| m[i * t + j] != 0.0 || p[i * t + j] == 0.0), "row {i} pays the feature off the answer");
        assert!((0..t).any(|j| p[i * t + j] < 0.0), "row {i}: no token got its log-probability");
    }
    // A model without the feature has nothing per token.
    let plain = reward_model_from_policy(&policy, &mut Rng::new(9)).unwrap();
    assert!(AnswerScorer::score_per_token(&plain, &padded, &rows).unwrap().1.is_none());
}

#[test]
fn the_weight_learns_and_round_trips_and_plain_models_are_unchanged() {
    let tok = ChatTokenizer::for_world();
    let policy = policy(5, &tok);
    let ex = common::reward_examples(&tok);
    let batch = pack_kwise(&ex, tok.pad_id(), Padding::Left, None).unwrap();

    // Without the feature: the same rewards as before it existed (head at the last token only), and
    // `rewards` without a mask works.
    let plain = reward_model_from_policy(&policy, &mut Rng::new(1)).unwrap();
    assert!(plain.likelihood.is_none());
    let head_only: Vec<f32> = { let _g = no_grad(); plain.rewards_for(&batch).unwrap().tensor().to_vec().unwrap() };
    let with = reward_model_from_policy(&policy, &mut Rng::new(1)).unwrap().with_likelihood_feature(0.0).unwrap();
    let zero_w: Vec<f32> = { let _g = no_grad(); with.rewards_for(&batch).unwrap().tensor().to_vec().unwrap() };
    for (a, b) in head_only.iter().zip(&zero_w) {
        assert!((a - b).abs() < 1e-5, "w = 0 must leave the head's reward: {a} vs {b}");
    }
    // The unmasked entry point refuses a model with the feature rather than silently dropping it.
    let err = with.rewards(&batch.input_ids, &batch.attention_mask, &batch.last_index).unwrap_err().to_string();
    assert!(err.contains("answer mask"), "{err}");

    // The ranking loss reaches w (and through the feature, the trunk's LM head).
    let rm = reward_model_from_policy(&policy, &mut Rng::new(2)).unwrap().with_likelihood_feature(1.0).unwrap();
    let rewards = rm.rewards_for(&batch).unwrap();
    ranking_loss(&rewards, &batch.groups).unwrap().backward().unwrap();
    let g = rm.likelihood.as_ref().unwrap().grad().expect("w has a gradient").to_vec::<f32>().unwrap()[0];
    assert!(g.is_finite() && g != 0.0, "dL/dw = {g}");

    // The folder keeps w (`score.likelihood`), and the loaded model scores the same.
    rm.likelihood.as_ref().unwrap().set_value(Tensor::from_vec(vec![0.37f32], &[1]).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("rm_likelihood_{}", std::process::id()));
    save_reward_dir(&rm, &dir).unwrap();
    let back = load_reward_dir(&dir).unwrap();
    assert_eq!(back.likelihood.as_ref().unwrap().value().to_vec::<f32>().unwrap(), vec![0.37]);
    let _g = no_grad();
    let (a, b): (Vec<f32>, Vec<f32>) = (rm.rewards_for(&batch).unwrap().tensor().to_vec().unwrap(), back.rewards_for(&batch).unwrap().tensor().to_vec().unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y} after the round trip");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_encoder_has_no_likelihood_to_offer() {
    let config = BertConfig::from_json_str(
        r#"{"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#,
    )
    .unwrap();
    let mut rng = Rng::new(0);
    let rm = RewardModel::new(BertModel::new(&config, false, &mut rng).unwrap(), &mut rng).unwrap();
    let err = rm.with_likelihood_feature(1.0).unwrap_err().to_string();
    assert!(err.contains("language-model head"), "{err}");
}

#[test]
fn a_frozen_source_keeps_the_base_likelihood_while_the_trunk_learns_and_round_trips() {
    let tok = ChatTokenizer::for_world();
    let base = policy(6, &tok);
    let ex = common::reward_examples(&tok);
    let batch = pack_kwise(&ex, tok.pad_id(), Padding::Left, None).unwrap();
    let expected: Vec<f32> = ex.iter().flat_map(|e| e.answers.iter().map(|a| 1.5 * loglik_alone(&base, &e.prompt, a, usize::MAX)).collect::<Vec<_>>()).collect();

    let plain = reward_model_from_policy(&base, &mut Rng::new(1)).unwrap();
    assert!(plain.with_frozen_likelihood_source(policy(6, &tok)).unwrap_err().to_string().contains("add the feature first"));

    // The trunk moves away from the base (as ranking training moves it); the feature does not.
    let rm = feature_only(&base, 1.5).with_frozen_likelihood_source(policy(6, &tok)).unwrap();
    let wte = &rm.trunk.wte.weight;
    wte.set_value(wte.value().add_scalar(0.3).unwrap().mul_scalar(1.7).unwrap()).unwrap();
    let rewards = rm.rewards_for(&batch).unwrap();
    ranking_loss(&rewards, &batch.groups).unwrap().backward().unwrap();
    let source = rm.likelihood_source.as_ref().unwrap();
    assert!(autograd::nn::Module::parameters(source.as_ref()).iter().all(|p| p.grad().is_none()), "the frozen source got a gradient");
    assert!(rm.likelihood.as_ref().unwrap().grad().is_some(), "w still learns");
    let got: Vec<f32> = rewards.tensor().to_vec().unwrap();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!((g - e).abs() < 1e-3 * e.abs().max(1.0), "row {i}: {g} against the base's {e}");
    }
    // Trunk and source are separate weights, so the source is not among the trained parameters.
    let names: Vec<String> = autograd::nn::Module::named_parameters(&rm).into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| n.starts_with("trunk.") || n.starts_with("score.")), "{names:?}");

    // The folder keeps the source in likelihood_model/; a model without one saved there removes it.
    let dir = std::env::temp_dir().join(format!("rm_frozen_likelihood_{}", std::process::id()));
    save_reward_dir(&rm, &dir).unwrap();
    assert!(dir.join(rlhf::reward::folder::LIKELIHOOD_MODEL_DIR).join("config.json").exists());
    let back = load_reward_dir(&dir).unwrap();
    assert!(back.likelihood_source.is_some());
    let again: Vec<f32> = { let _g = no_grad(); back.rewards_for(&batch).unwrap().tensor().to_vec().unwrap() };
    for (x, y) in got.iter().zip(&again) {
        assert!((x - y).abs() < 1e-4 * x.abs().max(1.0), "{x} vs {y} after the round trip");
    }
    save_reward_dir(&feature_only(&base, 1.5), &dir).unwrap();
    assert!(!dir.join(rlhf::reward::folder::LIKELIHOOD_MODEL_DIR).exists(), "a stale likelihood model stayed behind");
    assert!(load_reward_dir(&dir).unwrap().likelihood_source.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
