//! `rlhf rank` with the scripted labeler: K answers per world prompt, one ranking a line; an interrupted
//! run (stopped after a few rankings, or killed mid-line) resumes to exactly the file an uninterrupted run
//! writes; a prompt listed n times is ranked n times, also across a resume; bad arguments fail with a
//! message.
use std::path::{Path, PathBuf};

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;
use rlhf::labeling::load_labeled;

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_rank_resume", name)
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
    save_hf_dir(&Gpt::new(config, &mut Rng::new(2)).unwrap(), &out).unwrap();
    save_tokenizer_to_dir(tok.inner(), &out).unwrap();
    out
}

fn rank(policy: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["rank", "--policy", policy.to_str().unwrap(), "--out", out.to_str().unwrap(), "--threads", "1", "--max-new-tokens", "12"];
    args.extend_from_slice(extra);
    let o = rlhf(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap()
}

#[test]
fn an_interrupted_ranking_run_resumes_to_the_uninterrupted_file() {
    let dir = temp_dir("resume");
    let policy = tiny_policy(&dir);
    let common = ["--prompts", "12", "--chunk-prompts", "4", "--k", "4", "--seed", "3"];
    let whole = dir.join("whole.jsonl");
    let report = rank(&policy, &whole, &common);
    assert_eq!((report["ranked"].as_u64(), report["stopped"].as_bool()), (Some(12), Some(false)));
    let records = load_labeled(&whole).unwrap();
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r.responses.len(), 4);
        assert_eq!(r.labeler, "scripted(noise=0,seed=3)");
        assert_eq!(rlhf::world::Split::of(&r.prompt), rlhf::world::Split::Reward);
        r.to_ranking().unwrap();
    }
    let expected = std::fs::read(&whole).unwrap();

    // Stopped mid-chunk after 6 rankings, then resumed.
    let parts = dir.join("parts.jsonl");
    let mut first = common.to_vec();
    first.extend(["--stop-after", "6"]);
    let r1 = rank(&policy, &parts, &first);
    assert_eq!((r1["ranked"].as_u64(), r1["stopped"].as_bool()), (Some(6), Some(true)));
    let r2 = rank(&policy, &parts, &common);
    assert_eq!((r2["already_ranked"].as_u64(), r2["ranked"].as_u64()), (Some(6), Some(6)));
    assert!(std::fs::read(&parts).unwrap() == expected, "the resumed file differs from the uninterrupted one");

    // A crash in the middle of writing a line: the torn line is cut off and that prompt is ranked again.
    let torn = dir.join("torn.jsonl");
    let lines: Vec<&[u8]> = expected.split_inclusive(|&b| b == b'\n').collect();
    let mut bytes: Vec<u8> = lines[..7].concat();
    bytes.extend_from_slice(&lines[7][..lines[7].len() / 2]);
    std::fs::write(&torn, bytes).unwrap();
    let r3 = rank(&policy, &torn, &common);
    assert_eq!((r3["already_ranked"].as_u64(), r3["ranked"].as_u64()), (Some(7), Some(5)));
    assert!(std::fs::read(&torn).unwrap() == expected, "the file resumed after a torn line differs");

    // A run over more prompts keeps the first ones and only adds.
    let r4 = rank(&policy, &parts, &["--prompts", "14", "--chunk-prompts", "4", "--k", "4", "--seed", "3"]);
    assert_eq!((r4["already_ranked"].as_u64(), r4["ranked"].as_u64()), (Some(12), Some(2)));
    assert!(std::fs::read(&parts).unwrap().starts_with(&expected));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_repeated_prompt_is_ranked_as_often_as_it_is_drawn_also_after_a_resume() {
    // World prompts are drawn from the task distribution, repeats included; ranking each text once would
    // bend the mix towards the families with the most distinct texts (absent-letter counting).
    let dir = temp_dir("repeats");
    let policy = tiny_policy(&dir);
    let prompts = dir.join("prompts.jsonl");
    let lines = ["How many times does the letter o appear in pillow?", "Which is larger, 52 or 37?", "How many times does the letter o appear in pillow?", "How many times does the letter o appear in pillow?"];
    std::fs::write(&prompts, lines.iter().map(|p| format!("{{\"prompt\": \"{p}\"}}\n")).collect::<String>()).unwrap();
    let common = ["--prompts-file", prompts.to_str().unwrap(), "--k", "3", "--chunk-prompts", "2"];
    let whole = dir.join("whole.jsonl");
    let report = rank(&policy, &whole, &common);
    assert_eq!(report["ranked"].as_u64(), Some(4));
    let records = load_labeled(&whole).unwrap();
    let pillow = records.iter().filter(|r| r.prompt == lines[0]).count();
    assert_eq!((records.len(), pillow), (4, 3));
    let parts = dir.join("parts.jsonl");
    let mut first = common.to_vec();
    first.extend(["--stop-after", "2"]);
    rank(&policy, &parts, &first);
    let r2 = rank(&policy, &parts, &common);
    assert_eq!((r2["already_ranked"].as_u64(), r2["ranked"].as_u64()), (Some(2), Some(2)));
    assert!(std::fs::read(&parts).unwrap() == std::fs::read(&whole).unwrap(), "the resumed file differs from the uninterrupted one");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn noise_changes_some_rankings_and_bad_arguments_fail() {
    let dir = temp_dir("noise");
    let policy = tiny_policy(&dir);
    let (clean, noisy) = (dir.join("clean.jsonl"), dir.join("noisy.jsonl"));
    rank(&policy, &clean, &["--prompts", "16", "--k", "5"]);
    rank(&policy, &noisy, &["--prompts", "16", "--k", "5", "--noise", "0.5"]);
    let (a, b) = (load_labeled(&clean).unwrap(), load_labeled(&noisy).unwrap());
    assert!(a.iter().zip(&b).all(|(x, y)| x.responses == y.responses), "the same seed samples the same answers");
    assert!(a.iter().zip(&b).any(|(x, y)| x.ranking != y.ranking), "noise 0.5 changed no ranking of 16");
    assert!(b[0].labeler.contains("noise=0.5"));
    let err = |args: &[&str]| {
        let o = rlhf(args);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let p = policy.to_str().unwrap();
    let out = dir.join("x.jsonl");
    let out = out.to_str().unwrap();
    assert!(err(&["rank", "--policy", p, "--out", out, "--k", "12"]).contains("--k 12"));
    assert!(err(&["rank", "--policy", p, "--out", out, "--noise", "1.5"]).contains("--noise"));
    assert!(err(&["rank", "--policy", p, "--out", out, "--labeler", "robot"]).contains("--labeler robot"));
    assert!(err(&["rank", "--out", out]).contains("--policy"));
    assert!(err(&["rank", "--policy", "/no/such/model", "--out", out]).contains("/no/such/model"));
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, "{\"prompt\": \"What is 2 plus 3?\"}\n{\"text\": \"oops\"}\n").unwrap();
    assert!(err(&["rank", "--policy", p, "--out", out, "--prompts-file", prompts.to_str().unwrap()]).contains("prompts.jsonl:2"));
    // A prompts file of non-world prompts: the scripted labeler refuses them with a way out.
    std::fs::write(&prompts, "{\"prompt\": \"Write a poem about the sea.\"}\n").unwrap();
    assert!(err(&["rank", "--policy", p, "--out", out, "--prompts-file", prompts.to_str().unwrap()]).contains("--labeler human"));
    std::fs::remove_dir_all(&dir).unwrap();
}
