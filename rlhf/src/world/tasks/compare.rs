//! Comparing two numbers: which is larger (or smaller). Judging: the **first** of the two numbers that the
//! answer names must be the right one (`52 is larger.`, `The larger one is 52, not 37.`).
use super::{Reply, TaskKind};
use crate::world::parse::integers;
use crate::world::rng::WorldRng;

/// Which of `a`, `b` (distinct, two-digit) is larger, or smaller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub a: i64,
    pub b: i64,
    /// True: asks for the larger one; false: the smaller.
    pub larger: bool,
}

const LARGER: &[&str] = &[
    "Which is larger, {a} or {b}?",
    "Which number is bigger: {a} or {b}?",
    "Tell me the larger of {a} and {b}.",
];
const SMALLER: &[&str] = &[
    "Which is smaller, {a} or {b}?",
    "Which number is less: {a} or {b}?",
    "Tell me the smaller of {a} and {b}.",
];
const ALL: &[&str] = &[
    "Which is larger, {a} or {b}?",
    "Which number is bigger: {a} or {b}?",
    "Tell me the larger of {a} and {b}.",
    "Which is smaller, {a} or {b}?",
    "Which number is less: {a} or {b}?",
    "Tell me the smaller of {a} and {b}.",
];

impl Compare {
    /// The number asked for.
    pub fn answer(&self) -> i64 {
        if self.larger == (self.a > self.b) {
            self.a
        } else {
            self.b
        }
    }
    fn other(&self) -> i64 {
        if self.answer() == self.a {
            self.b
        } else {
            self.a
        }
    }
    fn word(&self) -> &'static str {
        if self.larger {
            "larger"
        } else {
            "smaller"
        }
    }
}

impl TaskKind for Compare {
    fn generate(rng: &mut WorldRng) -> Self {
        let a = rng.range(10, 99);
        let mut b = rng.range(10, 98);
        if b >= a {
            b += 1;
        }
        Compare { a, b, larger: rng.chance(0.5) }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        if self.larger {
            LARGER
        } else {
            SMALLER
        }
    }
    fn all_templates() -> &'static [&'static str] {
        ALL
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("a", self.a.to_string()), ("b", self.b.to_string())]
    }
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let a: i64 = slots[0].1.parse().ok()?;
        let b: i64 = slots[1].1.parse().ok()?;
        let ok = a != b && (10..=99).contains(&a) && (10..=99).contains(&b);
        ok.then_some(Compare { a, b, larger: LARGER.contains(&template) })
    }
    fn reply(&self) -> Reply {
        Reply { statement: format!("{} is {}.", self.answer(), self.word()), bare: self.answer().to_string() }
    }
    fn wrong_reply(&self, _rng: &mut WorldRng) -> Reply {
        Reply { statement: format!("{} is {}.", self.other(), self.word()), bare: self.other().to_string() }
    }
    fn judge(&self, answer: &str) -> bool {
        let first = integers(answer).into_iter().map(|(_, n)| n).find(|&n| n == self.a || n == self.b);
        first == Some(self.answer())
    }
}
