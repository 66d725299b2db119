//! The task families, one file each, behind one interface ([`TaskKind`]) and one enum ([`Task`]).
//!
//! | file | family | example prompt | canonical answer |
//! | --- | --- | --- | --- |
//! | `arithmetic.rs` | two-digit addition and subtraction | What is 47 plus 38? | Sure! 47 + 38 = 85. |
//! | `compare.rs` | the larger or smaller of two numbers | Which is larger, 52 or 37? | Sure! 52 is larger. |
//! | `spelling.rs` | reverse or spell a word | Reverse the word apple. | Sure! apple reversed is elppa. |
//! | `counting.rs` | count a letter in a word | How many times does the letter p appear in apple? | Sure! The letter p appears 2 times in apple. |
//! | `choice.rs` | multiple choice from a fact table | Who invented the computer? A. von Neumann B. Liu Bo C. Dunjiao | Sure! The answer is A. von Neumann. |
//! | `facts.rs` | capitals and opposites | What is the capital of France? | Sure! The capital of France is Paris. |
//! | `sorting.rs` | sort 3 to 5 numbers | Sort these numbers from smallest to largest: 15, 3, 8. | Sure! 3, 8, 15. |
use super::rng::WorldRng;
use super::template;

pub mod arithmetic;
pub mod choice;
pub mod compare;
pub mod counting;
pub mod facts;
pub mod sorting;
pub mod spelling;

pub use arithmetic::Arithmetic;
pub use choice::Choice;
pub use compare::Compare;
pub use counting::Counting;
pub use facts::Fact;
pub use sorting::Sorting;
pub use spelling::Spelling;

/// The seven task families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Arithmetic,
    Compare,
    Spelling,
    Counting,
    MultipleChoice,
    Facts,
    Sorting,
}

impl Family {
    /// Every family, in a fixed order.
    pub const ALL: [Family; 7] = [
        Family::Arithmetic,
        Family::Compare,
        Family::Spelling,
        Family::Counting,
        Family::MultipleChoice,
        Family::Facts,
        Family::Sorting,
    ];

    /// A short lower-case name (`"arithmetic"`, `"multiple_choice"`...).
    pub fn name(self) -> &'static str {
        match self {
            Family::Arithmetic => "arithmetic",
            Family::Compare => "compare",
            Family::Spelling => "spelling",
            Family::Counting => "counting",
            Family::MultipleChoice => "multiple_choice",
            Family::Facts => "facts",
            Family::Sorting => "sorting",
        }
    }
}

/// The content of an answer in two forms: a full sentence (`"47 + 38 = 85."`) and the bare answer (`"85"`).
/// Styles add politeness or rambling around one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The answer as a short sentence, with no politeness.
    pub statement: String,
    /// Just the answer.
    pub bare: String,
}

/// What every task family provides.
pub trait TaskKind: Sized + Clone {
    /// Draws a task.
    fn generate(rng: &mut WorldRng) -> Self;
    /// The templates this task can be asked with (its slots are those of [`TaskKind::slots`]).
    fn phrasings(&self) -> &'static [&'static str];
    /// Every template of the family, for reading prompts back.
    fn all_templates() -> &'static [&'static str];
    /// The values of the template slots.
    fn slots(&self) -> Vec<(&'static str, String)>;
    /// The task asked by `template` with these slot values, if they are valid.
    fn from_slots(template: &str, slots: &[(&str, String)]) -> Option<Self>;
    /// The right answer.
    fn reply(&self) -> Reply;
    /// A plausible wrong answer (never judged correct).
    fn wrong_reply(&self, rng: &mut WorldRng) -> Reply;
    /// Whether `answer` (any text) gives the right answer; the family's parsing rule is in its file.
    fn judge(&self, answer: &str) -> bool;
}

/// One task of any family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    Arithmetic(Arithmetic),
    Compare(Compare),
    Spelling(Spelling),
    Counting(Counting),
    Choice(Choice),
    Fact(Fact),
    Sorting(Sorting),
}

macro_rules! each {
    ($task:expr, $t:ident => $body:expr) => {
        match $task {
            Task::Arithmetic($t) => $body,
            Task::Compare($t) => $body,
            Task::Spelling($t) => $body,
            Task::Counting($t) => $body,
            Task::Choice($t) => $body,
            Task::Fact($t) => $body,
            Task::Sorting($t) => $body,
        }
    };
}

/// Reads a prompt back as a task of family `K`.
fn read_kind<K: TaskKind>(text: &str) -> Option<K> {
    K::all_templates()
        .iter()
        .find_map(|t| template::read(t, text).and_then(|slots| K::from_slots(t, &slots)))
}

impl Task {
    /// Draws a task of `family`.
    pub fn generate(family: Family, rng: &mut WorldRng) -> Task {
        match family {
            Family::Arithmetic => Task::Arithmetic(Arithmetic::generate(rng)),
            Family::Compare => Task::Compare(Compare::generate(rng)),
            Family::Spelling => Task::Spelling(Spelling::generate(rng)),
            Family::Counting => Task::Counting(Counting::generate(rng)),
            Family::MultipleChoice => Task::Choice(Choice::generate(rng)),
            Family::Facts => Task::Fact(Fact::generate(rng)),
            Family::Sorting => Task::Sorting(Sorting::generate(rng)),
        }
    }

    /// The task's family.
    pub fn family(&self) -> Family {
        match self {
            Task::Arithmetic(_) => Family::Arithmetic,
            Task::Compare(_) => Family::Compare,
            Task::Spelling(_) => Family::Spelling,
            Task::Counting(_) => Family::Counting,
            Task::Choice(_) => Family::MultipleChoice,
            Task::Fact(_) => Family::Facts,
            Task::Sorting(_) => Family::Sorting,
        }
    }

    /// The prompt text in one of the task's phrasings, drawn from `rng`.
    pub fn phrase(&self, rng: &mut WorldRng) -> String {
        each!(self, t => template::fill(rng.pick::<&str>(t.phrasings()), &t.slots()))
    }

    /// Every phrasing of the task.
    pub fn all_phrasings(&self) -> Vec<String> {
        each!(self, t => t.phrasings().iter().map(|p| template::fill(p, &t.slots())).collect())
    }

    /// Reads a prompt's text back into its task; `None` for text the world did not write.
    ///
    /// ```
    /// use rlhf::world::tasks::{Family, Task};
    /// let task = Task::from_prompt("What is 47 plus 38?").unwrap();
    /// assert_eq!(task.family(), Family::Arithmetic);
    /// assert!(task.judge("The answer is 85."));
    /// assert!(Task::from_prompt("Tell me a story.").is_none());
    /// ```
    pub fn from_prompt(text: &str) -> Option<Task> {
        let text = text.trim();
        None.or_else(|| read_kind(text).map(Task::Arithmetic))
            .or_else(|| read_kind(text).map(Task::Compare))
            .or_else(|| read_kind(text).map(Task::Spelling))
            .or_else(|| read_kind(text).map(Task::Counting))
            .or_else(|| read_kind(text).map(Task::Choice))
            .or_else(|| read_kind(text).map(Task::Fact))
            .or_else(|| read_kind(text).map(Task::Sorting))
    }

    /// The right answer.
    pub fn reply(&self) -> Reply {
        each!(self, t => t.reply())
    }

    /// A plausible wrong answer.
    pub fn wrong_reply(&self, rng: &mut WorldRng) -> Reply {
        each!(self, t => t.wrong_reply(rng))
    }

    /// Whether `answer` gives the right answer.
    pub fn judge(&self, answer: &str) -> bool {
        each!(self, t => t.judge(answer))
    }
}

/// The value of the slot `name` among `slots`.
pub fn slot<'a>(slots: &'a [(&str, String)], name: &str) -> Option<&'a str> {
    slots.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}
