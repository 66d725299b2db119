//! Reversing a word, or spelling it letter by letter. Judging: a reversal is right when the reversed word
//! appears in the answer as a whole word (any case); a spelling is right when the **last** run of single
//! letters (`c-a-t`, `c a t`, `C, A, T`) spells the word.
use super::{Reply, TaskKind};
use crate::world::parse::{find_phrase, letter_runs};
use crate::world::rng::WorldRng;
use crate::world::tables::WORDS;

/// Reverse or spell `word` (from [`WORDS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spelling {
    pub word: &'static str,
    /// True: reverse the word; false: spell it.
    pub reverse: bool,
}

const REVERSE: &[&str] = &["Reverse the word {w}.", "Write {w} backwards.", "What is {w} spelled backwards?"];
const SPELL: &[&str] = &["Spell the word {w}.", "How do you spell {w}?", "Spell {w} letter by letter."];
const ALL: &[&str] = &[
    "Reverse the word {w}.",
    "Write {w} backwards.",
    "What is {w} spelled backwards?",
    "Spell the word {w}.",
    "How do you spell {w}?",
    "Spell {w} letter by letter.",
];

fn reversed(word: &str) -> String {
    word.chars().rev().collect()
}

fn dashed(letters: &str) -> String {
    letters.chars().map(String::from).collect::<Vec<_>>().join("-")
}

/// `s` with one change: two adjacent different letters swapped, or (if all letters are equal) one dropped.
fn corrupt(s: &str, rng: &mut WorldRng) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let swappable: Vec<usize> = (0..c.len().saturating_sub(1)).filter(|&i| c[i] != c[i + 1]).collect();
    if swappable.is_empty() || rng.chance(0.3) {
        c.remove(rng.below(c.len()));
    } else {
        let i = *rng.pick(&swappable);
        c.swap(i, i + 1);
    }
    c.into_iter().collect()
}

impl TaskKind for Spelling {
    fn generate(rng: &mut WorldRng) -> Self {
        Spelling { word: rng.pick::<&str>(WORDS), reverse: rng.chance(0.5) }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        if self.reverse {
            REVERSE
        } else {
            SPELL
        }
    }
    fn all_templates() -> &'static [&'static str] {
        ALL
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("w", self.word.to_string())]
    }
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let word = *WORDS.iter().find(|w| **w == slots[0].1)?;
        Some(Spelling { word, reverse: REVERSE.contains(&template) })
    }
    fn reply(&self) -> Reply {
        if self.reverse {
            let r = reversed(self.word);
            Reply { statement: format!("{} reversed is {r}.", self.word), bare: r }
        } else {
            let d = dashed(self.word);
            Reply { statement: format!("{} is spelled {d}.", self.word), bare: d }
        }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        if self.reverse {
            let r = corrupt(&reversed(self.word), rng);
            Reply { statement: format!("{} reversed is {r}.", self.word), bare: r }
        } else {
            let d = dashed(&corrupt(self.word, rng));
            Reply { statement: format!("{} is spelled {d}.", self.word), bare: d }
        }
    }
    fn judge(&self, answer: &str) -> bool {
        if self.reverse {
            !find_phrase(answer, &reversed(self.word)).is_empty()
        } else {
            letter_runs(answer).last().map(String::as_str) == Some(self.word)
        }
    }
}
