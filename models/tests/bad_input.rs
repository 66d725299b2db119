//! Malformed vocabulary and merges files are reported with the file and line; invalid UTF-8 with its offset.
use models::tokenizer::{read_text_file, AnyTokenizer, BpeTokenizer, TokenizerError, WordPiece};
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("models_bad_input_{}_{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small valid GPT-2-format vocabulary: the 256 byte characters, then "Ġt" and "Ġth".
fn write_small_gpt2(dir: &std::path::Path, merges: &str) {
    let table = models::tokenizer::bytes_to_unicode();
    let mut vocab = serde_json::Map::new();
    for (id, ch) in table.iter().enumerate() {
        vocab.insert(ch.to_string(), id.into());
    }
    vocab.insert("Ġt".into(), 256.into());
    vocab.insert("Ġth".into(), 257.into());
    // One entry per line, so that positions are lines.
    let body: Vec<String> = vocab
        .iter()
        .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), v))
        .collect();
    std::fs::write(dir.join("vocab.json"), format!("{{\n{}\n}}", body.join(",\n"))).unwrap();
    std::fs::write(dir.join("merges.txt"), merges).unwrap();
}

#[test]
fn small_hf_named_files_load() {
    let dir = temp_dir("ok");
    write_small_gpt2(&dir, "#version: 0.2\nĠ t\nĠt h\n");
    let tok = BpeTokenizer::from_gpt2_dir(&dir).unwrap();
    assert_eq!(tok.encode_ordinary(" the"), vec![257, b'e' as u32]); // ids of single bytes = byte values here
}

#[test]
fn bad_merge_line_names_file_and_line() {
    let dir = temp_dir("merge_parts");
    write_small_gpt2(&dir, "#version: 0.2\nĠ t\nĠt h extra\n");
    let err = BpeTokenizer::from_gpt2_dir(&dir).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, TokenizerError::InvalidFile { line: 3, .. }), "{message}");
    assert!(message.contains("merges.txt:3:"), "{message}");

    write_small_gpt2(&dir, "Ġ t\nĠt q\n");
    let message = BpeTokenizer::from_gpt2_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("merges.txt:2:") && message.contains("not in the vocabulary"),
        "{message}"
    );

    write_small_gpt2(&dir, "Ġ t\nĠt 中\n");
    let message = BpeTokenizer::from_gpt2_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("merges.txt:2:") && message.contains("byte alphabet"),
        "{message}"
    );
}

#[test]
fn bad_vocab_json_names_file_and_line() {
    let dir = temp_dir("vocab");
    write_small_gpt2(&dir, "Ġ t\n");
    let path = dir.join("vocab.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // Break the id on line 5 (line 1 is "{").
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[4] = lines[4].replace(": ", ": \"x").replace(',', "\",");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let message = BpeTokenizer::from_gpt2_dir(&dir).unwrap_err().to_string();
    assert!(message.contains("vocab.json:5:"), "{message}");

    // A token outside GPT-2's byte alphabet.
    lines = text.lines().map(String::from).collect();
    lines[7] = "\"中\": 9999,".into();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let message = BpeTokenizer::from_gpt2_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("vocab.json:8:") && message.contains("byte alphabet"),
        "{message}"
    );
}

#[test]
fn missing_files_name_the_directory() {
    let dir = temp_dir("empty");
    let message = AnyTokenizer::from_spec(&format!("gpt2:{}", dir.display()))
        .unwrap_err()
        .to_string();
    assert!(message.contains("encoder.json or vocab.json"), "{message}");
}

#[test]
fn bad_vocab_txt_names_file_and_line() {
    let dir = temp_dir("wordpiece");
    std::fs::write(dir.join("vocab.txt"), "[PAD]\n[UNK]\nhello\n\nworld\n").unwrap();
    let message = WordPiece::from_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("vocab.txt:4:") && message.contains("empty"),
        "{message}"
    );
    std::fs::write(dir.join("vocab.txt"), "[PAD]\n[UNK]\nhello\nhello\n").unwrap();
    let message = WordPiece::from_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("vocab.txt:4:") && message.contains("repeats line 3"),
        "{message}"
    );
    std::fs::write(dir.join("vocab.txt"), "[PAD]\nhello\n").unwrap();
    let message = WordPiece::from_dir(&dir).unwrap_err().to_string();
    assert!(message.contains("vocab.txt") && message.contains("[UNK]"), "{message}");
}

#[test]
fn invalid_utf8_corpus_reports_the_byte_offset() {
    let dir = temp_dir("utf8");
    let path = dir.join("corpus.txt");
    std::fs::write(&path, b"First Citizen:\n\xe2\x82 broken").unwrap();
    let err = read_text_file(&path).unwrap_err();
    assert!(
        matches!(err, TokenizerError::InvalidUtf8 { byte_offset: 15, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("corpus.txt: invalid UTF-8 at byte offset 15"),
        "{err}"
    );
}
