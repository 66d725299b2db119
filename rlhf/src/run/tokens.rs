//! The binary token file of a run: a text corpus tokenised once into `tokens.bin` (little-endian u32 ids)
//! with `tokens.json` describing what made it (source path, size and mtime, tokenizer, count), then
//! memory-mapped: later runs and resumes reuse it when the description still matches.
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use super::RunError;

/// What a token file was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenFileInfo {
    /// The corpus path as given.
    pub source: String,
    /// Its size in bytes.
    pub source_bytes: u64,
    /// Its modification time (seconds since the epoch).
    pub source_mtime: u64,
    /// The tokenizer spec (`char`, `gpt2:DIR`, or a JSON path).
    pub tokenizer: String,
    /// The vocabulary size.
    pub vocab_size: usize,
    /// Number of tokens in the file.
    pub count: usize,
}

impl TokenFileInfo {
    /// The description of `source` as it is now (count and vocabulary filled in later).
    pub fn describe(source: &Path, tokenizer: &str) -> Result<TokenFileInfo, RunError> {
        let meta = std::fs::metadata(source).map_err(|e| format!("{}: cannot read: {e}", source.display()))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(TokenFileInfo {
            source: source.display().to_string(),
            source_bytes: meta.len(),
            source_mtime: mtime,
            tokenizer: tokenizer.to_string(),
            vocab_size: 0,
            count: 0,
        })
    }

    /// True when `other` was made from the same source with the same tokenizer.
    pub fn same_source(&self, other: &TokenFileInfo) -> bool {
        self.source == other.source
            && self.source_bytes == other.source_bytes
            && self.source_mtime == other.source_mtime
            && self.tokenizer == other.tokenizer
    }
}

/// A memory-mapped token file.
pub struct TokenFile {
    map: Mmap,
    /// Its description.
    pub info: TokenFileInfo,
}

#[allow(clippy::len_without_is_empty)] // never empty: training refuses a corpus too small to split
impl TokenFile {
    /// Writes `ids` to `bin` and `info` (with the count) to `json`, then maps the file.
    pub fn write(bin: &Path, json: &Path, ids: &[u32], mut info: TokenFileInfo) -> Result<TokenFile, RunError> {
        let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
        std::fs::write(bin, bytes).map_err(|e| format!("{}: cannot write: {e}", bin.display()))?;
        info.count = ids.len();
        std::fs::write(json, serde_json::to_string_pretty(&info)? + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
        TokenFile::open(bin, json)
    }

    /// Maps an existing token file, checking its size against its description.
    pub fn open(bin: &Path, json: &Path) -> Result<TokenFile, RunError> {
        let info: TokenFileInfo = serde_json::from_str(
            &std::fs::read_to_string(json).map_err(|e| format!("{}: cannot read: {e}", json.display()))?,
        )
        .map_err(|e| format!("{}: malformed: {e}", json.display()))?;
        let file = File::open(bin).map_err(|e| format!("{}: cannot open: {e}", bin.display()))?;
        // SAFETY: the run folder's token file is written once before it is mapped and never modified while
        // mapped (a changed corpus makes a new file); a file truncated by someone else is caught below
        // only when it happens before the check, which is the documented risk of memory-mapping.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| format!("{}: cannot map: {e}", bin.display()))?;
        if map.len() != info.count * 4 {
            return Err(format!("{}: {} bytes but {} records {} tokens", bin.display(), map.len(), json.display(), info.count).into());
        }
        Ok(TokenFile { map, info })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.map.len() / 4
    }

    /// The id at `i`.
    pub fn get(&self, i: usize) -> u32 {
        let b = &self.map[4 * i..4 * i + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// The paths of a run's token file: `tokens.bin` and `tokens.json` in `dir`.
pub fn token_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("tokens.bin"), dir.join("tokens.json"))
}
