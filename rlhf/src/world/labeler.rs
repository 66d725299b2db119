//! Ranking answers by the checker's score: the scripted labeler of the reward-model stage.
//!
//! The noiseless ranking sorts by [`Grade::score`](super::checker::Grade), best first, equal scores in
//! their given order. A noisy labeler then walks the ranking once from the top and swaps each adjacent pair
//! with probability `noise`; its random draws are seeded by the labeler's seed and the content (prompt and
//! answers), so a rerun or a resumed run gives the same rankings in any order. Pairwise agreement between
//! two labelers with different seeds falls as `noise` rises (see [`pairwise_agreement`]). Measured on six
//! answers per prompt (the `world_checker` test prints it): noise 0.1 gives 93% agreement, 0.3 gives 83%,
//! 0.5 gives 75% (close to the 73% between InstructGPT's labelers), 0.8 gives 71%.
use super::checker::grade;
use super::rng::{hash_str, mix, WorldRng};
use super::tasks::Task;

/// Indices of `answers` from best to worst by checker score; ties keep their given order.
///
/// ```
/// use rlhf::world::labeler::rank;
/// use rlhf::world::tasks::Task;
/// let task = Task::from_prompt("What is 47 plus 38?").unwrap();
/// let answers = ["84", "Sure! 47 + 38 = 85.", "85"];
/// assert_eq!(rank(&task, &answers), vec![1, 2, 0]);
/// ```
pub fn rank<S: AsRef<str>>(task: &Task, answers: &[S]) -> Vec<usize> {
    let scores: Vec<f64> = answers.iter().map(|a| grade(task, a.as_ref()).score).collect();
    let mut order: Vec<usize> = (0..answers.len()).collect();
    // Stable sort: equal scores keep index order.
    order.sort_by(|&i, &j| scores[j].partial_cmp(&scores[i]).expect("finite scores"));
    order
}

/// A scripted labeler: the checker's ranking with seeded noise.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedLabeler {
    /// Probability of swapping each adjacent pair in the walk down the ranking (0 = the checker's order).
    pub noise: f64,
    /// Seeds the noise; two labelers with different seeds disagree independently.
    pub seed: u64,
}

impl ScriptedLabeler {
    /// A labeler with this noise rate and seed.
    pub fn new(noise: f64, seed: u64) -> ScriptedLabeler {
        ScriptedLabeler { noise, seed }
    }

    /// The name written in the rankings file's `labeler` field, e.g. `scripted(noise=0.3,seed=1)`.
    pub fn name(&self) -> String {
        format!("scripted(noise={},seed={})", self.noise, self.seed)
    }

    /// Ranks `answers` to the world prompt `prompt`; `None` when the prompt is not a world prompt.
    ///
    /// ```
    /// use rlhf::world::labeler::ScriptedLabeler;
    /// let labeler = ScriptedLabeler::new(0.0, 1);
    /// let order = labeler.rank("Reverse the word cat.", &["tca", "Sure! cat reversed is tac."]).unwrap();
    /// assert_eq!(order, vec![1, 0]);
    /// ```
    pub fn rank<S: AsRef<str>>(&self, prompt: &str, answers: &[S]) -> Option<Vec<usize>> {
        let task = Task::from_prompt(prompt)?;
        let mut order = rank(&task, answers);
        if self.noise > 0.0 && order.len() > 1 {
            let mut content = hash_str(prompt);
            for a in answers {
                content = mix(content, hash_str(a.as_ref()));
            }
            let mut rng = WorldRng::new(mix(self.seed, content));
            for i in 0..order.len() - 1 {
                if rng.chance(self.noise) {
                    order.swap(i, i + 1);
                }
            }
        }
        Some(order)
    }
}

/// The fraction of answer pairs that two rankings of the same answers put in the same order (1.0 for
/// fewer than two answers).
///
/// ```
/// use rlhf::world::labeler::pairwise_agreement;
/// assert_eq!(pairwise_agreement(&[0, 1, 2], &[0, 1, 2]), 1.0);
/// assert_eq!(pairwise_agreement(&[0, 1, 2], &[2, 1, 0]), 0.0);
/// ```
pub fn pairwise_agreement(a: &[usize], b: &[usize]) -> f64 {
    assert_eq!(a.len(), b.len(), "rankings of different lengths");
    let n = a.len();
    let position = |r: &[usize]| {
        let mut p = vec![0; n];
        for (rank, &i) in r.iter().enumerate() {
            p[i] = rank;
        }
        p
    };
    let (pa, pb) = (position(a), position(b));
    let (mut same, mut total) = (0usize, 0usize);
    for i in 0..n {
        for j in i + 1..n {
            total += 1;
            if (pa[i] < pa[j]) == (pb[i] < pb[j]) {
                same += 1;
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        same as f64 / total as f64
    }
}
