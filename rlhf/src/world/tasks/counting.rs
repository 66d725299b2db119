//! Counting a letter in a word. The letter is in the word two times in three, otherwise absent (answer 0).
//! Judging: the **last integer** in the answer must be the count (digits only: `2`, not `two`).
use super::{Reply, TaskKind};
use crate::world::parse::integers;
use crate::world::rng::WorldRng;
use crate::world::tables::WORDS;

/// How many times `letter` occurs in `word`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counting {
    pub word: &'static str,
    pub letter: char,
}

const TEMPLATES: &[&str] = &[
    "How many times does the letter {l} appear in {w}?",
    "Count the letter {l} in the word {w}.",
    "How many {l}'s are in {w}?",
];

impl Counting {
    /// The count.
    pub fn count(&self) -> usize {
        self.word.chars().filter(|&c| c == self.letter).count()
    }
    fn sentence(&self, n: usize) -> String {
        let times = if n == 1 { "time" } else { "times" };
        format!("The letter {} appears {n} {times} in {}.", self.letter, self.word)
    }
}

impl TaskKind for Counting {
    fn generate(rng: &mut WorldRng) -> Self {
        let word = *rng.pick(WORDS);
        let letter = if rng.chance(2.0 / 3.0) {
            let letters: Vec<char> = word.chars().collect();
            *rng.pick(&letters)
        } else {
            let absent: Vec<char> = ('a'..='z').filter(|c| !word.contains(*c)).collect();
            *rng.pick(&absent)
        };
        Counting { word, letter }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        TEMPLATES
    }
    fn all_templates() -> &'static [&'static str] {
        TEMPLATES
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("l", self.letter.to_string()), ("w", self.word.to_string())]
    }
    fn from_slots(_template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let mut l = slots[0].1.chars();
        let letter = l.next().filter(|c| c.is_ascii_lowercase() && l.next().is_none())?;
        let word = *WORDS.iter().find(|w| **w == slots[1].1)?;
        Some(Counting { word, letter })
    }
    fn reply(&self) -> Reply {
        Reply { statement: self.sentence(self.count()), bare: self.count().to_string() }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        let n = self.count();
        let wrong = if n == 0 || rng.chance(0.5) { n + 1 } else { n - 1 };
        Reply { statement: self.sentence(wrong), bare: wrong.to_string() }
    }
    fn judge(&self, answer: &str) -> bool {
        integers(answer).last().map(|&(_, n)| n) == Some(self.count() as i64)
    }
}
