//! The labeled ranking as the rankings file holds it, and the append-safe log that collection resumes from.
//!
//! A line is the rankings file's record (`{"prompt", "responses", "ranking", "labeler"}`, see
//! [`crate::data::rankings`]) with two optional fields that readers of the plain record ignore:
//!
//! - `"tiers"`: the ranking with ties, best tier first (`[[2], [0, 1], [3]]`: 0 and 1 tied); present only
//!   when some answers are tied, and then `"ranking"` is the tiers flattened;
//! - `"messages"`: the whole conversation before the answers, when it has more than one user turn (real
//!   multi-turn preference data); `"prompt"` is then its last user turn.
//!
//! [`RankingsLog`] opens a file through [`RankingsFile::open`] (which cuts a torn last line and reports a
//! damaged one as `FILE:LINE`), reads the optional fields of every line, and appends each new ranking as
//! one line written with one `write_all`, flushed and `fsync`ed, so an interrupted run keeps every ranking
//! already given.
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::error::DataError;
use crate::data::{Conversation, Message, RankingRecord, RankingsFile, Role};
use crate::reward::Ranking;

/// One ranking of K answers to a prompt, possibly with ties and a multi-turn history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabeledRanking {
    /// The prompt text (the last user turn).
    pub prompt: String,
    /// The K answers.
    pub responses: Vec<String>,
    /// Indices into `responses`, best first (tied answers in their tier's order).
    pub ranking: Vec<usize>,
    /// Who ranked.
    pub labeler: String,
    /// The ranking's tiers when some answers are tied (best first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<Vec<usize>>>,
    /// The conversation before the answers, when it is more than the one user turn `prompt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
}

impl LabeledRanking {
    /// A record of `ranking` (tiers kept only when some answers tie) for a one-turn `prompt`.
    ///
    /// ```
    /// use rlhf::labeling::LabeledRanking;
    /// use rlhf::reward::Ranking;
    /// let r = LabeledRanking::new("q", vec!["a".into(), "b".into(), "c".into()], &Ranking::with_ties(vec![vec![2], vec![0, 1]]), "human");
    /// assert_eq!(r.ranking, vec![2, 0, 1]);
    /// assert_eq!(r.tiers, Some(vec![vec![2], vec![0, 1]]));
    /// assert_eq!(r.to_ranking().unwrap().pairs(), vec![(2, 0), (2, 1)]); // the tied pair is skipped
    /// ```
    pub fn new(prompt: &str, responses: Vec<String>, ranking: &Ranking, labeler: &str) -> LabeledRanking {
        let tied = ranking.tiers.iter().any(|t| t.len() > 1);
        LabeledRanking {
            prompt: prompt.to_string(),
            responses,
            ranking: ranking.tiers.iter().flatten().copied().collect(),
            labeler: labeler.to_string(),
            tiers: tied.then(|| ranking.tiers.clone()),
            messages: None,
        }
    }

    /// A record for answers to a whole conversation (its last turn the user's); `messages` is kept only
    /// when the conversation is more than one user turn.
    pub fn for_conversation(conversation: &Conversation, responses: Vec<String>, ranking: &Ranking, labeler: &str) -> Result<LabeledRanking, String> {
        conversation.validate()?;
        let last = conversation.messages.last().filter(|m| m.role == Role::User).ok_or("the conversation does not end with a user turn")?;
        let mut record = LabeledRanking::new(&last.content, responses, ranking, labeler);
        if conversation.messages.len() > 1 {
            record.messages = Some(conversation.messages.clone());
        }
        Ok(record)
    }

    /// The plain rankings-file record (ties and history dropped).
    pub fn to_record(&self) -> RankingRecord {
        RankingRecord { prompt: self.prompt.clone(), responses: self.responses.clone(), ranking: self.ranking.clone(), labeler: self.labeler.clone() }
    }

    /// The conversation the answers reply to.
    pub fn conversation(&self) -> Conversation {
        match &self.messages {
            Some(m) => Conversation::new(m.clone()),
            None => Conversation::from_prompt(&self.prompt),
        }
    }

    /// What resume compares: the prompt text, or the whole history for a multi-turn record.
    pub fn key(&self) -> String {
        match &self.messages {
            Some(m) => serde_json::to_string(m).expect("messages serialise"),
            None => self.prompt.clone(),
        }
    }

    /// The ranking (with its ties), checked: `ranking` a permutation of the responses, `tiers` (if any) a
    /// partition that flattens to it, `messages` (if any) a conversation ending with the user's `prompt`.
    pub fn to_ranking(&self) -> Result<Ranking, String> {
        self.to_record().validate()?;
        let ranking = match &self.tiers {
            None => Ranking::from_order(&self.ranking),
            Some(tiers) => {
                let flat: Vec<usize> = tiers.iter().flatten().copied().collect();
                if flat != self.ranking || tiers.iter().any(Vec::is_empty) {
                    return Err(format!("\"tiers\" {tiers:?} do not flatten to \"ranking\" {:?} (or a tier is empty)", self.ranking));
                }
                Ranking::with_ties(tiers.clone())
            }
        };
        if let Some(m) = &self.messages {
            let c = Conversation::new(m.clone());
            c.validate().map_err(|e| format!("\"messages\": {e}"))?;
            match m.last() {
                Some(last) if last.role == Role::User && last.content == self.prompt => {}
                _ => return Err("\"messages\" must end with the user turn given as \"prompt\"".into()),
            }
        }
        Ok(ranking)
    }
}

/// Reads every complete labeled ranking of a file, checked (a torn last line is ignored; a bad line is an
/// error naming `FILE:LINE`).
pub fn load_labeled(path: impl AsRef<Path>) -> Result<Vec<LabeledRanking>, DataError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_labeled(&bytes, path)
}

/// Parses the complete lines of `bytes` (what [`crate::data::rankings::parse_rankings`] accepts, plus the
/// optional fields, checked).
fn parse_labeled(bytes: &[u8], path: &Path) -> Result<Vec<LabeledRanking>, DataError> {
    // The plain parse reports bad lines and finds the torn tail; every line it accepted is valid JSON.
    let plain = crate::data::rankings::parse_rankings(bytes, path)?;
    let good = &bytes[..plain.good_len as usize];
    let mut out = Vec::with_capacity(plain.records.len());
    let mut errors = Vec::new();
    for (i, line) in good.split(|&b| b == b'\n').enumerate() {
        let text = std::str::from_utf8(line).unwrap_or("");
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LabeledRanking>(text).map_err(|e| e.to_string()).and_then(|r| r.to_ranking().map(|_| r)) {
            Ok(r) => out.push(r),
            Err(e) => errors.push(crate::data::LineError { path: path.to_path_buf(), line: i + 1, message: e }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        let total = errors.len();
        errors.truncate(crate::data::error::MAX_REPORTED);
        Err(DataError::BadLines { errors, total })
    }
}

/// A rankings file open for appending labeled rankings, knowing which prompts are already ranked.
///
/// ```
/// use rlhf::labeling::{LabeledRanking, RankingsLog};
/// use rlhf::reward::Ranking;
/// let path = std::env::temp_dir().join(format!("rlhf-doc-log-{}.jsonl", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let mut log = RankingsLog::open(&path)?;
/// let tied = LabeledRanking::new("q", vec!["a".into(), "b".into()], &Ranking::with_ties(vec![vec![0, 1]]), "human");
/// log.append(&tied)?;
/// let again = RankingsLog::open(&path)?;
/// assert!(again.contains_key("q"));
/// assert_eq!(again.records(), &[tied]);
/// // The plain reader sees the same line as an ordinary record.
/// assert_eq!(rlhf::data::load_rankings(&path)?[0].ranking, vec![0, 1]);
/// std::fs::remove_file(&path).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RankingsLog {
    path: PathBuf,
    file: File,
    records: Vec<LabeledRanking>,
    /// How many rankings each key has (a prompt drawn twice is ranked twice).
    keys: HashMap<String, usize>,
    torn: Option<(usize, usize)>,
}

impl RankingsLog {
    /// Opens (or creates) the file, cutting off a torn last line, and positions for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<RankingsLog, DataError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        }
        // The plain file cuts the torn line; drop it before appending through our own handle.
        let torn = RankingsFile::open(&path)?.torn_line();
        let records = load_labeled(&path)?;
        let file = OpenOptions::new().append(true).open(&path).map_err(|e| DataError::io(&path, e))?;
        let mut keys = HashMap::new();
        for r in &records {
            *keys.entry(r.key()).or_insert(0) += 1;
        }
        Ok(RankingsLog { path, file, records, keys, torn })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every ranking in the file, in order.
    pub fn records(&self) -> &[LabeledRanking] {
        &self.records
    }

    /// Whether a ranking with this [`LabeledRanking::key`] (the prompt text of a one-turn record) is there.
    pub fn contains_key(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// How many rankings with this [`LabeledRanking::key`] are there.
    pub fn count_of(&self, key: &str) -> usize {
        self.keys.get(key).copied().unwrap_or(0)
    }

    /// The torn last line found on opening and cut off: (1-based line, bytes).
    pub fn torn_line(&self) -> Option<(usize, usize)> {
        self.torn
    }

    /// Appends one ranking as one line, flushed and synced to disk.
    pub fn append(&mut self, record: &LabeledRanking) -> Result<(), DataError> {
        record.to_ranking().map_err(|e| DataError::Invalid(format!("{}: refusing to append: {e}", self.path.display())))?;
        crate::data::rankings::append_json_line(&mut self.file, &self.path, record)?;
        *self.keys.entry(record.key()).or_insert(0) += 1;
        self.records.push(record.clone());
        Ok(())
    }
}
