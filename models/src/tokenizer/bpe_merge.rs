//! The byte-pair merge loop: given a word as token ids, apply the merges by rank until none applies.
//!
//! Three versions side by side: the fast one used by the encoder for short words (a rank array, O(n) per
//! merge with two table look-ups), a heap version for long words (O(n log n), so a megabyte of one repeated
//! character does not take O(n²)), and GPT-2's reference algorithm (merge every occurrence of the best
//! pair, recompute everything), kept as the oracle the tests hold the other two equal to.
use super::fxhash::{fx_map_with_capacity, FxHashMap};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Above this many symbols a word is merged with the heap version.
const HEAP_THRESHOLD: usize = 128;

/// `NONE` packs "no merge for this pair": it compares greater than every real (rank, id).
const NONE: u64 = u64::MAX;

/// The merges of a BPE vocabulary: `(left id, right id) -> (rank, merged id)`.
///
/// ```
/// use models::tokenizer::bpe_merge::{merge_word, MergeTable};
/// let mut table = MergeTable::with_capacity(2);
/// table.insert(1, 2, 0, 10); // rank 0: 1 + 2 -> 10
/// table.insert(10, 3, 1, 11); // rank 1: 10 + 3 -> 11
/// let mut word = vec![1, 2, 3, 1, 2];
/// merge_word(&table, &mut word, &mut Vec::new());
/// assert_eq!(word, vec![11, 10]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MergeTable {
    map: FxHashMap<u64, u64>,
}

#[inline(always)]
fn pair_key(left: u32, right: u32) -> u64 {
    ((left as u64) << 32) | right as u64
}

impl MergeTable {
    pub fn with_capacity(capacity: usize) -> Self {
        MergeTable {
            map: fx_map_with_capacity(capacity),
        }
    }

    /// Adds a merge; returns false if the pair already had one (the first rank wins).
    pub fn insert(&mut self, left: u32, right: u32, rank: u32, merged: u32) -> bool {
        let packed = ((rank as u64) << 32) | merged as u64;
        match self.map.entry(pair_key(left, right)) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(packed);
                true
            }
        }
    }

    /// `(rank << 32) | merged_id`, or `NONE`.
    #[inline(always)]
    fn packed(&self, left: u32, right: u32) -> u64 {
        match self.map.get(&pair_key(left, right)) {
            Some(v) => *v,
            None => NONE,
        }
    }

    /// The rank and merged id of a pair, if it merges.
    pub fn get(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        self.map
            .get(&pair_key(left, right))
            .map(|v| ((v >> 32) as u32, *v as u32))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Applies all merges to `ids` in place, choosing the version by length. `scratch` is reused storage.
#[inline]
pub fn merge_word(table: &MergeTable, ids: &mut Vec<u32>, scratch: &mut Vec<u64>) {
    if ids.len() <= HEAP_THRESHOLD {
        merge_word_linear(table, ids, scratch);
    } else {
        merge_word_heap(table, ids);
    }
}

/// Fast path: keeps the packed (rank, merged id) of every adjacent pair; each step finds the lowest rank
/// (the leftmost on ties), merges it and re-looks-up only the two pairs that changed.
pub fn merge_word_linear(table: &MergeTable, ids: &mut Vec<u32>, pairs: &mut Vec<u64>) {
    if ids.len() < 2 {
        return;
    }
    pairs.clear();
    pairs.extend(ids.windows(2).map(|w| table.packed(w[0], w[1])));
    loop {
        let mut best = NONE;
        let mut at = 0;
        for (i, &p) in pairs.iter().enumerate() {
            if p < best {
                best = p;
                at = i;
            }
        }
        if best == NONE {
            break;
        }
        ids[at] = best as u32;
        ids.remove(at + 1);
        pairs.remove(at);
        if at + 1 < ids.len() {
            pairs[at] = table.packed(ids[at], ids[at + 1]);
        }
        if at > 0 {
            pairs[at - 1] = table.packed(ids[at - 1], ids[at]);
        }
    }
}

/// Long words: a doubly linked list of symbols and a min-heap of (rank, position) with lazy invalidation.
/// Gives the same result as [`merge_word_linear`]: positions are original indices, so the smallest
/// position among equal ranks is the leftmost pair.
pub fn merge_word_heap(table: &MergeTable, ids: &mut Vec<u32>) {
    let n = ids.len();
    if n < 2 {
        return;
    }
    const DEAD: u32 = u32::MAX;
    let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
    let mut next: Vec<u32> = (1..=n as u32).collect();
    let mut sym = ids.clone();
    // Entry: (rank, left position, left id, right id); min-heap through Reverse.
    let mut heap: BinaryHeap<Reverse<(u32, u32, u32, u32)>> = BinaryHeap::with_capacity(n);
    for i in 0..n - 1 {
        if let Some((rank, _)) = table.get(sym[i], sym[i + 1]) {
            heap.push(Reverse((rank, i as u32, sym[i], sym[i + 1])));
        }
    }
    while let Some(Reverse((_rank, pos, left, right))) = heap.pop() {
        let pos = pos as usize;
        let right_pos = next[pos] as usize;
        if sym[pos] != left || right_pos >= n || sym[right_pos] != right {
            continue; // stale
        }
        let (_, merged) = table.get(left, right).expect("pair came from the table");
        sym[pos] = merged;
        sym[right_pos] = DEAD;
        let after = next[right_pos] as usize;
        next[pos] = after as u32;
        if after < n {
            prev[after] = pos as u32;
            if let Some((rank, _)) = table.get(merged, sym[after]) {
                heap.push(Reverse((rank, pos as u32, merged, sym[after])));
            }
        }
        let before = prev[pos];
        if before != u32::MAX {
            let before = before as usize;
            if let Some((rank, _)) = table.get(sym[before], merged) {
                heap.push(Reverse((rank, before as u32, sym[before], merged)));
            }
        }
    }
    ids.clear();
    let mut i = 0usize;
    while i < n {
        ids.push(sym[i]);
        i = next[i] as usize;
    }
}

/// GPT-2's reference `bpe()`: find the adjacent pair of lowest rank, merge every occurrence of it left to
/// right, repeat. Slow (it rescans the word after each merge) but obviously right: the tests' oracle.
pub fn merge_word_naive(table: &MergeTable, ids: &[u32]) -> Vec<u32> {
    let mut word = ids.to_vec();
    while word.len() > 1 {
        let best = word
            .windows(2)
            .filter_map(|w| table.get(w[0], w[1]).map(|(rank, _)| (rank, w[0], w[1])))
            .min();
        let Some((_, first, second)) = best else { break };
        let (_, merged) = table.get(first, second).expect("found above");
        let mut out = Vec::with_capacity(word.len());
        let mut i = 0;
        while i < word.len() {
            if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                out.push(merged);
                i += 2;
            } else {
                out.push(word[i]);
                i += 1;
            }
        }
        word = out;
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small consistent merge table over symbols 0..4: merged ids are new, ranks increase with ids.
    fn toy_table() -> MergeTable {
        let merges = [
            (0, 0, 4),
            (1, 2, 5),
            (4, 0, 6),
            (5, 3, 7),
            (4, 4, 8),
            (3, 0, 9),
            (6, 5, 10),
            (2, 2, 11),
            (9, 1, 12),
        ];
        let mut table = MergeTable::with_capacity(merges.len());
        for (rank, &(a, b, m)) in merges.iter().enumerate() {
            table.insert(a, b, rank as u32, m);
        }
        table
    }

    proptest! {
        #[test]
        fn linear_heap_and_naive_agree(word in proptest::collection::vec(0u32..4, 0..300)) {
            let table = toy_table();
            let expected = merge_word_naive(&table, &word);
            let mut linear = word.clone();
            merge_word_linear(&table, &mut linear, &mut Vec::new());
            let mut heap = word.clone();
            merge_word_heap(&table, &mut heap);
            prop_assert_eq!(&linear, &expected);
            prop_assert_eq!(&heap, &expected);
        }
    }

    #[test]
    fn long_run_of_one_symbol_is_fast_and_right() {
        let table = toy_table();
        let word = vec![0u32; 200_001];
        let mut heap = word.clone();
        merge_word_heap(&table, &mut heap);
        assert_eq!(heap, merge_word_naive(&table, &word));
        // 0,0 -> 4 (100,000 of them and one 0 left); the last 4,0 -> 6; the 99,999 4s pair up into 8s.
        assert_eq!(heap.len(), 49_999 + 1 + 1);
    }
}
