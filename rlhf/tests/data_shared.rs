//! The loaders on the shared real data (skipped, with a message, when `../shared/data` is absent).
use models::tokenizer::{AnyTokenizer, BpeTokenizer};
use rlhf::data::{
    load_hh_rlhf, load_oasst_trees, load_self_instruct, oasst_rankings, oasst_sft_conversations, shared::shared_data_dir,
    ChatError, ChatTokenizer, Role,
};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let dir = shared_data_dir();
    if dir.is_none() {
        println!("skipped: no shared data folder at CARGO_MANIFEST_DIR/../../shared/data");
    }
    dir
}

#[test]
fn self_instruct_seed_tasks() {
    let Some(dir) = shared() else { return };
    let convs = load_self_instruct(dir.join("sft/self_instruct_seed_tasks.jsonl")).unwrap();
    assert_eq!(convs.len(), 175, "one instance per seed task");
    for c in &convs {
        c.validate_for_training().unwrap();
        assert_eq!(c.messages.len(), 2);
    }
    assert!(convs[0].messages[0].content.starts_with("Is there anything I can eat for a breakfast"));
    assert!(convs[0].messages[1].content.starts_with("Yes, you can have 1 oatmeal banana protein shake"));
    // Instances with an input put it after the instruction and a blank line.
    assert!(convs.iter().any(|c| c.messages[0].content.contains("\n\n")));
}

#[test]
fn oasst_trees_give_conversations_and_rankings() {
    let Some(dir) = shared() else { return };
    let trees = load_oasst_trees(dir.join("preferences/oasst_en_trees.split_train.jsonl")).unwrap();
    assert_eq!(trees.len(), 80);
    // With synthetic messages kept, the counts of the data README.
    let all = oasst_rankings(&trees, true);
    assert_eq!(all.len(), 173);
    assert_eq!(all.iter().map(|r| r.pairs().len()).sum::<usize>(), 565);
    // Dropping the synthetic messages (the default for human data) loses a few.
    let human = oasst_rankings(&trees, false);
    let pairs: usize = human.iter().map(|r| r.pairs().len()).sum();
    println!("human-only OASST: {} ranking groups, {pairs} pairs", human.len());
    assert!(human.len() < 173 && human.len() > 150);
    assert!(pairs < 565 && pairs > 500);
    for r in &human {
        assert!(r.responses.len() >= 2 && r.ranking.len() == r.responses.len());
        r.prompt.validate().unwrap();
        assert_eq!(r.prompt.messages.last().unwrap().role, Role::User);
    }
    let convs = oasst_sft_conversations(&trees, false);
    println!("human-only OASST: {} SFT conversations", convs.len());
    assert!(convs.len() > 60 && convs.len() < 80, "{}", convs.len()); // trees with a synthetic first prompt give none
    assert!(convs.iter().any(|c| c.messages.len() >= 4), "some are multi-turn");
    for c in &convs {
        c.validate_for_training().unwrap();
    }
    assert_eq!(oasst_sft_conversations(&trees, true).len(), 80);
}

#[test]
fn hh_rlhf_pairs_split_at_the_last_assistant_turn() {
    let Some(dir) = shared() else { return };
    let hh = load_hh_rlhf(dir.join("preferences/hh_rlhf_harmless_base_test.split_train.jsonl")).unwrap();
    println!("HH-RLHF: {} pairs, {} skipped: {:?}", hh.pairs.len(), hh.skipped.len(), hh.skipped);
    assert_eq!(hh.pairs.len() + hh.skipped.len(), 1_850);
    assert!(hh.skipped.len() <= 5, "README: 5 of 2312 pairs do not share the history");
    for p in &hh.pairs {
        assert_eq!(p.prompt.messages.last().unwrap().role, Role::User);
        assert!(!p.chosen.contains("\n\nAssistant:") && !p.rejected.contains("\n\nHuman:"));
    }
    let one_turn = hh.pairs.iter().filter(|p| p.prompt.messages.len() == 1).count();
    assert!(one_turn > 500, "{one_turn}"); // README: 662 of 2312 dialogues have one human turn
}

#[test]
fn real_conversations_render_with_the_gpt2_vocabulary() {
    let Some(dir) = shared() else { return };
    let bpe = BpeTokenizer::from_gpt2_dir(dir.join("gpt2_bpe")).unwrap();
    let tok = ChatTokenizer::new(AnyTokenizer::Bpe(bpe));
    assert_eq!(tok.vocab_size(), 50_257 + 5, "GPT-2 has <|endoftext|>; the five chat specials are added");
    assert_eq!(tok.special_id("<|endoftext|>"), Some(50_256));
    assert_eq!(tok.end_id(), 50_260);
    let trees = load_oasst_trees(dir.join("preferences/oasst_en_trees.split_train.jsonl")).unwrap();
    let (mut fitted, mut too_long, mut truncated) = (0, 0, 0);
    for c in &oasst_sft_conversations(&trees, false) {
        let r = match tok.render_truncated(c, 1024) {
            Ok(r) => r,
            Err(ChatError::TooLong { needed, .. }) => {
                assert!(needed > 1024);
                too_long += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        fitted += 1;
        truncated += usize::from(r.dropped_messages > 0);
        assert!(r.ids.len() <= 1024);
        assert_eq!(*r.ids.last().unwrap(), tok.end_id());
        assert_eq!(*r.loss_mask.last().unwrap(), 1);
        let assistant_turns = c.messages.iter().filter(|m| m.role == Role::Assistant).count();
        if r.dropped_messages == 0 {
            assert_eq!(tok.decode(&r.ids).unwrap().matches("<|assistant|>").count(), assistant_turns);
        }
    }
    println!("OASST in 1024 GPT-2 tokens: {fitted} fit ({truncated} after dropping old turns), {too_long} too long");
    assert!(fitted > too_long);
}
