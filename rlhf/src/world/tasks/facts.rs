//! Simple facts from fixed tables: the capital of a country ([`CAPITALS`]) and the opposite of a word
//! ([`OPPOSITES`], asked both ways). Judging: the right answer must appear as a whole word (any case) and
//! no other candidate answer of the same table may (the word asked about does not count).
use super::{Reply, TaskKind};
use crate::world::parse::find_phrase;
use crate::world::rng::WorldRng;
use crate::world::tables::{CAPITALS, OPPOSITES};

/// A fact question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The capital of `CAPITALS[i].0`.
    Capital(usize),
    /// The opposite of `OPPOSITES[i].0` (or of `.1` when `flipped`).
    Opposite { index: usize, flipped: bool },
}

const CAPITAL: &[&str] = &[
    "What is the capital of {x}?",
    "Name the capital city of {x}.",
    "Which city is the capital of {x}?",
];
const OPPOSITE: &[&str] = &["What is the opposite of {x}?", "Give the opposite of the word {x}.", "What word means the opposite of {x}?"];
const ALL: &[&str] = &[
    "What is the capital of {x}?",
    "Name the capital city of {x}.",
    "Which city is the capital of {x}?",
    "What is the opposite of {x}?",
    "Give the opposite of the word {x}.",
    "What word means the opposite of {x}?",
];

impl Fact {
    /// The word or country asked about.
    pub fn subject(&self) -> &'static str {
        match *self {
            Fact::Capital(i) => CAPITALS[i].0,
            Fact::Opposite { index, flipped } => if flipped { OPPOSITES[index].1 } else { OPPOSITES[index].0 },
        }
    }
    /// The right answer.
    pub fn answer(&self) -> &'static str {
        match *self {
            Fact::Capital(i) => CAPITALS[i].1,
            Fact::Opposite { index, flipped } => if flipped { OPPOSITES[index].0 } else { OPPOSITES[index].1 },
        }
    }
    /// Every answer of this table except the subject (the candidates the judge looks for).
    fn candidates(&self) -> Vec<&'static str> {
        match self {
            Fact::Capital(_) => CAPITALS.iter().map(|c| c.1).collect(),
            Fact::Opposite { .. } => OPPOSITES.iter().flat_map(|o| [o.0, o.1]).filter(|w| *w != self.subject()).collect(),
        }
    }
    fn sentence(&self, answer: &str) -> String {
        match self {
            Fact::Capital(_) => format!("The capital of {} is {answer}.", self.subject()),
            Fact::Opposite { .. } => format!("The opposite of {} is {answer}.", self.subject()),
        }
    }
}

impl TaskKind for Fact {
    fn generate(rng: &mut WorldRng) -> Self {
        if rng.chance(0.5) {
            Fact::Capital(rng.below(CAPITALS.len()))
        } else {
            Fact::Opposite { index: rng.below(OPPOSITES.len()), flipped: rng.chance(0.5) }
        }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        match self {
            Fact::Capital(_) => CAPITAL,
            Fact::Opposite { .. } => OPPOSITE,
        }
    }
    fn all_templates() -> &'static [&'static str] {
        ALL
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("x", self.subject().to_string())]
    }
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let x = slots[0].1.as_str();
        if CAPITAL.contains(&template) {
            CAPITALS.iter().position(|c| c.0 == x).map(Fact::Capital)
        } else {
            let (index, o) = OPPOSITES.iter().enumerate().find(|(_, o)| o.0 == x || o.1 == x)?;
            Some(Fact::Opposite { index, flipped: o.1 == x })
        }
    }
    fn reply(&self) -> Reply {
        Reply { statement: self.sentence(self.answer()), bare: self.answer().to_string() }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        let others: Vec<&str> = self.candidates().into_iter().filter(|c| *c != self.answer()).collect();
        let wrong = *rng.pick(&others);
        Reply { statement: self.sentence(wrong), bare: wrong.to_string() }
    }
    fn judge(&self, answer: &str) -> bool {
        let right = self.answer();
        !find_phrase(answer, right).is_empty()
            && self.candidates().iter().all(|c| *c == right || find_phrase(answer, c).is_empty())
    }
}
