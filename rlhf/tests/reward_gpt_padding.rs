//! The GPT-trunk reward model reads each row at its last real token: a left-padded and a right-padded
//! batch of the same answers give every row the reward it gets alone, unpadded, and the same loss and
//! gradients; the reward-model folder round-trips; a reward row ends in `<|end|>`.
use autograd::nn::Module;
use autograd::no_grad;
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::data::{ChatTokenizer, Conversation};
use rlhf::reward::examples::reward_row;
use rlhf::reward::{load_reward_dir, pack_kwise, reward_model_from_policy, save_reward_dir, GptRewardModel, Padding};

mod common;

fn tiny_reward_model(seed: u64) -> (GptRewardModel, ChatTokenizer) {
    let tok = ChatTokenizer::for_world();
    let policy = common::tiny_chat_gpt(seed, &tok);
    (reward_model_from_policy(&policy, &mut Rng::new(seed + 1)).unwrap(), tok)
}

fn alone(model: &GptRewardModel, ids: &[u32]) -> f32 {
    let _guard = no_grad();
    let n = ids.len();
    let row = Tensor::from_vec(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[1, n]).unwrap();
    let mask = Tensor::ones(&[1, n], DType::I64).unwrap();
    let last = Tensor::from_vec(vec![n as i64 - 1], &[1]).unwrap();
    model.rewards(&row, &mask, &last).unwrap().item().unwrap()
}

#[test]
fn left_and_right_padding_give_each_row_its_unpadded_reward() {
    let (model, tok) = tiny_reward_model(3);
    let ex = common::reward_examples(&tok);
    let pad = tok.pad_id();
    let expected: Vec<f32> = ex.iter().flat_map(|e| e.answers.iter().map(|a| alone(&model, &[e.prompt.clone(), a.clone()].concat())).collect::<Vec<_>>()).collect();
    for padding in [Padding::Right, Padding::Left] {
        let batch = pack_kwise(&ex, pad, padding, None).unwrap();
        // The batch really is padded: rows have different lengths.
        assert!(batch.lengths.iter().min() < batch.lengths.iter().max());
        let _guard = no_grad();
        let got = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!((g - e).abs() < 1e-4, "{padding:?} row {i}: batched {g}, alone {e}");
        }
    }
    // Padding the pad id with a different token must not matter either (it is masked, not just zero).
    let mut batch = pack_kwise(&ex, pad, Padding::Left, None).unwrap();
    let ids: Vec<i64> = batch.input_ids.to_vec::<i64>().unwrap();
    let mask: Vec<i64> = batch.attention_mask.to_vec::<i64>().unwrap();
    let noisy: Vec<i64> = ids.iter().zip(&mask).map(|(&i, &m)| if m == 0 { 7 } else { i }).collect();
    batch.input_ids = Tensor::from_vec(noisy, batch.input_ids.shape()).unwrap();
    let _guard = no_grad();
    let got = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-4, "left padding with token 7: {g} vs {e}");
    }
}

#[test]
fn left_and_right_padded_batches_give_the_same_loss_and_gradients() {
    let (model, tok) = tiny_reward_model(5);
    let ex = common::reward_examples(&tok);
    let mut results = Vec::new();
    for padding in [Padding::Right, Padding::Left] {
        let batch = pack_kwise(&ex, tok.pad_id(), padding, None).unwrap();
        for (_, p) in model.named_parameters() {
            p.zero_grad();
        }
        let (loss, _) = model.loss(&batch).unwrap();
        loss.backward().unwrap();
        let grads: Vec<f32> = model.named_parameters().iter().flat_map(|(_, p)| p.grad().unwrap().to_vec::<f32>().unwrap()).collect();
        results.push((loss.item().unwrap(), grads));
    }
    assert!((results[0].0 - results[1].0).abs() < 1e-5, "loss right {} left {}", results[0].0, results[1].0);
    let worst = results[0].1.iter().zip(&results[1].1).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "gradients differ by up to {worst}");
}

#[test]
fn reward_rows_end_in_the_end_of_turn_and_folders_round_trip() {
    let (model, tok) = tiny_reward_model(7);
    let (prompt, answer) = reward_row(&tok, &Conversation::from_prompt("Hi"), "Hello!", 96).unwrap();
    assert_eq!(*prompt.last().unwrap(), tok.special_id("<|assistant|>").unwrap());
    assert_eq!(*answer.last().unwrap(), tok.end_id());
    model.add_to_bias(0.25).unwrap();
    let dir = std::env::temp_dir().join(format!("rlhf_reward_gpt_padding_{}", std::process::id()));
    save_reward_dir(&model, &dir).unwrap();
    let back = load_reward_dir(&dir).unwrap();
    let ids = [prompt, answer].concat();
    assert_eq!(alone(&model, &ids), alone(&back, &ids));
    std::fs::remove_dir_all(&dir).unwrap();
}
