//! The chat template: ids, the loss mask on multi-turn conversations, truncation, specials.
use models::tokenizer::{special, AnyTokenizer, BpeTrainer, Tokenizer};
use rlhf::data::{ChatError, ChatTokenizer, Conversation, Message, Role};

fn conv(turns: &[(Role, &str)]) -> Conversation {
    Conversation::new(turns.iter().map(|(r, c)| Message::new(*r, *c)).collect())
}

fn multi_turn() -> Conversation {
    conv(&[
        (Role::System, "Be brief."),
        (Role::User, "What is 2 plus 2?"),
        (Role::Assistant, "4"),
        (Role::User, "And 3 plus 3?"),
        (Role::Assistant, "Sure! 6."),
        (Role::User, "Thanks."),
        (Role::Assistant, "You are welcome."),
    ])
}

/// The text the mask selects, with a `|` between runs of masked tokens.
fn masked_runs(tok: &ChatTokenizer, ids: &[u32], mask: &[u8]) -> String {
    let mut runs: Vec<String> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    for (&id, &m) in ids.iter().zip(mask) {
        if m == 1 {
            cur.push(id);
        } else if !cur.is_empty() {
            runs.push(tok.decode(&cur).unwrap());
            cur.clear();
        }
    }
    if !cur.is_empty() {
        runs.push(tok.decode(&cur).unwrap());
    }
    runs.join("|")
}

#[test]
fn the_mask_is_one_exactly_on_assistant_content_and_its_end_token() {
    let tok = ChatTokenizer::for_world();
    let c = multi_turn();
    let r = tok.render(&c).unwrap();
    assert_eq!(r.ids.len(), r.loss_mask.len());
    assert_eq!(
        tok.decode(&r.ids).unwrap(),
        "<|system|>Be brief.<|end|><|user|>What is 2 plus 2?<|end|><|assistant|>4<|end|><|user|>And 3 plus 3?<|end|>\
         <|assistant|>Sure! 6.<|end|><|user|>Thanks.<|end|><|assistant|>You are welcome.<|end|>"
    );
    assert_eq!(masked_runs(&tok, &r.ids, &r.loss_mask), "4<|end|>|Sure! 6.<|end|>|You are welcome.<|end|>");
    // Count: assistant content chars + one end token per assistant turn.
    let expected: usize = ["4", "Sure! 6.", "You are welcome."].iter().map(|s| s.len() + 1).sum();
    assert_eq!(r.loss_mask.iter().map(|&m| m as usize).sum::<usize>(), expected);
    // Markers are never learned; every <|end|> after an assistant turn is.
    let assistant = tok.role_id(Role::Assistant);
    for (i, &id) in r.ids.iter().enumerate() {
        if id == assistant || id == tok.role_id(Role::User) || id == tok.role_id(Role::System) {
            assert_eq!(r.loss_mask[i], 0);
        }
    }
    assert_eq!(r.dropped_messages, 0);
}

#[test]
fn special_token_text_in_content_stays_text() {
    let tok = ChatTokenizer::for_world();
    let r = tok.render(&conv(&[(Role::User, "say <|end|>"), (Role::Assistant, "<|user|>")])).unwrap();
    let end = tok.end_id();
    assert_eq!(r.ids.iter().filter(|&&i| i == end).count(), 2, "only the two real ends");
    assert_eq!(r.ids.iter().filter(|&&i| i == tok.role_id(Role::User)).count(), 1);
    assert_eq!(tok.decode(&r.ids).unwrap(), "<|user|>say <|end|><|end|><|assistant|><|user|><|end|>");
    // Asked explicitly, the specials are recognised.
    assert_eq!(tok.encode_with_special("a<|end|>", &[special::END_OF_TURN]).unwrap().last(), Some(&end));
}

#[test]
fn truncation_drops_whole_oldest_exchanges_keeps_the_system_then_fails_clearly() {
    let tok = ChatTokenizer::for_world();
    let c = multi_turn();
    let full = tok.render(&c).unwrap();
    let sys_len = 1 + "Be brief.".len() + 1;
    let turn = |text: &str| text.len() + 2;
    let ex1 = turn("What is 2 plus 2?") + turn("4");
    let ex2 = turn("And 3 plus 3?") + turn("Sure! 6.");
    let ex3 = turn("Thanks.") + turn("You are welcome.");
    assert_eq!(full.ids.len(), sys_len + ex1 + ex2 + ex3);
    // Every budget from the full length down: the result is the system turn + a suffix of whole exchanges.
    for max in (0..=full.ids.len()).rev() {
        match tok.render_truncated(&c, max) {
            Ok(r) => {
                assert!(r.ids.len() <= max);
                let (kept_system, rest) = if r.dropped_system { (0, &r.ids[..]) } else { (sys_len, &r.ids[sys_len..]) };
                if !r.dropped_system {
                    assert_eq!(r.ids[..sys_len], full.ids[..sys_len]);
                }
                // The rest is a suffix of the full rendering, starting at a user marker.
                assert_eq!(rest, &full.ids[full.ids.len() - rest.len()..]);
                assert_eq!(rest[0], tok.role_id(Role::User));
                let mut want_mask = full.loss_mask[..kept_system].to_vec();
                want_mask.extend_from_slice(&full.loss_mask[full.ids.len() - rest.len()..]);
                assert_eq!(r.loss_mask, want_mask);
                let expect_dropped = match r.ids.len() - kept_system {
                    n if n == ex1 + ex2 + ex3 => 0,
                    n if n == ex2 + ex3 => 2,
                    n if n == ex3 => 4,
                    n => panic!("not whole exchanges: {n}"),
                };
                assert_eq!(r.dropped_messages, expect_dropped + usize::from(r.dropped_system));
                // The system turn goes only when the last exchange cannot fit beside it.
                assert_eq!(r.dropped_system, max < sys_len + ex3);
            }
            Err(ChatError::TooLong { needed, max_tokens }) => {
                assert_eq!(needed, ex3);
                assert_eq!(max_tokens, max);
                assert!(max < ex3);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn prompts_end_with_the_assistant_marker_and_truncate_the_same_way() {
    let tok = ChatTokenizer::for_world();
    let c = conv(&[(Role::User, "Hi"), (Role::Assistant, "Hello!"), (Role::User, "What is 2 plus 3?")]);
    let ids = tok.render_prompt(&c, 1_000).unwrap();
    assert_eq!(tok.decode(&ids).unwrap(), "<|user|>Hi<|end|><|assistant|>Hello!<|end|><|user|>What is 2 plus 3?<|end|><|assistant|>");
    let short = tok.render_prompt(&c, ids.len() - 1).unwrap();
    assert_eq!(tok.decode(&short).unwrap(), "<|user|>What is 2 plus 3?<|end|><|assistant|>");
    assert!(matches!(tok.render_prompt(&c, 5), Err(ChatError::TooLong { .. })));
    let answered = conv(&[(Role::User, "Hi"), (Role::Assistant, "Hello!")]);
    assert!(matches!(tok.render_prompt(&answered, 100), Err(ChatError::Invalid(_))));
}

#[test]
fn bad_shapes_and_unknown_characters_are_errors() {
    let tok = ChatTokenizer::for_world();
    assert!(matches!(tok.render(&conv(&[(Role::Assistant, "hi")])), Err(ChatError::Invalid(_))));
    assert!(matches!(tok.render(&conv(&[(Role::User, "caf\u{e9}"), (Role::Assistant, "x")])), Err(ChatError::Tokenizer(_))));
}

#[test]
fn a_bpe_vocabulary_uses_its_own_specials() {
    let corpus = "What is two plus two? Sure! It is four. ".repeat(30);
    let bpe = BpeTrainer::new(256 + 40 + special::DEFAULT_BPE_SPECIALS.len()).train(&corpus).unwrap();
    let own_end = bpe.special_token_id(special::END_OF_TURN).unwrap();
    let tok = ChatTokenizer::new(AnyTokenizer::Bpe(bpe));
    assert_eq!(tok.end_id(), own_end);
    assert_eq!(tok.vocab_size(), tok.inner().vocab_size(), "nothing added");
    let r = tok.render(&conv(&[(Role::User, "What is two plus two?"), (Role::Assistant, "Sure! It is four.")])).unwrap();
    assert_eq!(masked_runs(&tok, &r.ids, &r.loss_mask), "Sure! It is four.<|end|>");
    assert!(r.ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
}

#[test]
fn sft_examples_fit_the_block_and_shift_with_the_mask() {
    use rlhf::data::build_sft_examples;
    use rlhf::world::{DemoConfig, World};
    let tok = ChatTokenizer::for_world();
    let mut convs = rlhf::data::demos_to_conversations(&World::new(2).sft_demos(200, &DemoConfig::default()));
    convs.push(multi_turn());
    let block = 64;
    let built = build_sft_examples(&tok, &convs, block);
    assert_eq!(built.examples.len() + built.skipped.len(), convs.len());
    assert!(built.skipped.iter().all(|(_, e)| matches!(e, ChatError::TooLong { .. })));
    assert!(!built.skipped.is_empty(), "rambling demonstrations are longer than 65 tokens");
    assert!(built.truncated >= 1, "the multi-turn conversation loses its first exchange");
    for ex in &built.examples {
        assert!(ex.ids.len() <= block + 1);
        let (inputs, targets, mask) = ex.training_pair();
        assert_eq!(inputs.len(), ex.ids.len() - 1);
        assert_eq!(targets[targets.len() - 1], tok.end_id());
        assert_eq!(mask[mask.len() - 1], 1);
        // The first target after <|assistant|> is learned; the marker itself never is.
        for i in 0..inputs.len() {
            if inputs[i] == tok.role_id(Role::Assistant) {
                assert_eq!(mask[i], 1);
            }
            if targets[i] == tok.role_id(Role::Assistant) || targets[i] == tok.role_id(Role::User) {
                assert_eq!(mask[i], 0);
            }
        }
    }
}
