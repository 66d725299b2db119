//! The dataset labeler: pairwise `{"prompt","chosen","rejected"}`, K-wise rankings (with ties), HH-RLHF
//! dialogues (multi-turn history kept) and OASST trees imported into a rankings file by `rlhf rank
//! --labeler dataset`, re-imports adding nothing; the reward model's encoding skips and counts text a
//! character vocabulary cannot encode; the real preference data in `../shared/data/preferences/` imports.
use std::path::{Path, PathBuf};

use rlhf::data::{ChatTokenizer, Role};
use rlhf::labeling::{import_file, load_labeled, DatasetFormat, LabeledRanking};
use rlhf::reward::examples::encode_rankings;
use rlhf::reward::Ranking;

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_labeling_dataset", name)
}

fn import(data: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["rank", "--labeler", "dataset", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = rlhf(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn pairs_and_kwise_rankings_import_once() {
    let dir = temp_dir("pairs");
    let pairs = dir.join("pairs.jsonl");
    std::fs::write(
        &pairs,
        "{\"prompt\": \"What is 2 plus 3?\", \"chosen\": \"Sure! 2 + 3 = 5.\", \"rejected\": \"6\"}\n\
         {\"prompt\": \"Reverse the word cat.\", \"chosen\": \"tac\", \"rejected\": \"cat\"}\n",
    )
    .unwrap();
    let out = dir.join("rankings.jsonl");
    let r = import(&pairs, &out, &[]);
    assert_eq!(r["ranked"], 2);
    let records = load_labeled(&out).unwrap();
    assert_eq!(records[0].responses, vec!["Sure! 2 + 3 = 5.", "6"]);
    assert_eq!(records[0].ranking, vec![0, 1]);
    assert_eq!(records[0].labeler, "dataset:pairs:pairs.jsonl");
    // Importing again adds nothing; --prompts limits how many are read.
    assert_eq!(import(&pairs, &out, &[])["already_ranked"], 2);
    assert_eq!(load_labeled(&out).unwrap().len(), 2);
    let limited = dir.join("limited.jsonl");
    assert_eq!(import(&pairs, &limited, &["--prompts", "1"])["ranked"], 1);

    // K-wise rankings, with ties, keep their tiers and labelers.
    let kwise = dir.join("kwise.jsonl");
    let tied = LabeledRanking::new("q", vec!["a".into(), "b".into(), "c".into()], &Ranking::with_ties(vec![vec![2], vec![0, 1]]), "human:bo");
    std::fs::write(&kwise, serde_json::to_string(&tied).unwrap() + "\n").unwrap();
    import(&kwise, &out, &["--format", "rankings"]);
    let records = load_labeled(&out).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2], tied);
    assert_eq!(records[2].to_ranking().unwrap().pairs(), vec![(2, 0), (2, 1)]);
    // Bad data names its line.
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": 3}\n").unwrap();
    let o = rlhf(&["rank", "--labeler", "dataset", "--data", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("bad.jsonl:2"));
    let o = rlhf(&["rank", "--labeler", "dataset", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--data"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hh_dialogues_and_oasst_trees_keep_their_history() {
    let dir = temp_dir("hh");
    let hh = dir.join("hh.jsonl");
    let history = "\\n\\nHuman: Hi\\n\\nAssistant: Hello! How can I help?\\n\\nHuman: What is 2 plus 3?\\n\\nAssistant:";
    std::fs::write(&hh, format!("{{\"chosen\": \"{history} It is 5.\", \"rejected\": \"{history} Go away.\"}}\n")).unwrap();
    assert_eq!(DatasetFormat::detect(&hh).unwrap(), DatasetFormat::HhRlhf);
    let imported = import_file(&hh, None).unwrap();
    let r = &imported.records[0];
    assert_eq!(r.prompt, "What is 2 plus 3?");
    assert_eq!(r.responses, vec!["It is 5.", "Go away."]);
    let messages = r.messages.as_ref().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!((messages[1].role, messages[1].content.as_str()), (Role::Assistant, "Hello! How can I help?"));
    assert_eq!(r.conversation().messages, *messages);

    let oasst = dir.join("oasst.jsonl");
    let reply = |text: &str, rank: u32| format!("{{\"text\": \"{text}\", \"role\": \"assistant\", \"rank\": {rank}}}");
    std::fs::write(
        &oasst,
        format!(
            "{{\"message_tree_id\": \"t1\", \"prompt\": {{\"text\": \"Name a color.\", \"role\": \"prompter\", \"replies\": [{}, {}, {}]}}}}\n",
            reply("Blue.", 1),
            reply("Red is a color.", 0),
            reply("Seven.", 2)
        ),
    )
    .unwrap();
    let imported = import_file(&oasst, None).unwrap();
    assert_eq!(imported.records.len(), 1);
    let r = &imported.records[0];
    assert_eq!(r.responses[r.ranking[0]], "Red is a color.");
    assert_eq!(r.responses[r.ranking[2]], "Seven.");
    assert_eq!(r.messages, None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_character_vocabulary_skips_and_counts_what_it_cannot_encode() {
    let tok = ChatTokenizer::for_world();
    let ok = LabeledRanking::new("What is 2 plus 3?", vec!["5".into(), "Sure! 2 + 3 = 5.".into()], &Ranking::from_order(&[1, 0]), "x");
    let accented = LabeledRanking::new("Café?", vec!["Oui.".into(), "Non.".into()], &Ranking::from_order(&[0, 1]), "x");
    let all_tied = LabeledRanking::new("q", vec!["a".into(), "b".into()], &Ranking::with_ties(vec![vec![0, 1]]), "x");
    let encoded = encode_rankings(&tok, &[ok, accented, all_tied], 96);
    assert_eq!(encoded.examples.len(), 1);
    assert_eq!(encoded.source, vec![0]);
    assert_eq!(encoded.unencodable.len(), 1);
    assert_eq!(encoded.unencodable[0].0, 1);
    assert_eq!(encoded.all_tied, 1);
}

#[test]
fn real_preference_data_imports() {
    let Some(shared) = rlhf::data::shared::shared_data_dir() else {
        eprintln!("SKIPPED: ../shared/data not found");
        return;
    };
    let hh = shared.join("preferences/hh_rlhf_harmless_base_test.split_train.jsonl");
    let oasst = shared.join("preferences/oasst_en_trees.split_train.jsonl");
    if !hh.exists() || !oasst.exists() {
        eprintln!("SKIPPED: ../shared/data/preferences/ files not found");
        return;
    }
    let imported = import_file(&hh, None).unwrap();
    // shared/data/README.md: 1,850 pairs.
    assert_eq!(imported.records.len() + imported.skipped.len(), 1850);
    assert!(imported.records.len() > 1800, "{} pairs usable", imported.records.len());
    assert!(imported.records.iter().all(|r| r.responses.len() == 2 && r.ranking == vec![0, 1]));
    let tok = ChatTokenizer::for_world();
    let encoded = encode_rankings(&tok, &imported.records, 128);
    println!(
        "HH-RLHF: {} pairs, {} skipped on import; the world's character vocabulary encodes {} and cannot encode {}",
        imported.records.len(),
        imported.skipped.len(),
        encoded.examples.len(),
        encoded.unencodable.len()
    );
    assert_eq!(encoded.examples.len() + encoded.unencodable.len(), imported.records.len());
    let oasst = import_file(&oasst, None).unwrap();
    // README: 173 sibling groups with at least two ranked replies (some under dropped synthetic/deleted messages).
    assert!(oasst.records.len() > 100 && oasst.records.len() <= 173, "{} OASST rankings", oasst.records.len());
    assert!(oasst.records.iter().any(|r| r.messages.is_some()), "some OASST rankings answer a multi-turn conversation");
}
