//! The rankings file of the reward-model stage: one JSON record a line,
//! `{"prompt", "responses": [...], "ranking": [indices best to worst], "labeler"}`, appended safely.
//!
//! Safety: each record is written as one line with one `write_all`, then flushed and `fsync`ed, so after a
//! crash the file holds every record given before it and, at worst, one torn last line. A torn line is one
//! with no final newline; [`RankingsFile::open`] ignores it and cuts it off before appending. A bad line that
//! does end with a newline is not a torn write but damage, and is reported as `FILE:LINE`.
use super::conversation::Conversation;
use super::error::{DataError, LineErrors};
use super::preference::KwiseRanking;
use crate::world::ScriptedLabeler;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One ranking given by a labeler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankingRecord {
    /// The prompt text.
    pub prompt: String,
    /// The K answers.
    pub responses: Vec<String>,
    /// Indices into `responses`, best first: a permutation of `0..K`.
    pub ranking: Vec<usize>,
    /// Who ranked (`"human:alice"`, `"scripted(noise=0.3,seed=1)"`, `"oasst"`...).
    pub labeler: String,
}

impl RankingRecord {
    /// Checks that there are at least two responses and that `ranking` is a permutation of them.
    pub fn validate(&self) -> Result<(), String> {
        let k = self.responses.len();
        if k < 2 {
            return Err(format!("{k} responses; a ranking needs at least 2"));
        }
        let mut seen = vec![false; k];
        if self.ranking.len() != k {
            return Err(format!("ranking has {} entries for {k} responses", self.ranking.len()));
        }
        for &i in &self.ranking {
            if i >= k || std::mem::replace(&mut seen[i], true) {
                return Err(format!("ranking {:?} is not a permutation of 0..{k}", self.ranking));
            }
        }
        Ok(())
    }
}

impl RankingRecord {
    /// The ranking the scripted labeler gives `responses` to a world prompt; `None` when `prompt` is not one.
    ///
    /// ```
    /// use rlhf::data::RankingRecord;
    /// use rlhf::world::ScriptedLabeler;
    /// let labeler = ScriptedLabeler::new(0.0, 0);
    /// let r = RankingRecord::scripted(&labeler, "What is 47 plus 38?", vec!["84".into(), "Sure! 47 + 38 = 85.".into()]).unwrap();
    /// assert_eq!(r.ranking, vec![1, 0]);
    /// assert_eq!(r.labeler, "scripted(noise=0,seed=0)");
    /// ```
    pub fn scripted(labeler: &ScriptedLabeler, prompt: &str, responses: Vec<String>) -> Option<RankingRecord> {
        let ranking = labeler.rank(prompt, &responses)?;
        Some(RankingRecord { prompt: prompt.to_string(), responses, ranking, labeler: labeler.name() })
    }

    /// As a K-wise ranking whose prompt is one user turn.
    pub fn to_kwise(&self) -> KwiseRanking {
        KwiseRanking { prompt: Conversation::from_prompt(&self.prompt), responses: self.responses.clone(), ranking: self.ranking.clone() }
    }
}

/// What reading a rankings file found.
#[derive(Debug, Default)]
pub struct RankingsContents {
    /// The complete records, in file order.
    pub records: Vec<RankingRecord>,
    /// Byte length of the complete lines (where appending resumes).
    pub good_len: u64,
    /// The torn last line, if there was one: its 1-based line number and byte length.
    pub torn: Option<(usize, usize)>,
}

/// Reads rankings from `bytes`; `path` names the file in errors.
pub fn parse_rankings(bytes: &[u8], path: &Path) -> Result<RankingsContents, DataError> {
    let mut out = RankingsContents::default();
    let mut errors = LineErrors::default();
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < bytes.len() {
        line_no += 1;
        let Some(nl) = bytes[start..].iter().position(|&b| b == b'\n') else {
            out.torn = Some((line_no, bytes.len() - start));
            break;
        };
        let line = &bytes[start..start + nl];
        start += nl + 1;
        out.good_len = start as u64;
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                errors.push(path, line_no, format!("not UTF-8: {e}"));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RankingRecord>(text) {
            Ok(r) => match r.validate() {
                Ok(()) => out.records.push(r),
                Err(e) => errors.push(path, line_no, e),
            },
            Err(e) => errors.push(path, line_no, format!("expected {{\"prompt\", \"responses\", \"ranking\", \"labeler\"}}: {e}")),
        }
    }
    errors.finish(out)
}

/// Reads every complete ranking of a file (a torn last line is ignored).
pub fn load_rankings(path: impl AsRef<Path>) -> Result<Vec<RankingRecord>, DataError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    Ok(parse_rankings(&bytes, path)?.records)
}

/// A rankings file open for appending, knowing which prompts are already ranked.
///
/// ```
/// use rlhf::data::{RankingRecord, RankingsFile};
/// let path = std::env::temp_dir().join(format!("rlhf-doc-rankings-{}.jsonl", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let record = RankingRecord {
///     prompt: "What is 2 plus 3?".into(),
///     responses: vec!["5".into(), "Sure! 2 + 3 = 5.".into()],
///     ranking: vec![1, 0],
///     labeler: "scripted".into(),
/// };
/// let mut file = RankingsFile::open(&path).unwrap();
/// file.append(&record).unwrap();
/// let resumed = RankingsFile::open(&path).unwrap();
/// assert!(resumed.is_ranked("What is 2 plus 3?"));
/// assert_eq!(resumed.records(), &[record]);
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct RankingsFile {
    path: PathBuf,
    file: File,
    records: Vec<RankingRecord>,
    ranked: HashSet<String>,
    torn: Option<(usize, usize)>,
}

impl RankingsFile {
    /// Opens (or creates) a rankings file: reads its records, cuts off a torn last line, and positions for
    /// appending. A damaged complete line is an error naming its line.
    pub fn open(path: impl AsRef<Path>) -> Result<RankingsFile, DataError> {
        let path = path.as_ref().to_path_buf();
        let io = |e| DataError::io(&path, e);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let contents = parse_rankings(&bytes, &path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        if contents.torn.is_some() {
            file.set_len(contents.good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let ranked = contents.records.iter().map(|r| r.prompt.clone()).collect();
        Ok(RankingsFile { path, file, records: contents.records, ranked, torn: contents.torn })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every ranking in the file, in order.
    pub fn records(&self) -> &[RankingRecord] {
        &self.records
    }

    /// Whether `prompt` already has a ranking (resume skips it).
    pub fn is_ranked(&self, prompt: &str) -> bool {
        self.ranked.contains(prompt)
    }

    /// The torn last line found on opening and cut off: (1-based line, bytes), if there was one.
    pub fn torn_line(&self) -> Option<(usize, usize)> {
        self.torn
    }

    /// Appends one ranking as one line, then flushes and syncs it to disk.
    pub fn append(&mut self, record: &RankingRecord) -> Result<(), DataError> {
        record.validate().map_err(|e| DataError::Invalid(format!("{}: refusing to append: {e}", self.path.display())))?;
        append_json_line(&mut self.file, &self.path, record)?;
        self.ranked.insert(record.prompt.clone());
        self.records.push(record.clone());
        Ok(())
    }
}

/// Appends `record` as one JSON line, then flushes and syncs it: after a crash the file holds it whole or
/// as a torn last line, which the next open cuts off. Every rankings writer appends through this.
pub(crate) fn append_json_line(file: &mut File, path: &Path, record: &impl serde::Serialize) -> Result<(), DataError> {
    let mut line = serde_json::to_string(record).expect("records serialise");
    line.push('\n');
    let io = |e| DataError::io(path, e);
    file.write_all(line.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    file.sync_data().map_err(io)
}
