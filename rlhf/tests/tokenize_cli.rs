//! The `rlhf tokenize` subcommand, run as a user would.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn rlhf(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlhf runs");
    // A command that fails before reading its input closes the pipe: that is not a test failure.
    if let Err(err) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin: {err}");
    }
    child.wait_with_output().unwrap()
}

fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: shared data {relative} not found");
        None
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf_tokenize_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn ids(out: &Output) -> Vec<u32> {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON array")
}

#[test]
fn gpt2_encode_whole_file_is_one_json_array_and_decodes_back() {
    let (Some(dir), Some(text_path)) = (shared("gpt2_bpe"), shared("tinyshakespeare.txt")) else {
        return;
    };
    let spec = format!("gpt2:{}", dir.display());
    let out = rlhf(
        &["tokenize", "encode", "--tokenizer", &spec, text_path.to_str().unwrap()],
        b"",
    );
    let encoded = ids(&out);
    assert_eq!(encoded.len(), 338_025);
    assert_eq!(&encoded[..4], &[5962, 22307, 25, 198]); // "First Citizen:\n"
    let ids_path = temp("ids.json");
    std::fs::write(&ids_path, &out.stdout).unwrap();
    let back = rlhf(
        &["tokenize", "decode", "--tokenizer", &spec, ids_path.to_str().unwrap()],
        b"",
    );
    assert!(back.status.success());
    assert_eq!(back.stdout, std::fs::read(&text_path).unwrap());
    let count = rlhf(
        &["tokenize", "count", "--tokenizer", &spec, text_path.to_str().unwrap()],
        b"",
    );
    assert!(String::from_utf8(count.stdout).unwrap().starts_with("338025\t"));
}

#[test]
fn gpt2_special_tokens_only_with_allow_special() {
    let Some(dir) = shared("gpt2_bpe") else { return };
    let spec = format!("gpt2:{}", dir.display());
    assert_eq!(
        ids(&rlhf(
            &["tokenize", "encode", "--tokenizer", &spec],
            b"hello <|endoftext|>"
        )),
        vec![31373, 1279, 91, 437, 1659, 5239, 91, 29]
    );
    assert_eq!(
        ids(&rlhf(
            &["tokenize", "encode", "--tokenizer", &spec, "--allow-special"],
            b"hello <|endoftext|>"
        )),
        vec![31373, 220, 50256]
    );
}

#[test]
fn wordpiece_encode_matches_bert() {
    let Some(dir) = shared("minilm") else { return };
    let spec = format!("wordpiece:{}", dir.display());
    assert_eq!(
        ids(&rlhf(&["tokenize", "encode", "--tokenizer", &spec, "-"], b"unaffable")),
        vec![101, 14477, 20961, 3468, 102]
    );
}

#[test]
fn train_save_encode_decode_our_own_vocabularies() {
    let corpus = temp("corpus.txt");
    let text = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n".repeat(50);
    std::fs::write(&corpus, &text).unwrap();
    for (kind, vocab) in [("bpe", "300"), ("char", "0")] {
        let out_path = temp(&format!("{kind}.json"));
        let trained = rlhf(
            &[
                "tokenize",
                "train",
                "--kind",
                kind,
                "--vocab-size",
                vocab,
                "--out",
                out_path.to_str().unwrap(),
                corpus.to_str().unwrap(),
            ],
            b"",
        );
        assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
        let spec = out_path.to_str().unwrap();
        let encoded = ids(&rlhf(
            &["tokenize", "encode", "--tokenizer", spec, corpus.to_str().unwrap()],
            b"",
        ));
        if kind == "bpe" {
            assert!(encoded.iter().all(|&id| id < 300), "ids within the trained vocabulary");
            assert!(
                encoded.len() * 2 < text.len(),
                "{} tokens for {} bytes",
                encoded.len(),
                text.len()
            );
        } else {
            assert_eq!(encoded.len(), text.chars().count());
        }
        let json = serde_json::to_vec(&encoded).unwrap();
        let back = rlhf(&["tokenize", "decode", "--tokenizer", spec], &json);
        assert_eq!(String::from_utf8(back.stdout).unwrap(), text);
    }
}

#[test]
fn errors_go_to_stderr_with_exit_code_1() {
    let bad = temp("bad.txt");
    std::fs::write(&bad, b"fine\n\xc3(").unwrap();
    let corpus_out = temp("never.json");
    let out = rlhf(
        &[
            "tokenize",
            "train",
            "--kind",
            "char",
            "--out",
            corpus_out.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.txt: invalid UTF-8 at byte offset 5"), "{stderr}");
    assert!(!stderr.contains("panicked"));

    let out = rlhf(&["tokenize", "encode", "--tokenizer", "gpt2:/no/such/dir"], b"x");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir"));

    let out = rlhf(&["tokenize", "decode", "--tokenizer", "/no/such/file.json"], b"[1]");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.json"));

    let out = rlhf(
        &[
            "tokenize",
            "train",
            "--kind",
            "bpe",
            "--vocab-size",
            "10",
            "--out",
            corpus_out.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}
