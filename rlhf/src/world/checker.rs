//! Grading any answer text to a world prompt: correct or not (the family's parsing rule, see
//! [`super::tasks`]), concise (length against the canonical answer), polite; and one preference score that
//! the scripted labeler ranks by.
//!
//! **The score**: `2.0 * correct + 0.5 * polite + 0.5 * brevity`, where `brevity = min(1, canonical length /
//! answer length)` in characters. Correctness outweighs everything else (a wrong answer scores at most 1.0,
//! a right one at least 2.0); among right answers, polite and short wins: the canonical answer scores 3.0,
//! a curt right answer 2.5, a right answer buried in rambling about 2.6.
use super::style::{canonical, POLITE_MARKERS, RUDE_MARKERS};
use super::tasks::Task;

/// Weight of correctness in [`Grade::score`].
pub const WEIGHT_CORRECT: f64 = 2.0;
/// Weight of politeness in [`Grade::score`].
pub const WEIGHT_POLITE: f64 = 0.5;
/// Weight of brevity in [`Grade::score`].
pub const WEIGHT_BREVITY: f64 = 0.5;
/// An answer at most this many times the canonical length counts as concise.
pub const CONCISE_RATIO: f64 = 1.5;

/// The checker's verdict on one answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grade {
    /// The answer gives the right answer.
    pub correct: bool,
    /// Its length is at most [`CONCISE_RATIO`] times the canonical answer's.
    pub concise: bool,
    /// It has a polite marker and no rude one.
    pub polite: bool,
    /// Answer length over canonical length, in characters (after trimming whitespace).
    pub length_ratio: f64,
    /// The preference score (see the module documentation).
    pub score: f64,
}

/// Grades `answer` to `task`.
///
/// ```
/// use rlhf::world::checker::grade;
/// use rlhf::world::tasks::Task;
/// let task = Task::from_prompt("What is the capital of France?").unwrap();
/// let best = grade(&task, "Sure! The capital of France is Paris.");
/// assert!(best.correct && best.polite && best.concise);
/// assert_eq!(best.score, 3.0);
/// let curt = grade(&task, "Paris");
/// assert!(curt.correct && !curt.polite);
/// let wrong = grade(&task, "Sure! The capital of France is Rome.");
/// assert!(!wrong.correct && wrong.score < curt.score);
/// ```
pub fn grade(task: &Task, answer: &str) -> Grade {
    let answer = answer.trim();
    let canonical_len = canonical(&task.reply()).chars().count().max(1) as f64;
    let len = answer.chars().count() as f64;
    let correct = !answer.is_empty() && task.judge(answer);
    let lower = answer.to_ascii_lowercase();
    let polite = POLITE_MARKERS.iter().any(|m| lower.contains(m)) && !RUDE_MARKERS.iter().any(|m| lower.contains(m));
    let length_ratio = len / canonical_len;
    let brevity = if len == 0.0 { 0.0 } else { (canonical_len / len).min(1.0) };
    let score = WEIGHT_CORRECT * correct as u8 as f64 + WEIGHT_POLITE * polite as u8 as f64 + WEIGHT_BREVITY * brevity;
    Grade { correct, concise: length_ratio <= CONCISE_RATIO, polite, length_ratio, score }
}

/// Grades `answer` to a prompt given by its text; `None` when the text is not a world prompt.
pub fn grade_prompt(prompt: &str, answer: &str) -> Option<Grade> {
    Task::from_prompt(prompt).map(|t| grade(&t, answer))
}

/// The canonical answer to `task`: short, polite and right.
///
/// ```
/// use rlhf::world::tasks::Task;
/// let task = Task::from_prompt("Which is larger, 52 or 37?").unwrap();
/// assert_eq!(rlhf::world::checker::canonical_answer(&task), "Sure! 52 is larger.");
/// ```
pub fn canonical_answer(task: &Task) -> String {
    canonical(&task.reply())
}

/// Averages of many grades: what a figure or a closing note reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GradeSummary {
    /// How many answers.
    pub count: usize,
    /// Fraction correct.
    pub correct: f64,
    /// Fraction polite.
    pub polite: f64,
    /// Fraction concise.
    pub concise: f64,
    /// Mean preference score (0 to 3).
    pub mean_score: f64,
}

/// Summarises grades (all zeros for none).
///
/// ```
/// use rlhf::world::checker::{grade_prompt, summarize};
/// let grades = [
///     grade_prompt("What is 47 plus 38?", "Sure! 47 + 38 = 85.").unwrap(),
///     grade_prompt("What is 47 plus 38?", "84").unwrap(),
/// ];
/// let s = summarize(&grades);
/// assert_eq!((s.count, s.correct, s.polite), (2, 0.5, 0.5));
/// ```
pub fn summarize(grades: &[Grade]) -> GradeSummary {
    let n = grades.len();
    if n == 0 {
        return GradeSummary::default();
    }
    let frac = |f: &dyn Fn(&Grade) -> bool| grades.iter().filter(|g| f(g)).count() as f64 / n as f64;
    GradeSummary {
        count: n,
        correct: frac(&|g| g.correct),
        polite: frac(&|g| g.polite),
        concise: frac(&|g| g.concise),
        mean_score: grades.iter().map(|g| g.score).sum::<f64>() / n as f64,
    }
}
