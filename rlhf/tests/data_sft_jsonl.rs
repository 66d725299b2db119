//! SFT JSONL: both forms, bad lines reported with file and line, round trip of world demonstrations.
use rlhf::data::{demos_to_conversations, load_sft_jsonl, write_sft_jsonl, DataError, Role};
use rlhf::world::{DemoConfig, World};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf-test-data-sft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn both_forms_load_and_blank_lines_are_skipped() {
    let path = temp("good.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"prompt\": \"What is 2 plus 3?\", \"response\": \"5\"}\n",
            "\n",
            "{\"prompt\": \"Hi\", \"response\": \"Hello!\", \"system\": \"Be nice.\"}\n",
            "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"a\"}, ",
            "{\"role\": \"assistant\", \"content\": \"b\"}, {\"role\": \"user\", \"content\": \"c\"}, {\"role\": \"assistant\", \"content\": \"d\"}]}\n",
        ),
    )
    .unwrap();
    let convs = load_sft_jsonl(&path).unwrap();
    assert_eq!(convs.len(), 3);
    assert_eq!(convs[0].messages[1].content, "5");
    assert_eq!(convs[1].system(), Some("Be nice."));
    let roles: Vec<Role> = convs[2].messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::User, Role::Assistant]);
}

#[test]
fn every_bad_line_is_reported_with_file_and_line() {
    let path = temp("bad.jsonl");
    let lines = [
        r#"{"prompt": "ok", "response": "fine"}"#,                                       // 1 good
        r#"{"prompt": "no response"}"#,                                                 // 2
        r#"{"prompt": "x", "response": "y""#,                                           // 3 truncated JSON
        r#"[1, 2]"#,                                                                    // 4
        r#"{"messages": [{"role": "robot", "content": "hi"}]}"#,                        // 5
        r#"{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}"#, // 6
        r#"{"messages": [{"role": "user", "content": "a"}]}"#,                          // 7 nothing to learn
        r#"{"prompt": 3, "response": "y"}"#,                                            // 8
        r#"{"prompt": "a", "response": "   "}"#,                                        // 9 empty
        r#"{"text": "pretraining text"}"#,                                              // 10
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let err = load_sft_jsonl(&path).unwrap_err();
    let DataError::BadLines { errors, total } = &err else { panic!("{err}") };
    assert_eq!(*total, 9);
    let numbers: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(numbers, (2..=10).collect::<Vec<_>>());
    let text = err.to_string();
    println!("{text}");
    let p = path.display();
    for (line, needle) in [
        (2, "missing \"response\""),
        (3, "invalid JSON"),
        (4, "expected a JSON object"),
        (5, "\"robot\""),
        (6, "message 1 is user but assistant was expected"),
        (7, "last message must be the assistant's"),
        (8, "\"prompt\" must be a string, found a number"),
        (9, "empty"),
        (10, "expected \"messages\" or \"prompt\" and \"response\""),
    ] {
        let want = format!("{p}:{line}: ");
        let row = text.lines().find(|l| l.starts_with(&want)).unwrap_or_else(|| panic!("no report for line {line}"));
        assert!(row.contains(needle), "line {line}: {row}");
    }
}

#[test]
fn a_missing_or_empty_file_is_an_error() {
    let missing = temp("missing.jsonl");
    let err = load_sft_jsonl(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.jsonl"));
    let empty = temp("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    assert!(load_sft_jsonl(&empty).unwrap_err().to_string().contains("no examples"));
}

#[test]
fn world_demonstrations_round_trip() {
    let demos = World::new(3).sft_demos(50, &DemoConfig::default());
    let convs = demos_to_conversations(&demos);
    let path = temp("world.jsonl");
    write_sft_jsonl(&path, &convs).unwrap();
    assert_eq!(load_sft_jsonl(&path).unwrap(), convs);
}
