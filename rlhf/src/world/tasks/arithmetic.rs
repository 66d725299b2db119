//! Two-digit addition and subtraction. Subtraction puts the larger number first, so answers are never
//! negative. Judging: the **last integer** in the answer must be the result (so `7 + 5 = 12` and
//! `The answer is 12.` are right, and restating the operands before the result does no harm).
use super::{Reply, TaskKind};
use crate::world::parse::integers;
use crate::world::rng::WorldRng;

/// `a + b` or `a - b` with two-digit operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arithmetic {
    pub a: i64,
    pub b: i64,
    /// True for `a - b`, false for `a + b`.
    pub subtract: bool,
}

const ADD: &[&str] = &[
    "What is {a} plus {b}?",
    "Compute {a} + {b}.",
    "Please add {a} and {b}.",
    "What is the sum of {a} and {b}?",
];
const SUB: &[&str] = &[
    "What is {a} minus {b}?",
    "Compute {a} - {b}.",
    "Subtract {b} from {a}.",
    "What is the difference between {a} and {b}?",
];
const ALL: &[&str] = &[
    "What is {a} plus {b}?",
    "Compute {a} + {b}.",
    "Please add {a} and {b}.",
    "What is the sum of {a} and {b}?",
    "What is {a} minus {b}?",
    "Compute {a} - {b}.",
    "Subtract {b} from {a}.",
    "What is the difference between {a} and {b}?",
];

impl Arithmetic {
    /// The result.
    pub fn result(&self) -> i64 {
        if self.subtract {
            self.a - self.b
        } else {
            self.a + self.b
        }
    }
}

fn two_digit(s: &str) -> Option<i64> {
    let n: i64 = s.parse().ok()?;
    ((10..=99).contains(&n) && !s.starts_with('+')).then_some(n)
}

impl TaskKind for Arithmetic {
    fn generate(rng: &mut WorldRng) -> Self {
        let subtract = rng.chance(0.5);
        let (x, y) = (rng.range(10, 99), rng.range(10, 99));
        let (a, b) = if subtract { (x.max(y), x.min(y)) } else { (x, y) };
        Arithmetic { a, b, subtract }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        if self.subtract {
            SUB
        } else {
            ADD
        }
    }
    fn all_templates() -> &'static [&'static str] {
        ALL
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("a", self.a.to_string()), ("b", self.b.to_string())]
    }
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let subtract = SUB.contains(&template);
        let (a, b) = (two_digit(super::slot(slots, "a")?)?, two_digit(super::slot(slots, "b")?)?);
        (!subtract || a >= b).then_some(Arithmetic { a, b, subtract })
    }
    fn reply(&self) -> Reply {
        let op = if self.subtract { '-' } else { '+' };
        Reply { statement: format!("{} {op} {} = {}.", self.a, self.b, self.result()), bare: self.result().to_string() }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        let off = *rng.pick(&[-10i64, -2, -1, 1, 2, 10]);
        let wrong = (self.result() + off).max(0);
        let wrong = if wrong == self.result() { self.result() + 1 } else { wrong };
        let op = if self.subtract { '-' } else { '+' };
        Reply { statement: format!("{} {op} {} = {wrong}.", self.a, self.b), bare: wrong.to_string() }
    }
    fn judge(&self, answer: &str) -> bool {
        integers(answer).last().map(|&(_, n)| n) == Some(self.result())
    }
}
