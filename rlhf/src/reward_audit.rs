//! Does the reward model judge what the checker judges? On held-out prompts answered by several models, it
//! compares the reward model's order of every two different answers to one prompt with the checker's, over
//! all pairs and over the pairs that differ **in correctness only** (same politeness, same conciseness).
//!
//! The second figure is the one that tells whether PPO can make answers more correct: a reward model that
//! orders those pairs at chance has learned style, not correctness, and optimising against it cannot raise
//! the correct fraction (the pipeline's report shows both beside the win rates).
use serde::Serialize;

use crate::evaluate::GradedAnswer;

/// The reward model's agreement with the checker over pairs of answers to the same prompt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RewardAgreement {
    /// Pairs of different answers the checker's score separates.
    pub pairs: usize,
    /// Fraction of those the reward model orders the same way (a tie in reward counts one half).
    pub accuracy: Option<f64>,
    /// Of those, the pairs with one right and one wrong answer, alike in politeness and conciseness.
    pub correctness_pairs: usize,
    /// Fraction of those the reward model orders the same way (right above wrong).
    pub correctness_accuracy: Option<f64>,
}

/// Agreement over `groups`: each group holds the graded answers to one prompt and their rewards.
///
/// ```
/// use rlhf::evaluate::GradedAnswer;
/// use rlhf::reward_audit::reward_agreement;
/// use rlhf::world::checker::grade_prompt;
/// let answer = |text: &str| {
///     let prompt = "What is 47 plus 38?";
///     GradedAnswer { prompt: prompt.into(), answer: text.into(), finished: true, grade: grade_prompt(prompt, text).unwrap() }
/// };
/// let right = answer("Sure! 47 + 38 = 85.");
/// let wrong = answer("Sure! 47 + 38 = 84.");
/// let curt = answer("85");
/// // The reward model prefers the polite answers but scores right and wrong alike when they look alike.
/// let group = vec![(right, 1.0), (wrong, 1.0), (curt, -1.0)];
/// let a = reward_agreement(&[group]);
/// assert_eq!((a.pairs, a.correctness_pairs), (3, 1));
/// assert_eq!(a.correctness_accuracy, Some(0.5));
/// assert_eq!(a.accuracy, Some(0.5)); // right > curt agreed, curt > wrong reversed, right = wrong half
/// ```
pub fn reward_agreement(groups: &[Vec<(GradedAnswer, f32)>]) -> RewardAgreement {
    let (mut pairs, mut agree, mut c_pairs, mut c_agree) = (0usize, 0.0f64, 0usize, 0.0f64);
    for group in groups {
        for (i, (a, ra)) in group.iter().enumerate() {
            for (b, rb) in &group[i + 1..] {
                // Orient each pair so that `better` is the one the checker prefers.
                let d = a.grade.score - b.grade.score;
                if a.answer == b.answer || d.abs() <= 1e-9 {
                    continue;
                }
                let (better, worse, r_better, r_worse) = if d > 0.0 { (a, b, ra, rb) } else { (b, a, rb, ra) };
                let credit = if r_better > r_worse {
                    1.0
                } else if r_better == r_worse {
                    0.5
                } else {
                    0.0
                };
                pairs += 1;
                agree += credit;
                let (g, h) = (&better.grade, &worse.grade);
                if g.correct != h.correct && g.polite == h.polite && g.concise == h.concise {
                    c_pairs += 1;
                    c_agree += credit;
                }
            }
        }
    }
    let frac = |x: f64, n: usize| if n == 0 { None } else { Some(x / n as f64) };
    RewardAgreement { pairs, accuracy: frac(agree, pairs), correctness_pairs: c_pairs, correctness_accuracy: frac(c_agree, c_pairs) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::checker::grade_prompt;

    fn answer(prompt: &str, text: &str) -> GradedAnswer {
        GradedAnswer { prompt: prompt.into(), answer: text.into(), finished: true, grade: grade_prompt(prompt, text).unwrap() }
    }

    #[test]
    fn a_reward_that_follows_correctness_agrees_fully_and_identical_answers_are_not_pairs() {
        let p = "Which is larger, 52 or 37?";
        let group = vec![
            (answer(p, "Sure! 52 is larger."), 2.0),
            (answer(p, "Sure! 37 is larger."), -1.0),
            (answer(p, "Sure! 52 is larger."), 2.0), // the same text from another model: no pair
        ];
        let a = reward_agreement(&[group]);
        assert_eq!((a.pairs, a.correctness_pairs), (2, 2));
        assert_eq!(a.accuracy, Some(1.0));
        assert_eq!(a.correctness_accuracy, Some(1.0));
    }

    #[test]
    fn a_reward_that_inverts_correctness_scores_zero_and_no_pairs_give_none() {
        let p = "Which is larger, 52 or 37?";
        let group = vec![(answer(p, "Sure! 52 is larger."), -1.0), (answer(p, "Sure! 37 is larger."), 1.0)];
        assert_eq!(reward_agreement(&[group]).correctness_accuracy, Some(0.0));
        let empty = reward_agreement(&[vec![(answer(p, "Sure! 52 is larger."), 0.0)]]);
        assert_eq!((empty.pairs, empty.accuracy, empty.correctness_accuracy), (0, None, None));
    }
}
