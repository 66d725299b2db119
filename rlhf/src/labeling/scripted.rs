//! The scripted labeler behind the [`Labeler`] interface: the built-in world's checker ranks the answers
//! ([`crate::world::ScriptedLabeler`], with its seeded noise), and answers the checker scores exactly the
//! same (the same text sampled twice, two equally wrong answers of one length...) are recorded as tied,
//! as a person would: a ranking that orders them says nothing, and the loss skips tied pairs.
use super::{Labeler, RankRequest, Verdict};
use crate::reward::Ranking;
use crate::run::RunError;
use crate::world::{grade_prompt, ScriptedLabeler};

/// Ranks world prompts' answers by the checker.
///
/// ```
/// use rlhf::labeling::{Labeler, RankRequest, ScriptedWorldLabeler, Verdict};
/// let mut labeler = ScriptedWorldLabeler::new(0.0, 0);
/// let responses = vec!["84".to_string(), "Sure! 47 + 38 = 85.".to_string(), "84".to_string()];
/// let request = RankRequest { prompt: "What is 47 plus 38?", messages: None, responses: &responses, position: 1, total: 1 };
/// match labeler.rank(&request)? {
///     Verdict::Ranked(r) => assert_eq!(r.tiers, vec![vec![1], vec![0, 2]]), // the two "84" tie
///     _ => unreachable!(),
/// }
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ScriptedWorldLabeler {
    /// The checker's ranking with noise.
    pub inner: ScriptedLabeler,
}

impl ScriptedWorldLabeler {
    /// A labeler that swaps each adjacent pair of the checker's order with probability `noise`.
    pub fn new(noise: f64, seed: u64) -> ScriptedWorldLabeler {
        ScriptedWorldLabeler { inner: ScriptedLabeler::new(noise, seed) }
    }
}

impl Labeler for ScriptedWorldLabeler {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn rank(&mut self, request: &RankRequest) -> Result<Verdict, RunError> {
        let order = self.inner.rank(request.prompt, request.responses).ok_or_else(|| {
            format!("the scripted labeler ranks only the built-in world's prompts, not {:?}; use --labeler human", request.prompt)
        })?;
        let score = |i: usize| grade_prompt(request.prompt, &request.responses[i]).map(|g| g.score);
        let mut tiers: Vec<Vec<usize>> = Vec::new();
        for i in order {
            match tiers.last_mut() {
                Some(tier) if score(tier[0]) == score(i) => tier.push(i),
                _ => tiers.push(vec![i]),
            }
        }
        Ok(Verdict::Ranked(Ranking::with_ties(tiers)))
    }
}
