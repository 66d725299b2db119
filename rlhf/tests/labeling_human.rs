//! The human labeler driven through piped input, as a person at a terminal would drive it: an order, a
//! tie, a skip, pairwise choices, mistakes answered with a message, the end of the input as quitting;
//! progress shown as `position/total`; no control codes unless the output is a terminal; and `rlhf rank
//! --labeler human` over piped stdin writing only the rankings given.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;
use rlhf::labeling::{load_labeled, HumanLabeler, Labeler, RankRequest, Verdict};
use rlhf::reward::Ranking;

fn answers() -> Vec<String> {
    ["85", "Sure! 47 + 38 = 85.", "84", "It is 85."].iter().map(|s| s.to_string()).collect()
}

/// Runs the labeler on one request with `input`; returns the verdict and what it printed.
fn session(input: &str, terminal: bool) -> (Verdict, String) {
    let responses = answers();
    let request = RankRequest { prompt: "What is 47 plus 38?", messages: None, responses: &responses, position: 12, total: 50 };
    let mut out = Vec::new();
    let verdict = HumanLabeler::new("tester", input.as_bytes(), &mut out, terminal).rank(&request).unwrap();
    (verdict, String::from_utf8(out).unwrap())
}

#[test]
fn orders_ties_skips_and_quits() {
    let (v, shown) = session("2 4 1 3\n", false);
    assert_eq!(v, Verdict::Ranked(Ranking::from_order(&[1, 3, 0, 2])));
    assert!(shown.contains("12/50"), "progress: {shown}");
    assert!(shown.contains("What is 47 plus 38?") && shown.contains("[2] Sure! 47 + 38 = 85.") && shown.contains("[4] It is 85."));
    assert!(!shown.contains('\x1b'), "control codes in piped output");
    // Ties with `=`, separators `>` and `,`.
    assert_eq!(session("2 > 4 = 1, 3\n", false).0, Verdict::Ranked(Ranking::with_ties(vec![vec![1], vec![3, 0], vec![2]])));
    assert_eq!(session("s\n", false).0, Verdict::Skip);
    assert_eq!(session("q\n", false).0, Verdict::Quit);
    assert_eq!(session("", false).0, Verdict::Quit); // end of input
    // Mistakes are explained and asked again.
    let (v, shown) = session("2 1\n5 1 2 3\n2 2 1 3\n?\n\n1 2 3 4\n", false);
    assert_eq!(v, Verdict::Ranked(Ranking::from_order(&[0, 1, 2, 3])));
    assert!(shown.contains("missing 3, 4"), "{shown}");
    assert!(shown.contains("answer 5 does not exist"), "{shown}");
    assert!(shown.contains("appears twice"), "{shown}");
    assert!(shown.contains("`p` to compare"), "help: {shown}");
    // On a terminal the screen is cleared and the prompt is bold.
    assert!(session("1 2 3 4\n", true).1.contains("\x1b[2J"));
}

#[test]
fn pairwise_choices_become_an_order() {
    // Always preferring the newcomer: answer 4 beats 3 beats 2 beats 1, found by binary insertion.
    let (v, shown) = session("p\n2\n3\n3\n4\n4\n", false);
    assert_eq!(v, Verdict::Ranked(Ranking::from_order(&[3, 2, 1, 0])));
    assert_eq!(shown.matches("Which is better").count(), 5);
    assert!(shown.contains("order: 4 3 2 1"));
    // Ties in pairs: every answer tied with the first.
    let (v, _) = session("p\nt\nt\nt\n", false);
    assert_eq!(v, Verdict::Ranked(Ranking::with_ties(vec![vec![0, 1, 2, 3]])));
    // 2 beats 1, 3 ties with 1, 4 is worst: [2] [1=3] [4].
    let (v, shown) = session("p\n2\nx\nt\n1\n3\n", false);
    assert_eq!(v, Verdict::Ranked(Ranking::with_ties(vec![vec![1], vec![0, 2], vec![3]])), "{shown}");
    assert!(shown.contains("type 3 or 1"), "a wrong choice is explained: {shown}");
    assert_eq!(session("p\n2\ns\n", false).0, Verdict::Skip);
    assert_eq!(session("p\nq\n", false).0, Verdict::Quit);
}

fn tiny_policy(dir: &Path) -> PathBuf {
    let tok = ChatTokenizer::for_world();
    let mut config = GptConfig::preset("char-tiny").unwrap();
    config.n_layer = 1;
    config.n_head = 2;
    config.n_embd = 32;
    config.block_size = 96;
    config.vocab_size = tok.vocab_size();
    let out = dir.join("sft");
    save_hf_dir(&Gpt::new(config, &mut Rng::new(4)).unwrap(), &out).unwrap();
    save_tokenizer_to_dir(tok.inner(), &out).unwrap();
    out
}

fn rank_piped(policy: &Path, out: &Path, input: &str) -> (String, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(["rank", "--labeler", "human", "--name", "ann", "--prompts", "5", "--k", "4", "--max-new-tokens", "10", "--threads", "1"])
        .args(["--policy", policy.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let report = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    (stdout, report)
}

#[test]
fn rank_with_a_human_over_piped_stdin() {
    let dir = std::env::temp_dir().join(format!("rlhf_labeling_human_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let policy = tiny_policy(&dir);
    let out = dir.join("mine.jsonl");
    let (shown, report) = rank_piped(&policy, &out, "2 1 4 3\ns\n1=2 3 4\nq\n");
    // The fourth prompt is shown and quit at: not recorded.
    assert!(shown.contains("prompt 1/5") && shown.contains("prompt 4/5") && !shown.contains("prompt 5/5"), "{shown}");
    assert!(!shown.contains('\x1b'));
    assert_eq!((report["ranked"].as_u64(), report["skipped"].as_u64(), report["stopped"].as_bool()), (Some(2), Some(1), Some(true)));
    let records = load_labeled(&out).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].ranking, vec![1, 0, 3, 2]);
    assert_eq!(records[0].tiers, None);
    assert_eq!(records[1].tiers, Some(vec![vec![0, 1], vec![2], vec![3]]));
    assert_eq!(records[1].labeler, "human:ann");
    // The next session starts with the skipped prompt (never recorded) and goes on after the ranked ones.
    let (shown, report) = rank_piped(&policy, &out, "4 3 2 1\n1 2 3 4\n");
    assert!(shown.contains("prompt 3/5") && shown.contains("prompt 4/5") && !shown.contains("prompt 1/5"), "{shown}");
    assert_eq!((report["already_ranked"].as_u64(), report["ranked"].as_u64()), (Some(2), Some(2)));
    assert_eq!(load_labeled(&out).unwrap().len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}
