//! Rankings from a dataset instead of a labeler at work: pairwise `{"prompt", "chosen", "rejected"}`
//! JSONL, Anthropic HH-RLHF dialogues, OpenAssistant trees (sibling replies ranked K-wise) and rankings
//! files, each turned into [`LabeledRanking`]s written by the same code as any other labeler's.
use std::path::Path;

use super::record::{load_labeled, LabeledRanking};
use crate::data::{load_hh_rlhf, load_oasst_trees, load_pairs_jsonl, oasst_rankings, Conversation, DataError};
use crate::reward::Ranking;

/// The file formats [`import_file`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetFormat {
    /// `{"prompt", "chosen", "rejected"}` a line.
    Pairs,
    /// HH-RLHF: `{"chosen", "rejected"}` whole dialogues a line.
    HhRlhf,
    /// OASST message trees a line.
    Oasst,
    /// A rankings file (`{"prompt", "responses", "ranking", "labeler"}`).
    Rankings,
}

impl DatasetFormat {
    /// `pairs`, `hh`, `oasst`, `rankings`, or `auto` (`None`: decide from the first line).
    pub fn parse(name: &str) -> Result<Option<DatasetFormat>, String> {
        Ok(Some(match name {
            "auto" => return Ok(None),
            "pairs" => DatasetFormat::Pairs,
            "hh" | "hh-rlhf" => DatasetFormat::HhRlhf,
            "oasst" => DatasetFormat::Oasst,
            "rankings" => DatasetFormat::Rankings,
            other => return Err(format!("--format {other}: expected auto, pairs, hh, oasst or rankings")),
        }))
    }

    /// The format of a file, from the keys of its first non-empty line.
    pub fn detect(path: &Path) -> Result<DatasetFormat, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let first = text.lines().find(|l| !l.trim().is_empty()).ok_or_else(|| format!("{}: empty file", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(first).map_err(|e| format!("{}:1: not JSON: {e}", path.display()))?;
        let has = |k: &str| value.get(k).is_some();
        if has("responses") && has("ranking") {
            Ok(DatasetFormat::Rankings)
        } else if has("message_tree_id") {
            Ok(DatasetFormat::Oasst)
        } else if has("chosen") && has("rejected") && has("prompt") {
            Ok(DatasetFormat::Pairs)
        } else if has("chosen") && has("rejected") {
            Ok(DatasetFormat::HhRlhf)
        } else {
            Err(format!("{}: cannot tell the format from the first line's keys; pass --format", path.display()))
        }
    }

    fn name(self) -> &'static str {
        match self {
            DatasetFormat::Pairs => "pairs",
            DatasetFormat::HhRlhf => "hh-rlhf",
            DatasetFormat::Oasst => "oasst",
            DatasetFormat::Rankings => "rankings",
        }
    }
}

/// What an import found.
#[derive(Debug, Default)]
pub struct Imported {
    /// The rankings, in file order.
    pub records: Vec<LabeledRanking>,
    /// (1-based line, reason) of each item left out (HH dialogues that do not share their history, ...).
    pub skipped: Vec<(usize, String)>,
}

/// Reads a preference file as rankings, labelled `dataset:FORMAT:FILE_NAME` (a rankings file keeps its
/// own labelers). `format: None` detects it.
///
/// ```
/// use rlhf::labeling::import_file;
/// let path = std::env::temp_dir().join(format!("rlhf-doc-pairs-{}.jsonl", std::process::id()));
/// std::fs::write(&path, "{\"prompt\": \"Hi\", \"chosen\": \"Hello!\", \"rejected\": \"Go away.\"}\n")?;
/// let imported = import_file(&path, None)?;
/// assert_eq!(imported.records[0].responses, vec!["Hello!", "Go away."]);
/// assert_eq!(imported.records[0].ranking, vec![0, 1]);
/// assert!(imported.records[0].labeler.starts_with("dataset:pairs:"));
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn import_file(path: &Path, format: Option<DatasetFormat>) -> Result<Imported, DataError> {
    let format = match format {
        Some(f) => f,
        None => DatasetFormat::detect(path).map_err(DataError::Invalid)?,
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let labeler = format!("dataset:{}:{file_name}", format.name());
    let record = |conversation: &Conversation, responses: Vec<String>, ranking: &Ranking| {
        LabeledRanking::for_conversation(conversation, responses, ranking, &labeler)
    };
    let mut out = Imported::default();
    match format {
        DatasetFormat::Rankings => out.records = load_labeled(path)?,
        DatasetFormat::Pairs => {
            for (i, p) in load_pairs_jsonl(path)?.into_iter().enumerate() {
                push(&mut out, i + 1, record(&p.prompt, vec![p.chosen, p.rejected], &Ranking::from_order(&[0, 1])));
            }
        }
        DatasetFormat::HhRlhf => {
            let hh = load_hh_rlhf(path)?;
            out.skipped = hh.skipped;
            for p in hh.pairs {
                // HH lines keep no number once parsed: 0 marks "after parsing" in the rare refusal here.
                push(&mut out, 0, record(&p.prompt, vec![p.chosen, p.rejected], &Ranking::from_order(&[0, 1])));
            }
        }
        DatasetFormat::Oasst => {
            let trees = load_oasst_trees(path)?;
            for (i, r) in oasst_rankings(&trees, false).into_iter().enumerate() {
                push(&mut out, i + 1, record(&r.prompt, r.responses, &Ranking::from_order(&r.ranking)));
            }
        }
    }
    Ok(out)
}

fn push(out: &mut Imported, item: usize, record: Result<LabeledRanking, String>) {
    match record.and_then(|r| r.to_ranking().map(|_| r)) {
        Ok(r) => out.records.push(r),
        Err(e) => out.skipped.push((item, e)),
    }
}
