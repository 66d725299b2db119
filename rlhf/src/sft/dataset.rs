//! Where SFT conversations come from (the built-in world's demonstrations, or a file), the held-out
//! validation slice, and the rendering into training examples with the assistant-only loss mask.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use engine::rng::Rng;
use models::tokenizer::TokenizerError;

use crate::data::{build_sft_examples, demos_to_conversations, load_self_instruct, load_sft_jsonl, ChatError, ChatTokenizer, Conversation, DataError, RenderedChat};
use crate::world::{DemoConfig, World};

/// A file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SftFormat {
    /// Decided from the first non-blank line: a Self-Instruct seed task (`instruction` + `instances`), else
    /// SFT JSONL.
    Auto,
    /// `{"prompt","response"}` or `{"messages":[...]}` lines ([`crate::data::load_sft_jsonl`]).
    Jsonl,
    /// Self-Instruct seed tasks ([`crate::data::load_self_instruct`]).
    SelfInstruct,
}

impl SftFormat {
    /// `auto`, `jsonl` or `self-instruct`.
    pub fn parse(name: &str) -> Result<SftFormat, String> {
        match name {
            "auto" => Ok(SftFormat::Auto),
            "jsonl" => Ok(SftFormat::Jsonl),
            "self-instruct" => Ok(SftFormat::SelfInstruct),
            other => Err(format!("unknown SFT data format {other:?}: expected auto, jsonl or self-instruct")),
        }
    }
}

/// Loads the conversations of an SFT file. Every bad line is reported as `FILE:LINE: what is wrong` and
/// nothing is returned unless the whole file is good.
///
/// ```
/// use rlhf::sft::dataset::{load_conversations, SftFormat};
/// let dir = std::env::temp_dir().join(format!("rlhf-doc-sft-load-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("tasks.jsonl");
/// std::fs::write(&path, r#"{"instruction": "Add.", "instances": [{"input": "2 3", "output": "5"}]}"#).unwrap();
/// let convs = load_conversations(&path, SftFormat::Auto).unwrap();
/// assert_eq!(convs[0].messages[0].content, "Add.\n\n2 3");
/// std::fs::write(&path, "{\"prompt\": \"Hi\", \"response\": \"Hello!\"}\n{\"prompt\": \"Hi\"}\n").unwrap();
/// let err = load_conversations(&path, SftFormat::Auto).unwrap_err().to_string();
/// assert!(err.starts_with(&format!("{}:2: ", path.display())), "{err}");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn load_conversations(path: &Path, format: SftFormat) -> Result<Vec<Conversation>, DataError> {
    let format = match format {
        SftFormat::Auto => detect_format(path)?,
        f => f,
    };
    match format {
        SftFormat::SelfInstruct => load_self_instruct(path),
        _ => load_sft_jsonl(path),
    }
}

fn detect_format(path: &Path) -> Result<SftFormat, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(first).unwrap_or(serde_json::Value::Null);
    if value.get("instruction").is_some() && value.get("instances").is_some() {
        Ok(SftFormat::SelfInstruct)
    } else {
        Ok(SftFormat::Jsonl)
    }
}

/// The built-in world's SFT demonstrations (SFT-split prompts only) as conversations.
///
/// ```
/// let convs = rlhf::sft::dataset::world_conversations(7, 10);
/// assert_eq!(convs.len(), 10);
/// assert!(convs.iter().all(|c| rlhf::world::Split::of(&c.messages[0].content) == rlhf::world::Split::Sft));
/// ```
pub fn world_conversations(seed: u64, n: usize) -> Vec<Conversation> {
    demos_to_conversations(&World::new(seed).sft_demos(n, &DemoConfig::default()))
}

/// Where the conversations came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SftSource {
    /// `n` demonstrations of the world of `seed`.
    World { seed: u64, n: usize },
    /// A file in a format.
    File { path: PathBuf, format: SftFormat },
}

impl SftSource {
    /// The conversations.
    pub fn load(&self) -> Result<Vec<Conversation>, DataError> {
        match self {
            SftSource::World { seed, n } => Ok(world_conversations(*seed, *n)),
            SftSource::File { path, format } => load_conversations(path, *format),
        }
    }

    /// A short description for logs and summaries.
    pub fn describe(&self) -> String {
        match self {
            SftSource::World { seed, n } => format!("world:seed={seed},demos={n}"),
            SftSource::File { path, .. } => path.display().to_string(),
        }
    }
}

/// Splits conversations into (train, validation): a seeded shuffle, then the first
/// `round(n * val_fraction)` (at least one when `val_fraction > 0` and `n >= 2`) validate.
///
/// ```
/// use rlhf::sft::dataset::{split_train_val, world_conversations};
/// let convs = world_conversations(1, 100);
/// let (train, val) = split_train_val(convs.clone(), 0.1, 3);
/// assert_eq!((train.len(), val.len()), (90, 10));
/// assert!(val.iter().all(|v| !train.contains(v)));
/// assert_eq!(split_train_val(convs, 0.1, 3).1, val); // seeded
/// ```
pub fn split_train_val(conversations: Vec<Conversation>, val_fraction: f64, seed: u64) -> (Vec<Conversation>, Vec<Conversation>) {
    let n = conversations.len();
    let mut n_val = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).split(0x5f7).shuffle(&mut order);
    let mut slots: Vec<Option<Conversation>> = conversations.into_iter().map(Some).collect();
    let mut take = |i: usize| slots[i].take().expect("each index once");
    let val: Vec<Conversation> = order[..n_val].iter().map(|&i| take(i)).collect();
    let train: Vec<Conversation> = order[n_val..].iter().map(|&i| take(i)).collect();
    (train, val)
}

/// Rendered examples and what had to be left out.
#[derive(Debug, Default)]
pub struct RenderedSet {
    /// The usable examples (each at most `block_size + 1` tokens, with at least one response token).
    pub examples: Vec<RenderedChat>,
    /// How many conversations were given.
    pub total: usize,
    /// Left out: even their last exchange is longer than the block.
    pub too_long: usize,
    /// Left out: a character the tokenizer cannot encode.
    pub unknown_chars: usize,
    /// The characters that made those fail (sorted).
    pub missing_chars: BTreeSet<char>,
    /// Left out for another reason (the first reason kept).
    pub other: usize,
    /// The first other reason.
    pub other_reason: Option<String>,
    /// Kept, but older turns were dropped to fit.
    pub truncated: usize,
}

impl RenderedSet {
    /// Renders `conversations` for a model with context `block_size`.
    ///
    /// ```
    /// use rlhf::data::{ChatTokenizer, Conversation};
    /// use rlhf::sft::dataset::RenderedSet;
    /// let tok = ChatTokenizer::for_world();
    /// let convs = vec![
    ///     Conversation::from_prompt_response("Hi", "Hello!"),
    ///     Conversation::from_prompt_response("Caf\u{e9}?", "Oui."),
    ///     Conversation::from_prompt_response(&"x".repeat(80), "y"),
    /// ];
    /// let set = RenderedSet::build(&tok, &convs, 32);
    /// assert_eq!((set.examples.len(), set.unknown_chars, set.too_long), (1, 1, 1));
    /// assert!(set.describe_skipped().contains("'\u{e9}'"));
    /// ```
    pub fn build(tok: &ChatTokenizer, conversations: &[Conversation], block_size: usize) -> RenderedSet {
        let built = build_sft_examples(tok, conversations, block_size);
        let mut out = RenderedSet { total: conversations.len(), truncated: built.truncated, ..Default::default() };
        for (_, err) in built.skipped {
            match err {
                ChatError::TooLong { .. } => out.too_long += 1,
                ChatError::Tokenizer(TokenizerError::UnknownChar { ch }) => {
                    out.unknown_chars += 1;
                    out.missing_chars.insert(ch);
                }
                other => {
                    out.other += 1;
                    out.other_reason.get_or_insert_with(|| other.to_string());
                }
            }
        }
        // A row must have a response token to learn (the template always keeps the last answer, so this
        // only guards against an empty-content edge case).
        out.examples = built.examples.into_iter().filter(|e| e.training_pair().2.contains(&1)).collect();
        out
    }

    /// How many were left out.
    pub fn skipped(&self) -> usize {
        self.total - self.examples.len()
    }

    /// One line saying what was left out and why (empty when nothing was).
    pub fn describe_skipped(&self) -> String {
        if self.skipped() == 0 {
            return String::new();
        }
        let mut parts = Vec::new();
        if self.too_long > 0 {
            parts.push(format!("{} longer than the model's context even after dropping old turns", self.too_long));
        }
        if self.unknown_chars > 0 {
            let shown: String = self.missing_chars.iter().take(20).map(|c| format!("{c:?} ")).collect();
            let more = if self.missing_chars.len() > 20 { format!("and {} more", self.missing_chars.len() - 20) } else { String::new() };
            parts.push(format!("{} with characters outside the tokenizer's vocabulary ({}{more})", self.unknown_chars, shown));
        }
        if self.other > 0 {
            parts.push(format!("{} other ({})", self.other, self.other_reason.as_deref().unwrap_or("")));
        }
        format!("skipped {} of {}: {}", self.skipped(), self.total, parts.join("; "))
    }

    /// A digest of the examples' tokens (FNV-1a), so a resumed run can check it trains on the same data.
    pub fn digest(&self) -> String {
        let mut h: u64 = 0xcbf29ce484222325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
        };
        for e in &self.examples {
            eat(e.ids.len() as u64);
            e.ids.iter().zip(&e.loss_mask).for_each(|(&i, &m)| eat(((i as u64) << 1) | m as u64));
        }
        format!("{h:016x}")
    }
}
