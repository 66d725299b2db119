//! Rollouts: the right-padded batch scores every row exactly as a fresh forward of that row alone would,
//! the answer mask covers the answer and nothing else, and the critic reads one value per state.
use autograd::nn::Module;
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{Gpt, GptConfig};
use rlhf::data::{ChatTokenizer, Conversation};
use rlhf::reward::reward_model_from_policy;
use rlhf::rl::rollout::{collect_rollouts, critic_values, score_logprobs, AnswerScorer, PaddedBatch, Rollout};
use rlhf::sample::SampleOptions;

fn tiny_model(tok: &ChatTokenizer) -> Gpt {
    let mut config = GptConfig::preset("char-tiny").unwrap();
    (config.n_layer, config.n_embd, config.n_head, config.block_size, config.vocab_size) = (2, 32, 2, 64, tok.vocab_size());
    Gpt::new(config, &mut Rng::new(3)).unwrap()
}

fn prompts(tok: &ChatTokenizer) -> Vec<(String, Vec<u32>)> {
    ["Hi", "What is 2 plus 3?", "Spell the word book.", "Which is larger, 67 or 58?", "x"]
        .iter()
        .map(|p| (p.to_string(), tok.render_prompt(&Conversation::from_prompt(p), 40).unwrap()))
        .collect()
}

#[test]
fn rollout_logprobs_equal_a_fresh_forward_of_each_row_alone() {
    let tok = ChatTokenizer::for_world();
    let model = tiny_model(&tok);
    let options = SampleOptions { max_new_tokens: 12, temperature: 1.0, batch_size: 3, seed: 5, ..Default::default() };
    let (rollouts, tps) = collect_rollouts(&model, &tok, &prompts(&tok), &options).unwrap();
    assert!(tps > 0.0);
    assert_eq!(rollouts.len(), 5);
    // An untrained model rarely ends: rows of different lengths, so the padding is exercised.
    let lengths: Vec<usize> = rollouts.iter().map(|r| r.prompt_ids.len() + r.answer_ids.len()).collect();
    assert!(lengths.iter().any(|&l| l != lengths[0]), "{lengths:?}");
    let rows: Vec<&Rollout> = rollouts.iter().collect();
    let batch = PaddedBatch::of(&rows, tok.pad_id()).unwrap();
    let (logp, entropy) = score_logprobs(&model, &batch).unwrap();
    let batched = batch.answer_values(&logp).unwrap();
    let mut worst = 0.0f32;
    for (i, r) in rollouts.iter().enumerate() {
        let ids: Vec<i64> = r.prompt_ids.iter().chain(&r.answer_ids).map(|&t| t as i64).collect();
        let n = ids.len();
        let alone = model.token_logprobs(&Tensor::from_vec(ids, &[1, n]).unwrap()).unwrap().into_tensor().to_vec::<f32>().unwrap();
        // token_logprobs entry t scores ids[t + 1]: the answer is the last answer_len entries.
        let expected = &alone[alone.len() - r.answer_ids.len()..];
        assert_eq!(batched[i].len(), expected.len());
        for (a, b) in batched[i].iter().zip(expected) {
            worst = worst.max((a - b).abs());
        }
    }
    println!("worst |batched - alone| log-prob difference: {worst:e}");
    assert!(worst < 1e-4, "batched rollout log-probs differ from a fresh forward by {worst}");
    // Entropy of a 102-way softmax lies in (0, ln 102].
    let h = batch.answer_values(&entropy).unwrap();
    assert!(h.iter().flatten().all(|&x| x > 0.0 && x <= (102f32).ln() + 1e-4));
}

#[test]
fn the_mask_covers_exactly_the_answer_and_the_critic_reads_every_state() {
    let tok = ChatTokenizer::for_world();
    let model = tiny_model(&tok);
    let options = SampleOptions { max_new_tokens: 6, temperature: 1.0, batch_size: 8, seed: 1, ..Default::default() };
    let (rollouts, _) = collect_rollouts(&model, &tok, &prompts(&tok), &options).unwrap();
    let rows: Vec<&Rollout> = rollouts.iter().collect();
    let batch = PaddedBatch::of(&rows, tok.pad_id()).unwrap();
    let targets = batch.answer_values(&batch.targets.to_dtype(engine::DType::F32).unwrap()).unwrap();
    for (r, t) in rollouts.iter().zip(&targets) {
        let answer: Vec<f32> = r.answer_ids.iter().map(|&x| x as f32).collect();
        assert_eq!(t, &answer, "the masked targets are the answer's tokens");
    }
    let total: f32 = batch.mask.to_vec::<f32>().unwrap().iter().sum();
    assert_eq!(total as usize, batch.answer_tokens());

    let critic = reward_model_from_policy(&model, &mut Rng::new(9)).unwrap();
    let values = critic_values(&critic, &batch).unwrap();
    assert_eq!(values.shape(), batch.mask.shape());
    // The reward model's score of a row is the critic-shaped head read at the last real token, which is
    // one past the last state column.
    let scores = critic.score(&batch, &rows).unwrap();
    let all = critic.token_scores(&batch.ids, &batch.attention).unwrap().into_tensor().to_vec::<f32>().unwrap();
    let l = batch.ids.shape()[1];
    let last = batch.last_index.to_vec::<i64>().unwrap();
    for (i, s) in scores.iter().enumerate() {
        assert!((s - all[i * l + last[i] as usize]).abs() < 1e-5);
    }
    assert!(critic.num_parameters() > model.num_parameters());
}
