//! Sorting three to five distinct numbers (1 to 99), ascending or descending. Judging: the **last** k
//! integers of the answer (k = how many were given) must be the sorted list.
use super::{Reply, TaskKind};
use crate::world::parse::integers;
use crate::world::rng::WorldRng;

/// Sort `numbers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sorting {
    pub numbers: Vec<i64>,
    /// True: largest first.
    pub descending: bool,
}

const ASCENDING: &[&str] = &[
    "Sort these numbers from smallest to largest: {n}.",
    "Put {n} in increasing order.",
    "Arrange in ascending order: {n}.",
];
const DESCENDING: &[&str] = &[
    "Sort these numbers from largest to smallest: {n}.",
    "Put {n} in decreasing order.",
    "Arrange in descending order: {n}.",
];
const ALL: &[&str] = &[
    "Sort these numbers from smallest to largest: {n}.",
    "Put {n} in increasing order.",
    "Arrange in ascending order: {n}.",
    "Sort these numbers from largest to smallest: {n}.",
    "Put {n} in decreasing order.",
    "Arrange in descending order: {n}.",
];

fn list(ns: &[i64]) -> String {
    ns.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

impl Sorting {
    /// The numbers in the asked order.
    pub fn sorted(&self) -> Vec<i64> {
        let mut s = self.numbers.clone();
        s.sort_unstable();
        if self.descending {
            s.reverse();
        }
        s
    }
}

impl TaskKind for Sorting {
    fn generate(rng: &mut WorldRng) -> Self {
        let k = 3 + rng.below(3);
        let mut numbers = Vec::with_capacity(k);
        while numbers.len() < k {
            let n = rng.range(1, 99);
            if !numbers.contains(&n) {
                numbers.push(n);
            }
        }
        let mut task = Sorting { numbers, descending: rng.chance(0.5) };
        if task.numbers == task.sorted() {
            task.numbers.swap(0, 1); // always something to do
        }
        task
    }
    fn phrasings(&self) -> &'static [&'static str] {
        if self.descending {
            DESCENDING
        } else {
            ASCENDING
        }
    }
    fn all_templates() -> &'static [&'static str] {
        ALL
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![("n", list(&self.numbers))]
    }
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let numbers: Vec<i64> = slots[0].1.split(", ").map(|s| s.parse().ok()).collect::<Option<_>>()?;
        let ok = (3..=5).contains(&numbers.len()) && numbers.iter().all(|n| (1..=99).contains(n));
        let mut dedup = numbers.clone();
        dedup.sort_unstable();
        dedup.dedup();
        (ok && dedup.len() == numbers.len()).then_some(Sorting { numbers, descending: DESCENDING.contains(&template) })
    }
    fn reply(&self) -> Reply {
        let s = list(&self.sorted());
        Reply { statement: format!("{s}."), bare: s }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        let mut s = self.sorted();
        let i = rng.below(s.len() - 1);
        s.swap(i, i + 1);
        let s = list(&s);
        Reply { statement: format!("{s}."), bare: s }
    }
    fn judge(&self, answer: &str) -> bool {
        let found: Vec<i64> = integers(answer).into_iter().map(|(_, n)| n).collect();
        let want = self.sorted();
        found.len() >= want.len() && found[found.len() - want.len()..] == want[..]
    }
}
