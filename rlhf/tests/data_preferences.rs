//! Preference loaders on small hand-written files: OASST paths and rankings, pairwise JSONL.
use rlhf::data::{load_oasst_trees, load_pairs_jsonl, oasst_rankings, oasst_sft_conversations, DataError, Role};
use std::path::PathBuf;

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf-test-prefs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn msg(role: &str, text: &str, rank: Option<u32>, synthetic: bool, replies: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"text": text, "role": role, "rank": rank, "synthetic": synthetic, "replies": replies})
}

#[test]
fn oasst_follows_rank_zero_drops_synthetic_and_ranks_siblings() {
    // Q -> {A1 (rank 1), A0 (rank 0) -> {Q2 -> {B0 (rank 0, synthetic), B1 (rank 1), B2 (rank 2)}}, A2 (rank 2)}
    let q2 = msg(
        "prompter",
        "Q2",
        None,
        false,
        vec![msg("assistant", "B0", Some(0), true, vec![]), msg("assistant", "B1", Some(1), false, vec![]), msg("assistant", "B2", Some(2), false, vec![])],
    );
    let root = msg(
        "prompter",
        "Q",
        None,
        false,
        vec![
            msg("assistant", "A1", Some(1), false, vec![]),
            msg("assistant", "A0", Some(0), false, vec![q2]),
            msg("assistant", "A2", Some(2), false, vec![]),
        ],
    );
    let synthetic_root = msg("prompter", "S", None, true, vec![msg("assistant", "x", Some(0), false, vec![])]);
    let lines = [
        serde_json::json!({"message_tree_id": "t1", "prompt": root}).to_string(),
        serde_json::json!({"message_tree_id": "t2", "prompt": synthetic_root}).to_string(),
    ];
    let path = temp("oasst.jsonl", &lines.join("\n"));
    let trees = load_oasst_trees(&path).unwrap();
    let convs = oasst_sft_conversations(&trees, false);
    assert_eq!(convs.len(), 1, "the synthetic-rooted tree gives nothing");
    let texts: Vec<&str> = convs[0].messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["Q", "A0", "Q2", "B1"], "rank 0 at each step; the synthetic B0 is skipped");
    let with_synthetic = oasst_sft_conversations(&trees, true);
    assert_eq!(with_synthetic[0].messages[3].content, "B0");

    let rankings = oasst_rankings(&trees, false);
    assert_eq!(rankings.len(), 2);
    assert_eq!(rankings[0].responses, ["A0", "A1", "A2"]);
    assert_eq!(rankings[0].pairs().len(), 3);
    assert_eq!(rankings[1].responses, ["B1", "B2"]);
    let history: Vec<(Role, &str)> = rankings[1].prompt.messages.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(history, [(Role::User, "Q"), (Role::Assistant, "A0"), (Role::User, "Q2")]);
    // Keeping B0 makes the second group three answers.
    assert_eq!(oasst_rankings(&trees, true).iter().map(|r| r.pairs().len()).sum::<usize>(), 3 + 3);

    let bad = temp("oasst-bad.jsonl", &format!("{}\n{{\"message_tree_id\": 5}}\n", lines[0]));
    let err = load_oasst_trees(&bad).unwrap_err();
    assert_eq!(err.first_line_error().unwrap().line, 2);
}

#[test]
fn pairwise_jsonl_loads_and_reports_bad_lines() {
    let good = temp("pairs.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n\n{\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"d\"}\n");
    let pairs = load_pairs_jsonl(&good).unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!((pairs[1].chosen.as_str(), pairs[1].rejected.as_str()), ("c", "d"));
    let bad = temp("pairs-bad.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\"}\n{\"prompt\": \"\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    let err = load_pairs_jsonl(&bad).unwrap_err();
    let DataError::BadLines { errors, .. } = &err else { panic!("{err}") };
    assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2]);
    assert!(err.to_string().contains("rejected"), "{err}");
}
