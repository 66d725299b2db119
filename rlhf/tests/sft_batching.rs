//! SFT batches: on multi-turn conversations only the assistant's tokens are targets, padding is ignored
//! (the padded batch's loss equals the per-example losses computed without padding), and a conversation
//! longer than the block loses its oldest turns, never part of one.
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{Gpt, GptConfig};
use rlhf::data::{ChatTokenizer, Conversation, Message, Role};
use rlhf::sft::{pad_batch, response_loss, EpochSampler, RenderedSet, IGNORE};

fn multi_turn() -> Conversation {
    Conversation::new(vec![
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "What is 2 plus 2?"),
        Message::new(Role::Assistant, "4"),
        Message::new(Role::User, "And 3 plus 3?"),
        Message::new(Role::Assistant, "Sure! 6."),
        Message::new(Role::User, "Thanks!"),
        Message::new(Role::Assistant, "Glad to help."),
    ])
}

fn tiny_model(tok: &ChatTokenizer, block: usize) -> Gpt {
    let mut c = GptConfig::preset("char-tiny").unwrap();
    (c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size) = (2, 2, 32, block, tok.vocab_size());
    Gpt::new(c, &mut Rng::new(3)).unwrap()
}

fn rows<T: engine::Element + Copy>(t: &Tensor) -> Vec<Vec<T>> {
    let w = t.shape()[1];
    t.to_vec::<T>().unwrap().chunks(w).map(|r| r.to_vec()).collect()
}

#[test]
fn only_assistant_tokens_are_targets_and_padding_is_ignored() {
    let tok = ChatTokenizer::for_world();
    let long = tok.render(&multi_turn()).unwrap();
    let short = tok.render(&Conversation::from_prompt_response("Hi", "Hello!")).unwrap();
    let batch = pad_batch(&[&long, &short], tok.pad_id()).unwrap();
    let width = long.ids.len() - 1;
    assert_eq!(batch.ids.shape(), &[2, width]);
    let ids = rows::<i64>(&batch.ids);
    let targets = rows::<i64>(&batch.targets);

    // Row 0: the targets that count are exactly the three answers with their <|end|>, in order.
    let learned: Vec<u32> = targets[0].iter().filter(|&&t| t != IGNORE).map(|&t| t as u32).collect();
    assert_eq!(tok.decode(&learned).unwrap(), "4<|end|>Sure! 6.<|end|>Glad to help.<|end|>");
    // ... and each counted target is the next input token (the shift is right).
    for (i, &t) in targets[0].iter().enumerate() {
        if t != IGNORE {
            assert_eq!(t, long.ids[i + 1] as i64);
        }
    }
    // No role marker, system or user token is ever a target.
    let markers = [Role::System, Role::User, Role::Assistant].map(|r| tok.role_id(r) as i64);
    assert!(targets[0].iter().all(|t| !markers.contains(t)));

    // Row 1: its answer, then padding with the pad id as input and IGNORE as target.
    let n = short.ids.len() - 1;
    let learned: Vec<u32> = targets[1].iter().filter(|&&t| t != IGNORE).map(|&t| t as u32).collect();
    assert_eq!(tok.decode(&learned).unwrap(), "Hello!<|end|>");
    assert!(ids[1][n..].iter().all(|&t| t == tok.pad_id() as i64));
    assert!(targets[1][n..].iter().all(|&t| t == IGNORE));
    assert_eq!(batch.target_tokens, "4Sure! 6.Glad to help.".len() + 3 + "Hello!".len() + 1);
    assert_eq!(batch.real_tokens, long.ids.len() - 1 + short.ids.len() - 1);
}

#[test]
fn the_padded_batch_loss_is_the_mean_over_response_tokens_of_each_unpadded_example() {
    let tok = ChatTokenizer::for_world();
    let model = tiny_model(&tok, 128);
    let examples = [
        tok.render(&multi_turn()).unwrap(),
        tok.render(&Conversation::from_prompt_response("Hi", "Hello!")).unwrap(),
        tok.render(&Conversation::from_prompt_response("What is the capital of France?", "Sure! Paris.")).unwrap(),
    ];
    // Reference: each example alone, no padding; -log p of every masked target, averaged over all of them.
    let (mut sum, mut count) = (0.0f64, 0usize);
    for e in &examples {
        let ids = Tensor::from_vec(e.ids.iter().map(|&t| t as i64).collect::<Vec<_>>(), &[1, e.ids.len()]).unwrap();
        let lp = model.token_logprobs(&ids).unwrap().tensor().to_vec::<f32>().unwrap();
        for (l, &m) in lp.iter().zip(&e.loss_mask[1..]) {
            if m == 1 {
                sum -= *l as f64;
                count += 1;
            }
        }
    }
    let reference = sum / count as f64;
    let refs: Vec<&_> = examples.iter().collect();
    let batch = pad_batch(&refs, tok.pad_id()).unwrap();
    let padded = model.forward(&batch.ids, Some(&batch.targets)).unwrap().loss.unwrap().item().unwrap() as f64;
    assert!((padded - reference).abs() < 1e-4, "padded batch {padded} vs unpadded examples {reference}");
    // The validation loss weights batches by their response tokens: batch size 1 or 3, same number.
    let one = response_loss(&model, &examples, 1, tok.pad_id()).unwrap().unwrap() as f64;
    let three = response_loss(&model, &examples, 3, tok.pad_id()).unwrap().unwrap() as f64;
    assert!((one - reference).abs() < 1e-4 && (three - reference).abs() < 1e-4, "{one} {three} {reference}");
    // Changing the padding id changes nothing (right padding is never attended to by real tokens).
    let other = pad_batch(&refs, 7).unwrap();
    let loss7 = model.forward(&other.ids, Some(&other.targets)).unwrap().loss.unwrap().item().unwrap() as f64;
    assert!((loss7 - padded).abs() < 1e-6);
}

#[test]
fn a_long_conversation_loses_its_oldest_turns_to_fit_the_block() {
    let tok = ChatTokenizer::for_world();
    let full = tok.render(&multi_turn()).unwrap();
    let block = full.ids.len() - 10; // the whole conversation does not fit in block + 1 tokens
    let set = RenderedSet::build(&tok, &[multi_turn()], block);
    assert_eq!((set.examples.len(), set.truncated, set.skipped()), (1, 1, 0));
    let kept = &set.examples[0];
    assert!(kept.ids.len() <= block + 1);
    let text = tok.decode(&kept.ids).unwrap();
    // The system turn stays, the first exchange goes as a whole, the rest is intact.
    assert_eq!(text, "<|system|>Be brief.<|end|><|user|>And 3 plus 3?<|end|><|assistant|>Sure! 6.<|end|><|user|>Thanks!<|end|><|assistant|>Glad to help.<|end|>");
    let batch = pad_batch(&[kept], tok.pad_id()).unwrap();
    let learned: Vec<u32> = rows::<i64>(&batch.targets)[0].iter().filter(|&&t| t != IGNORE).map(|&t| t as u32).collect();
    assert_eq!(tok.decode(&learned).unwrap(), "Sure! 6.<|end|>Glad to help.<|end|>");
    // Too long even for the last exchange: left out and counted.
    let set = RenderedSet::build(&tok, &[multi_turn()], 12);
    assert_eq!((set.examples.len(), set.too_long), (0, 1));
    assert!(set.describe_skipped().contains("longer than the model's context"), "{}", set.describe_skipped());
}

#[test]
fn the_sampler_visits_every_example_once_per_epoch_and_depends_only_on_the_position() {
    let mut s = EpochSampler::new(7, 11);
    let stream = s.take(0, 21);
    for epoch in stream.chunks(7) {
        let mut e = epoch.to_vec();
        e.sort();
        assert_eq!(e, (0..7).collect::<Vec<_>>());
    }
    assert_ne!(stream[..7], stream[7..14], "each epoch is a new order");
    // Resuming at position 10 gives what the uninterrupted stream had there.
    assert_eq!(EpochSampler::new(7, 11).take(10, 5), stream[10..15]);
    assert_ne!(EpochSampler::new(7, 12).take(0, 7), stream[..7]);
}

#[test]
fn a_row_without_a_response_token_is_refused() {
    let tok = ChatTokenizer::for_world();
    let mut chat = tok.render(&Conversation::from_prompt_response("Hi", "Hello!")).unwrap();
    chat.loss_mask.iter_mut().for_each(|m| *m = 0);
    let err = pad_batch(&[&chat], tok.pad_id()).unwrap_err().to_string();
    assert!(err.contains("no response token"), "{err}");
}
