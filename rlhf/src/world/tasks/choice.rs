//! Multiple choice from [`CHOICE_FACTS`]: the question and three lettered options (the right answer and two
//! distractors, shuffled). Judging: the **first** option the answer names, by its letter (`A.`, `(B)`,
//! `C)` or a letter ending the text) or by its text (`von Neumann`), must be the right one.
use super::{Reply, TaskKind};
use crate::world::parse::first_phrase;
use crate::world::rng::WorldRng;
use crate::world::tables::{ChoiceFact, CHOICE_FACTS};

const LETTERS: [char; 3] = ['A', 'B', 'C'];

/// A question of [`CHOICE_FACTS`] with its options in the order shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub fact: &'static ChoiceFact,
    pub options: [&'static str; 3],
}

const TEMPLATES: &[&str] = &[
    "{q} A. {a} B. {b} C. {c}",
    "Choose the right answer. {q} A. {a} B. {b} C. {c}",
    "{q} Options: A. {a}, B. {b}, C. {c}.",
];

impl Choice {
    /// The index (0 = A) of the right option.
    pub fn answer_index(&self) -> usize {
        self.options.iter().position(|o| *o == self.fact.answer).expect("answer among options")
    }

    /// The index of the first option `text` names, by letter or by text.
    pub fn first_named(&self, text: &str) -> Option<usize> {
        let b = text.as_bytes();
        let trimmed_end = text.trim_end_matches(|c: char| c.is_whitespace() || c == '.' || c == '!').len();
        let mut best: Option<(usize, usize)> = None; // (position, option)
        let mut consider = |pos: usize, k: usize| {
            match best {
                Some((p, _)) if p <= pos => {}
                _ => best = Some((pos, k)),
            }
        };
        for (k, option) in self.options.iter().enumerate() {
            if let Some(p) = first_phrase(text, option) {
                consider(p, k);
            }
        }
        for (i, &c) in b.iter().enumerate() {
            let Some(k) = LETTERS.iter().position(|&l| l as u8 == c) else { continue };
            let left_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let right_ok = i + 1 >= trimmed_end || matches!(b[i + 1], b'.' | b')' | b':' | b',');
            if left_ok && right_ok {
                consider(i, k);
            }
        }
        best.map(|(_, k)| k)
    }
}

impl TaskKind for Choice {
    fn generate(rng: &mut WorldRng) -> Self {
        let fact = rng.pick(CHOICE_FACTS);
        let mut distractors: Vec<&'static str> = fact.distractors.to_vec();
        rng.shuffle(&mut distractors);
        let mut options = [fact.answer, distractors[0], distractors[1]];
        rng.shuffle(&mut options);
        Choice { fact, options }
    }
    fn phrasings(&self) -> &'static [&'static str] {
        TEMPLATES
    }
    fn all_templates() -> &'static [&'static str] {
        TEMPLATES
    }
    fn slots(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.fact.question.to_string()),
            ("a", self.options[0].to_string()),
            ("b", self.options[1].to_string()),
            ("c", self.options[2].to_string()),
        ]
    }
    fn from_slots(_template: &str, slots: &[(&str, String)]) -> Option<Self> {
        let fact = CHOICE_FACTS.iter().find(|f| f.question == slots[0].1)?;
        let mut options = [""; 3];
        for k in 0..3 {
            let text = &slots[k + 1].1;
            options[k] = *std::iter::once(&fact.answer)
                .chain(fact.distractors.iter())
                .find(|o| **o == text.as_str())?;
        }
        let distinct = options[0] != options[1] && options[1] != options[2] && options[0] != options[2];
        (distinct && options.contains(&fact.answer)).then_some(Choice { fact, options })
    }
    fn reply(&self) -> Reply {
        let k = self.answer_index();
        Reply { statement: format!("The answer is {}. {}.", LETTERS[k], self.options[k]), bare: LETTERS[k].to_string() }
    }
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        let k = (self.answer_index() + 1 + rng.below(2)) % 3;
        Reply { statement: format!("The answer is {}. {}.", LETTERS[k], self.options[k]), bare: LETTERS[k].to_string() }
    }
    fn judge(&self, answer: &str) -> bool {
        self.first_named(answer) == Some(self.answer_index())
    }
}
