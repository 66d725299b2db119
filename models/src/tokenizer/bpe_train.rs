//! Training a byte-level BPE vocabulary from a corpus.
//!
//! The standard algorithm: pre-tokenize the corpus (GPT-2 pattern), count distinct words, start every word
//! as its bytes, and repeatedly merge the most frequent adjacent pair. Incremental: pair counts are kept
//! across steps and a merge only revisits the words that contain the merged pair (an index pair -> words);
//! the most frequent pair comes from a max-heap with lazy invalidation (an entry whose count no longer
//! matches is dropped when popped; every count change pushes a fresh entry). Ties are broken by the
//! smallest (left id, right id), so training is deterministic.
//!
//! Ids of a trained vocabulary: 0..256 are the bytes (id = byte value), then one id per merge in rank
//! order, then the special tokens.
use super::bpe::{BpeBuilder, BpeTokenizer};
use super::error::TokenizerError;
use super::fxhash::{fx_map_with_capacity, FxHashMap};
use super::pretokenize::Gpt2PreTokenizer;
use super::special::DEFAULT_BPE_SPECIALS;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Settings of a BPE training run.
///
/// ```
/// use models::tokenizer::BpeTrainer;
/// let corpus = "low lower lowest low low newer newest new ".repeat(20);
/// let bpe = BpeTrainer::new(256 + 10).with_special_tokens(&["<|endoftext|>"]).train(&corpus).unwrap();
/// assert_eq!(bpe.vocab_size(), 266); // 256 bytes + 9 merges + 1 special
/// assert_eq!(bpe.decode(&bpe.encode_ordinary("lowest newer")).unwrap(), "lowest newer");
/// assert!(bpe.encode_ordinary(" lowest").len() < " lowest".len());
/// ```
#[derive(Clone, Debug)]
pub struct BpeTrainer {
    /// Size of the final vocabulary: 256 bytes + merges + special tokens.
    pub vocab_size: usize,
    /// Special tokens appended after the merges, in this order.
    pub special_tokens: Vec<String>,
    /// Pairs seen fewer times than this are never merged (training may then stop below `vocab_size`).
    pub min_frequency: u64,
}

impl BpeTrainer {
    /// A trainer with the default special tokens ([`DEFAULT_BPE_SPECIALS`]) and min frequency 1.
    pub fn new(vocab_size: usize) -> Self {
        BpeTrainer {
            vocab_size,
            special_tokens: DEFAULT_BPE_SPECIALS.iter().map(|s| s.to_string()).collect(),
            min_frequency: 1,
        }
    }

    /// Replaces the special tokens.
    pub fn with_special_tokens(mut self, specials: &[&str]) -> Self {
        self.special_tokens = specials.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Number of merges to learn.
    fn target_merges(&self) -> Result<usize, TokenizerError> {
        let fixed = 256 + self.special_tokens.len();
        if self.vocab_size < fixed {
            return Err(TokenizerError::InvalidArgument(format!(
                "vocabulary size {} is too small: 256 byte tokens + {} special tokens need at least {fixed}",
                self.vocab_size,
                self.special_tokens.len()
            )));
        }
        Ok(self.vocab_size - fixed)
    }

    /// Trains on one text.
    pub fn train(&self, corpus: &str) -> Result<BpeTokenizer, TokenizerError> {
        self.train_on_word_counts(count_words(&[corpus]))
    }

    /// Trains on word counts (from [`count_words`]).
    pub fn train_on_word_counts(&self, counts: FxHashMap<&[u8], u64>) -> Result<BpeTokenizer, TokenizerError> {
        let target = self.target_merges()?;
        let merges = learn_merges(counts, target, self.min_frequency);
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for (left, right) in &merges {
            let merged = [vocab[*left as usize].as_slice(), vocab[*right as usize].as_slice()].concat();
            vocab.push(merged);
        }
        // One byte string can be reached by two merge paths (rare): keep both ids, as training did.
        let mut builder = BpeBuilder::new_allowing_duplicates(vocab).map_err(TokenizerError::InvalidArgument)?;
        for (rank, (left, right)) in merges.iter().enumerate() {
            builder
                .add_merge_ids(*left, *right, 256 + rank as u32)
                .map_err(TokenizerError::InvalidArgument)?;
        }
        let mut bpe = builder.build(&[]).map_err(TokenizerError::InvalidArgument)?;
        let specials: Vec<&str> = self.special_tokens.iter().map(String::as_str).collect();
        bpe.add_special_tokens(&specials);
        Ok(bpe)
    }
}

/// Counts the GPT-2 pre-tokens of some texts.
///
/// ```
/// let counts = models::tokenizer::bpe_train::count_words(&["to be or not to be", " to"]);
/// assert_eq!(counts[&b" to"[..]], 2);
/// assert_eq!(counts[&b"to"[..]], 1);
/// ```
pub fn count_words<'a>(texts: &[&'a str]) -> FxHashMap<&'a [u8], u64> {
    let mut counts: FxHashMap<&[u8], u64> = fx_map_with_capacity(1 << 12);
    for text in texts {
        for piece in Gpt2PreTokenizer::new(text) {
            *counts.entry(piece.as_bytes()).or_insert(0) += 1;
        }
    }
    counts
}

#[inline]
fn key(left: u32, right: u32) -> u64 {
    ((left as u64) << 32) | right as u64
}

/// Merges every non-overlapping occurrence of (left, right) in `word`, left to right, into `merged`.
fn merge_in_word(word: &[u32], left: u32, right: u32, merged: u32, out: &mut Vec<u32>) {
    out.clear();
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && word[i] == left && word[i + 1] == right {
            out.push(merged);
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
}

/// The incremental learner: returns up to `target` merges as (left id, right id); merge k makes id 256 + k.
///
/// ```
/// use models::tokenizer::bpe_train::{count_words, learn_merges};
/// let merges = learn_merges(count_words(&["aaab aab ab"]), 2, 1);
/// // "a"+"a" and "a"+"b" both occur 3 times: the tie goes to the smaller ids.
/// assert_eq!(merges[0], (b'a' as u32, b'a' as u32));
/// // "aaab" is now "aa","a","b" and " aab" is " ","aa","b": "a"+"b" is left the most frequent (twice).
/// assert_eq!(merges[1], (b'a' as u32, b'b' as u32));
/// ```
pub fn learn_merges(counts: FxHashMap<&[u8], u64>, target: usize, min_frequency: u64) -> Vec<(u32, u32)> {
    // Sort the words so that the result does not depend on hash-map iteration order.
    let mut entries: Vec<(&[u8], u64)> = counts.into_iter().collect();
    entries.sort_unstable();
    let mut words: Vec<Vec<u32>> = entries
        .iter()
        .map(|(w, _)| w.iter().map(|&b| b as u32).collect())
        .collect();
    let freqs: Vec<i64> = entries.iter().map(|(_, c)| *c as i64).collect();

    let mut pair_counts: FxHashMap<u64, i64> = fx_map_with_capacity(1 << 14);
    let mut pair_words: FxHashMap<u64, Vec<u32>> = fx_map_with_capacity(1 << 14);
    for (w, word) in words.iter().enumerate() {
        for pair in word.windows(2) {
            let k = key(pair[0], pair[1]);
            *pair_counts.entry(k).or_insert(0) += freqs[w];
            let list = pair_words.entry(k).or_default();
            if list.last() != Some(&(w as u32)) {
                list.push(w as u32);
            }
        }
    }
    let mut heap: BinaryHeap<(i64, Reverse<u64>)> = pair_counts.iter().map(|(&k, &c)| (c, Reverse(k))).collect();

    let mut merges = Vec::with_capacity(target);
    let mut last_visit = vec![u32::MAX; words.len()];
    let mut merged_word = Vec::new();
    let mut delta: Vec<(u64, i64)> = Vec::new();
    while merges.len() < target {
        let Some((count, Reverse(k))) = heap.pop() else { break };
        if pair_counts.get(&k).copied().unwrap_or(0) != count {
            continue; // stale entry
        }
        if count < min_frequency.max(1) as i64 {
            break;
        }
        let (left, right) = ((k >> 32) as u32, k as u32);
        let new_id = 256 + merges.len() as u32;
        let step = merges.len() as u32;
        merges.push((left, right));

        let affected = pair_words.remove(&k).unwrap_or_default();
        for &w in &affected {
            if last_visit[w as usize] == step {
                continue;
            }
            last_visit[w as usize] = step;
            let word = &words[w as usize];
            if !word.windows(2).any(|p| p[0] == left && p[1] == right) {
                continue;
            }
            merge_in_word(word, left, right, new_id, &mut merged_word);
            let f = freqs[w as usize];
            delta.clear();
            delta.extend(word.windows(2).map(|p| (key(p[0], p[1]), -f)));
            delta.extend(merged_word.windows(2).map(|p| (key(p[0], p[1]), f)));
            delta.sort_unstable_by_key(|d| d.0);
            let mut i = 0;
            while i < delta.len() {
                let k2 = delta[i].0;
                let mut sum = 0;
                while i < delta.len() && delta[i].0 == k2 {
                    sum += delta[i].1;
                    i += 1;
                }
                if sum != 0 {
                    let c = pair_counts.entry(k2).or_insert(0);
                    *c += sum;
                    if *c > 0 {
                        heap.push((*c, Reverse(k2)));
                    }
                }
            }
            for p in merged_word.windows(2) {
                if p[0] == new_id || p[1] == new_id {
                    let list = pair_words.entry(key(p[0], p[1])).or_default();
                    if list.last() != Some(&w) {
                        list.push(w);
                    }
                }
            }
            std::mem::swap(&mut words[w as usize], &mut merged_word);
        }
        pair_counts.remove(&k);
    }
    merges
}

/// The naive learner, the oracle for [`learn_merges`]: recounts every pair over every word at each step.
pub fn learn_merges_naive(counts: &FxHashMap<&[u8], u64>, target: usize, min_frequency: u64) -> Vec<(u32, u32)> {
    let mut words: Vec<(Vec<u32>, i64)> = counts
        .iter()
        .map(|(w, c)| (w.iter().map(|&b| b as u32).collect(), *c as i64))
        .collect();
    let mut merges = Vec::new();
    let mut scratch = Vec::new();
    while merges.len() < target {
        let mut pair_counts: std::collections::BTreeMap<u64, i64> = Default::default();
        for (word, f) in &words {
            for p in word.windows(2) {
                *pair_counts.entry(key(p[0], p[1])).or_insert(0) += f;
            }
        }
        // Highest count, then smallest key (BTreeMap iterates keys in increasing order).
        let mut best: Option<(u64, i64)> = None;
        for (&k, &c) in &pair_counts {
            if !matches!(best, Some((_, bc)) if c <= bc) {
                best = Some((k, c));
            }
        }
        let Some((k, c)) = best else { break };
        if c < min_frequency.max(1) as i64 {
            break;
        }
        let (left, right) = ((k >> 32) as u32, k as u32);
        let new_id = 256 + merges.len() as u32;
        merges.push((left, right));
        for (word, _) in words.iter_mut() {
            merge_in_word(word, left, right, new_id, &mut scratch);
            std::mem::swap(word, &mut scratch);
        }
    }
    merges
}

/// Trains a BPE vocabulary of `vocab_size` ids (default special tokens included) on `corpus`.
///
/// ```
/// let bpe = models::tokenizer::train_bpe("abab abab abab", 256 + 6 + 2).unwrap();
/// assert_eq!(bpe.num_merges(), 2);
/// ```
pub fn train_bpe(corpus: &str, vocab_size: usize) -> Result<BpeTokenizer, TokenizerError> {
    BpeTrainer::new(vocab_size).train(corpus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn incremental_learner_equals_naive(corpus in "[ab c\n'!é]{0,200}", target in 0usize..40) {
            let counts = count_words(&[&corpus]);
            let fast = learn_merges(counts.clone(), target, 1);
            let slow = learn_merges_naive(&counts, target, 1);
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn training_is_deterministic_and_roundtrips() {
        let corpus = "the theme of the thesis: then there they go; 12345 123 12 1 ... ".repeat(30);
        let a = BpeTrainer::new(256 + 20 + 6).train(&corpus).unwrap();
        let b = BpeTrainer::new(256 + 20 + 6).train(&corpus).unwrap();
        assert_eq!(a.merges(), b.merges());
        assert_eq!(a.num_merges(), 20);
        assert_eq!(a.vocab_size(), 256 + 20 + 6);
        let ids = a.encode_ordinary(&corpus);
        assert!(ids.len() * 3 < corpus.len(), "the merges compress the corpus");
        assert_eq!(a.decode(&ids).unwrap(), corpus);
    }

    #[test]
    fn training_stops_when_every_word_is_one_token() {
        let corpus = "the theme of the thesis ".repeat(10);
        let bpe = BpeTrainer::new(256 + 1000 + 6).train(&corpus).unwrap();
        assert!(bpe.num_merges() < 1000);
        assert_eq!(bpe.vocab_size(), 256 + bpe.num_merges() + 6);
        for word in ["the", " theme", " of", " the", " thesis", " "] {
            assert_eq!(bpe.encode_ordinary(word).len(), 1, "{word:?}");
        }
    }

    #[test]
    fn too_small_vocabulary_is_an_error() {
        let err = BpeTrainer::new(100).train("abc").unwrap_err();
        assert!(err.to_string().contains("too small"), "{err}");
    }
}
