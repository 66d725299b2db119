//! Byte-level BPE (GPT-2 style): the tokenizer itself, its builder, encoding and decoding.
//!
//! Text is split by the GPT-2 pre-tokenizer; each piece's UTF-8 bytes start as one token per byte, and
//! merges are applied by rank. Any string is encodable (every byte has a token) and decoding the ids gives
//! back the exact bytes. Loading GPT-2's files is in `gpt2_files.rs`, training in `bpe_train.rs`.
use super::bpe_merge::{merge_word, MergeTable};
use super::error::TokenizerError;
use super::fxhash::{fx_map_with_capacity, FxHashMap};
use super::pretokenize::next_piece_end;
use super::special::{Segment, SpecialTokens};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Texts shorter than this use the thread's word cache instead of a per-call one.
const CACHE_MIN_TEXT_LEN: usize = 4096;
/// The thread's word cache is emptied when it holds this many words (bounds its memory to a few MB).
const THREAD_CACHE_MAX_WORDS: usize = 1 << 16;

/// Gives each built tokenizer a distinct id, so the thread's word cache knows whose words it holds.
static NEXT_CACHE_OWNER: AtomicU64 = AtomicU64::new(1);

/// Words already merged by one tokenizer on this thread: many short `encode` calls (chat turns, SFT
/// examples) repeat the same words. Cleared when another tokenizer uses the thread or when it grows big.
struct ThreadWordCache {
    owner: u64,
    words: FxHashMap<Box<[u8]>, (u32, u32)>,
    arena: Vec<u32>,
}

thread_local! {
    static THREAD_WORD_CACHE: RefCell<ThreadWordCache> =
        RefCell::new(ThreadWordCache { owner: 0, words: fx_map_with_capacity(0), arena: Vec::new() });
}

/// A byte-level BPE tokenizer: a vocabulary of byte strings, ranked merges and special tokens.
///
/// ```
/// use models::tokenizer::{BpeBuilder, BpeTokenizer};
/// // A toy vocabulary: the 256 bytes, then "he", then "hel".
/// let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
/// vocab.push(b"he".to_vec());
/// vocab.push(b"hel".to_vec());
/// let mut builder = BpeBuilder::new(vocab).unwrap();
/// builder.add_merge(b"h", b"e").unwrap();
/// builder.add_merge(b"he", b"l").unwrap();
/// let bpe: BpeTokenizer = builder.build(&[]).unwrap();
/// assert_eq!(bpe.encode_ordinary("hello"), vec![257, b'l' as u32, b'o' as u32]);
/// assert_eq!(bpe.decode(&bpe.encode_ordinary("hello, world")).unwrap(), "hello, world");
/// ```
#[derive(Clone, Debug)]
pub struct BpeTokenizer {
    /// The token id of each single byte (boxed: keeps `AnyTokenizer` small).
    byte_ids: Box<[u32; 256]>,
    merges: MergeTable,
    /// Merges in rank order, as (left id, right id): kept for saving.
    merge_list: Vec<(u32, u32)>,
    /// Bytes of token `id` are `token_bytes[token_offsets[id]..token_offsets[id + 1]]`.
    token_bytes: Vec<u8>,
    token_offsets: Vec<u32>,
    bytes_to_id: FxHashMap<Vec<u8>, u32>,
    specials: SpecialTokens,
    /// Identity for the thread word cache. Clones share it: their merges, hence their words, are the same.
    cache_owner: u64,
}

/// Builds a [`BpeTokenizer`] from a vocabulary (token bytes in id order) and merges added in rank order.
pub struct BpeBuilder {
    vocab: Vec<Vec<u8>>,
    bytes_to_id: FxHashMap<Vec<u8>, u32>,
    merges: MergeTable,
    merge_list: Vec<(u32, u32)>,
}

impl BpeBuilder {
    /// Starts from a vocabulary in id order. Every single byte must be a token; tokens must be distinct.
    pub fn new(vocab: Vec<Vec<u8>>) -> Result<Self, String> {
        BpeBuilder::with_vocab(vocab, false)
    }

    /// Like [`BpeBuilder::new`], but a byte string may appear under several ids (training can reach one
    /// string by two merge paths); looking a token up by its bytes gives the first id.
    pub fn new_allowing_duplicates(vocab: Vec<Vec<u8>>) -> Result<Self, String> {
        BpeBuilder::with_vocab(vocab, true)
    }

    fn with_vocab(vocab: Vec<Vec<u8>>, allow_duplicates: bool) -> Result<Self, String> {
        let mut bytes_to_id = fx_map_with_capacity(vocab.len());
        for (id, token) in vocab.iter().enumerate() {
            if let Some(&previous) = bytes_to_id.get(token) {
                if allow_duplicates {
                    continue;
                }
                return Err(format!(
                    "token {:?} appears twice (ids {previous} and {id})",
                    String::from_utf8_lossy(token)
                ));
            }
            bytes_to_id.insert(token.clone(), id as u32);
        }
        for byte in 0..=255u8 {
            if !bytes_to_id.contains_key(&[byte][..]) {
                return Err(format!("the vocabulary has no token for byte 0x{byte:02x}"));
            }
        }
        Ok(BpeBuilder {
            vocab,
            bytes_to_id,
            merges: MergeTable::with_capacity(0),
            merge_list: Vec::new(),
        })
    }

    /// Adds the next merge by ids: `left` + `right` -> `merged`, whose bytes must be the concatenation.
    pub fn add_merge_ids(&mut self, left: u32, right: u32, merged: u32) -> Result<(), String> {
        let n = self.vocab.len();
        for id in [left, right, merged] {
            if id as usize >= n {
                return Err(format!("merge uses id {id}, outside the vocabulary (size {n})"));
            }
        }
        let (l, r, m) = (
            &self.vocab[left as usize],
            &self.vocab[right as usize],
            &self.vocab[merged as usize],
        );
        if m.len() != l.len() + r.len() || !m.starts_with(l) || !m.ends_with(r) {
            return Err(format!(
                "merge {left} + {right} -> {merged}: {:?} is not {:?} + {:?}",
                String::from_utf8_lossy(m),
                String::from_utf8_lossy(l),
                String::from_utf8_lossy(r)
            ));
        }
        let rank = self.merge_list.len() as u32;
        if !self.merges.insert(left, right, rank, merged) {
            return Err(format!("duplicate merge of ids {left} + {right}"));
        }
        self.merge_list.push((left, right));
        Ok(())
    }

    /// Adds the next merge (rank = number of merges added before). Both parts and their concatenation
    /// must be in the vocabulary.
    pub fn add_merge(&mut self, left: &[u8], right: &[u8]) -> Result<(), String> {
        let lookup = |bytes: &[u8], what: &str| {
            self.bytes_to_id
                .get(bytes)
                .copied()
                .ok_or_else(|| format!("{what} {:?} is not in the vocabulary", String::from_utf8_lossy(bytes)))
        };
        let left_id = lookup(left, "merge part")?;
        let right_id = lookup(right, "merge part")?;
        let merged: Vec<u8> = [left, right].concat();
        let merged_id = lookup(&merged, "merged token")?;
        let rank = self.merge_list.len() as u32;
        if !self.merges.insert(left_id, right_id, rank, merged_id) {
            return Err(format!(
                "duplicate merge {:?} + {:?}",
                String::from_utf8_lossy(left),
                String::from_utf8_lossy(right)
            ));
        }
        self.merge_list.push((left_id, right_id));
        Ok(())
    }

    /// Finishes; `specials` are (text, id) pairs whose ids must be in the vocabulary.
    pub fn build(self, specials: &[(&str, u32)]) -> Result<BpeTokenizer, String> {
        let mut byte_ids = Box::new([0u32; 256]);
        for byte in 0..=255u8 {
            byte_ids[byte as usize] = self.bytes_to_id[&[byte][..]];
        }
        let mut token_bytes = Vec::new();
        let mut token_offsets = Vec::with_capacity(self.vocab.len() + 1);
        token_offsets.push(0u32);
        for token in &self.vocab {
            token_bytes.extend_from_slice(token);
            token_offsets.push(token_bytes.len() as u32);
        }
        let mut special_set = SpecialTokens::new();
        for (text, id) in specials {
            if *id as usize >= self.vocab.len() {
                return Err(format!("special token {text:?} has id {id}, outside the vocabulary"));
            }
            special_set.insert(text, *id);
        }
        Ok(BpeTokenizer {
            byte_ids,
            merges: self.merges,
            merge_list: self.merge_list,
            token_bytes,
            token_offsets,
            bytes_to_id: self.bytes_to_id,
            specials: special_set,
            cache_owner: NEXT_CACHE_OWNER.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// Reused buffers of one encoding call.
struct Scratch {
    ids: Vec<u32>,
    pairs: Vec<u64>,
}

impl BpeTokenizer {
    /// Number of ids (specials included).
    pub fn vocab_size(&self) -> usize {
        self.token_offsets.len() - 1
    }

    /// Number of merges.
    pub fn num_merges(&self) -> usize {
        self.merge_list.len()
    }

    /// The special tokens and their ids.
    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.specials
    }

    /// The bytes of a token, or `None` for an id outside the vocabulary.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        let id = id as usize;
        if id + 1 >= self.token_offsets.len() {
            return None;
        }
        Some(&self.token_bytes[self.token_offsets[id] as usize..self.token_offsets[id + 1] as usize])
    }

    /// The id of a token given by its bytes (special tokens by their text).
    pub fn token_id(&self, bytes: &[u8]) -> Option<u32> {
        self.bytes_to_id.get(bytes).copied()
    }

    /// Merges in rank order as (left id, right id).
    pub fn merges(&self) -> &[(u32, u32)] {
        &self.merge_list
    }

    /// The id a merge of `left` and `right` produces, and its rank.
    pub fn merge_of(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        self.merges.get(left, right).map(|(rank, id)| (id, rank))
    }

    /// Adds special tokens not yet present, each with a new id at the end of the vocabulary (GPT-2's own
    /// `<|endoftext|>` keeps 50256). Returns their ids in the order given.
    ///
    /// ```
    /// # use models::tokenizer::{BpeBuilder, special};
    /// # let vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    /// let mut bpe = BpeBuilder::new(vocab).unwrap().build(&[]).unwrap();
    /// let ids = bpe.add_special_tokens(&special::CHAT_TOKENS);
    /// assert_eq!(ids, vec![256, 257, 258, 259, 260]);
    /// assert_eq!(bpe.encode_with_special("<|user|>hi", &[special::USER]), vec![257, b'h' as u32, b'i' as u32]);
    /// assert_eq!(bpe.encode_ordinary("<|user|>").len(), 8); // as text: never the special id
    /// ```
    pub fn add_special_tokens(&mut self, texts: &[&str]) -> Vec<u32> {
        texts
            .iter()
            .map(|text| {
                if let Some(id) = self.specials.id(text) {
                    return id;
                }
                let id = self.vocab_size() as u32;
                self.token_bytes.extend_from_slice(text.as_bytes());
                self.token_offsets.push(self.token_bytes.len() as u32);
                self.bytes_to_id.entry(text.as_bytes().to_vec()).or_insert(id);
                self.specials.insert(text, id);
                id
            })
            .collect()
    }

    /// Empties this thread's cache of merged words (short `encode` calls fill it; it is bounded and
    /// self-clearing, so calling this is only needed to release its memory or to time cold encoding).
    pub fn clear_thread_word_cache() {
        THREAD_WORD_CACHE.with(|cell| {
            if let Ok(mut cache) = cell.try_borrow_mut() {
                cache.owner = 0;
                cache.words = fx_map_with_capacity(0);
                cache.arena = Vec::new();
            }
        });
    }

    /// Encodes one pre-token (its bytes) by merging, appending the ids to `out`.
    #[inline]
    fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>, scratch: &mut Scratch) {
        if piece.len() == 1 {
            out.push(self.byte_ids[piece[0] as usize]);
            return;
        }
        scratch.ids.clear();
        scratch.ids.extend(piece.iter().map(|b| self.byte_ids[*b as usize]));
        merge_word(&self.merges, &mut scratch.ids, &mut scratch.pairs);
        out.extend_from_slice(&scratch.ids);
    }

    /// Appends the ids of ordinary text (no special tokens recognised) to `out`.
    pub fn encode_ordinary_into(&self, text: &str, out: &mut Vec<u32>) {
        let bytes = text.as_bytes();
        let mut scratch = Scratch {
            ids: Vec::with_capacity(64),
            pairs: Vec::with_capacity(64),
        };
        let mut start = 0;
        if bytes.len() < CACHE_MIN_TEXT_LEN {
            THREAD_WORD_CACHE.with(|cell| {
                let Ok(mut cache) = cell.try_borrow_mut() else {
                    // Not reachable today (nothing re-enters); stay correct without the cache if it ever is.
                    while start < bytes.len() {
                        let end = next_piece_end(bytes, start);
                        self.encode_piece(&bytes[start..end], out, &mut scratch);
                        start = end;
                    }
                    return;
                };
                let cache = &mut *cache;
                if cache.owner != self.cache_owner || cache.words.len() >= THREAD_CACHE_MAX_WORDS {
                    cache.owner = self.cache_owner;
                    cache.words.clear();
                    cache.arena.clear();
                }
                while start < bytes.len() {
                    let end = next_piece_end(bytes, start);
                    let piece = &bytes[start..end];
                    start = end;
                    if piece.len() == 1 {
                        out.push(self.byte_ids[piece[0] as usize]);
                    } else if let Some(&(at, len)) = cache.words.get(piece) {
                        out.extend_from_slice(&cache.arena[at as usize..(at + len) as usize]);
                    } else {
                        let before = out.len();
                        self.encode_piece(piece, out, &mut scratch);
                        let at = cache.arena.len() as u32;
                        cache.arena.extend_from_slice(&out[before..]);
                        cache.words.insert(piece.into(), (at, (out.len() - before) as u32));
                    }
                }
            });
            return;
        }
        // Long texts repeat their words: remember each distinct piece's ids for the length of this call.
        let mut cache: FxHashMap<&[u8], (u32, u32)> = fx_map_with_capacity(bytes.len() / 64);
        let mut arena: Vec<u32> = Vec::with_capacity(bytes.len() / 16);
        while start < bytes.len() {
            let end = next_piece_end(bytes, start);
            let piece = &bytes[start..end];
            start = end;
            if piece.len() == 1 {
                out.push(self.byte_ids[piece[0] as usize]);
                continue;
            }
            if let Some(&(at, len)) = cache.get(piece) {
                out.extend_from_slice(&arena[at as usize..(at + len) as usize]);
                continue;
            }
            let before = out.len();
            self.encode_piece(piece, out, &mut scratch);
            let at = arena.len() as u32;
            arena.extend_from_slice(&out[before..]);
            cache.insert(piece, (at, (out.len() - before) as u32));
        }
    }

    /// Encodes text; special-token text in it (such as `<|endoftext|>`) is encoded as ordinary text.
    pub fn encode_ordinary(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_ordinary_into(text, &mut out);
        out
    }

    /// Encodes text, mapping the special tokens named in `allowed` to their ids; others stay text.
    pub fn encode_with_special(&self, text: &str, allowed: &[&str]) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        for segment in self.specials.split(text, Some(allowed)) {
            match segment {
                Segment::Text(t) => self.encode_ordinary_into(t, &mut out),
                Segment::Special(id) => out.push(id),
            }
        }
        out
    }

    /// The bytes of a sequence of ids (special tokens give their text).
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, TokenizerError> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            match self.token_bytes(id) {
                Some(bytes) => out.extend_from_slice(bytes),
                None => {
                    return Err(TokenizerError::UnknownId {
                        id,
                        vocab_size: self.vocab_size(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Decodes ids to text; an error if an id is unknown or the bytes are not valid UTF-8 (ids that cut a
    /// character in half). `decode(encode(s)) == s` for every string `s`.
    ///
    /// ```
    /// # let vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    /// let bpe = models::tokenizer::BpeBuilder::new(vocab).unwrap().build(&[]).unwrap();
    /// let ids = bpe.encode_ordinary("é");
    /// assert_eq!(ids, vec![0xC3, 0xA9]);
    /// assert!(bpe.decode(&ids[..1]).is_err()); // half a character
    /// assert_eq!(bpe.decode_bytes(&ids[..1]).unwrap(), vec![0xC3]);
    /// assert!(bpe.decode(&[999]).is_err());
    /// ```
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let bytes = self.decode_bytes(ids)?;
        String::from_utf8(bytes).map_err(|e| TokenizerError::DecodedInvalidUtf8 {
            byte_offset: e.utf8_error().valid_up_to(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(merges: &[(&[u8], &[u8])]) -> BpeTokenizer {
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for (l, r) in merges {
            vocab.push([*l, *r].concat());
        }
        let mut builder = BpeBuilder::new(vocab).unwrap();
        for (l, r) in merges {
            builder.add_merge(l, r).unwrap();
        }
        builder.build(&[]).unwrap()
    }

    #[test]
    fn thread_word_cache_never_mixes_tokenizers() {
        let a = toy(&[(b"l", b"o"), (b"lo", b"w")]);
        let b = toy(&[(b"o", b"w"), (b"l", b"ow")]);
        let (l, o, w) = (b'l' as u32, b'o' as u32, b'w' as u32);
        for _ in 0..3 {
            assert_eq!(a.encode_ordinary("low"), vec![257]);
            assert_eq!(b.encode_ordinary("low"), vec![257]);
            assert_eq!(a.encode_ordinary("ow"), vec![o, w]);
            assert_eq!(b.encode_ordinary("ow"), vec![256]);
            assert_eq!(a.encode_ordinary("lo"), vec![256]);
            assert_eq!(b.encode_ordinary("lo"), vec![l, o]);
        }
        // Short (thread cache) and long (per-call cache) texts agree.
        let long = "low lo ow owl lowlow ".repeat(400);
        assert!(long.len() >= CACHE_MIN_TEXT_LEN);
        let by_piece: Vec<u32> = crate::tokenizer::Gpt2PreTokenizer::new(&long)
            .flat_map(|p| a.encode_ordinary(p))
            .collect();
        BpeTokenizer::clear_thread_word_cache();
        assert_eq!(a.encode_ordinary(&long), by_piece);
    }
}
