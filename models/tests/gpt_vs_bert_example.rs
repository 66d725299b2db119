//! The `gpt_vs_bert` example's core, with tiny settings: both models' evaluation losses fall, and the two
//! attention masks it draws are the causal and the full one.
#[allow(dead_code)]
#[path = "../examples/gpt_vs_bert.rs"]
mod example;

use autograd::AttentionMask;
use example::{compare, draw_masks, visibility, Settings, BUILT_IN_TEXT};

#[test]
fn both_losses_fall_on_the_built_in_text() {
    let settings = Settings {
        steps: 150,
        batch_size: 16,
        window: 16,
        n_layer: 1,
        n_head: 2,
        n_embd: 32,
        eval_batches: 4,
        ..Settings::new(BUILT_IN_TEXT)
    };
    let mut lines = Vec::new();
    let result = compare(&settings, &mut |line| lines.push(line.to_string())).unwrap();
    eprintln!("{}", lines.join("\n"));
    let (gpt, bert) = (result.gpt, result.bert);
    // Both start near a uniform guess: ln 39 characters = 3.66 (BERT: ln 43 = 3.76 with its specials).
    assert!((gpt.start - (result.chars as f32).ln()).abs() < 0.3, "GPT start {}", gpt.start);
    assert!((bert.start - (result.chars as f32 + 4.0).ln()).abs() < 0.3, "BERT start {}", bert.start);
    assert!(gpt.end < gpt.start - 1.0, "GPT loss {} -> {}", gpt.start, gpt.end);
    assert!(bert.end < bert.start - 0.5, "BERT loss {} -> {}", bert.start, bert.end);
    // The report shows every part: the masks, a continuation, a filled blank, the losses.
    for part in ["GPT: causal", "BERT: bidirectional", "GPT, greedy", "BERT, both sides", "GPT, left only", "start"] {
        assert!(lines.iter().any(|l| l.contains(part)), "no {part:?} in the report");
    }
}

#[test]
fn the_masks_are_causal_and_bidirectional() {
    let n = 5;
    let causal = visibility(&AttentionMask::causal(), n).unwrap();
    let full = visibility(&AttentionMask::default(), n).unwrap();
    for q in 0..n {
        for k in 0..n {
            assert_eq!(causal[q][k], k <= q, "causal: query {q}, key {k}");
            assert!(full[q][k], "bidirectional: query {q}, key {k}");
        }
    }
    let label: Vec<char> = "ab cd".chars().collect();
    let drawn = draw_masks(&label, ("left", &causal), ("right", &full));
    assert_eq!(drawn.len(), 2 + n);
    assert_eq!(drawn[2].trim_end(), "  a  x . . . .        a  x x x x x");
    assert_eq!(drawn[4].trim_end(), "  _  x x x . .        _  x x x x x");
}

#[test]
fn a_text_shorter_than_a_window_is_an_error() {
    let settings = Settings { window: 16, ..Settings::new("too short") };
    assert!(compare(&settings, &mut |_| {}).is_err());
}
