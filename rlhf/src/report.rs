//! The pipeline's report: how the SFT, policy-gradient and PPO models answer the same held-out prompts,
//! head-to-head win rates by the scripted labeler's preference, and the Markdown page that puts them next to
//! the charts of every stage.
//!
//! **Win rate.** For each held-out prompt the two models' answers are graded by the world's checker; the
//! answer with the higher [`Grade::score`](crate::world::Grade) (the score the scripted labeler ranks by,
//! without its noise) wins, equal scores tie, and `win rate = wins / (wins + losses)`: ties excluded, as
//! InstructGPT reports preference against a baseline.
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::evaluate::{GradedAnswer, WorldEval};

/// The head-to-head result of model A against model B on the same prompts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadToHead {
    /// Prompts where A's answer scored higher.
    pub wins: usize,
    /// Prompts where B's answer scored higher.
    pub losses: usize,
    /// Prompts where both scored the same.
    pub ties: usize,
}

impl HeadToHead {
    /// `wins / (wins + losses)`, ties excluded; `None` when every prompt tied.
    pub fn win_rate(&self) -> Option<f64> {
        let decided = self.wins + self.losses;
        (decided > 0).then(|| self.wins as f64 / decided as f64)
    }
}

/// Compares `a` with `b` answer by answer. Both must be evaluations of the same prompts in the same order.
///
/// ```
/// use rlhf::evaluate::GradedAnswer;
/// use rlhf::report::head_to_head;
/// use rlhf::world::{canonical_answer, grade, Split, World};
/// let p = &World::new(1).prompts(Split::Eval, 1)[0];
/// let answer = |text: &str| GradedAnswer { prompt: p.text.clone(), answer: text.into(), finished: true, grade: grade(&p.task, text) };
/// let (right, wrong) = (canonical_answer(&p.task), "I do not know.".to_string());
/// let a = vec![answer(&right), answer(&right), answer(&wrong)];
/// let b = vec![answer(&wrong), answer(&right), answer(&right)];
/// let h = head_to_head(&a, &b)?;
/// assert_eq!((h.wins, h.losses, h.ties), (1, 1, 1));
/// assert_eq!(h.win_rate(), Some(0.5));
/// # Ok::<(), String>(())
/// ```
pub fn head_to_head(a: &[GradedAnswer], b: &[GradedAnswer]) -> Result<HeadToHead, String> {
    if a.len() != b.len() {
        return Err(format!("head_to_head: {} answers against {}", a.len(), b.len()));
    }
    let mut h = HeadToHead { wins: 0, losses: 0, ties: 0 };
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x.prompt != y.prompt {
            return Err(format!("head_to_head: answer {i} is to {:?} in one list and {:?} in the other", x.prompt, y.prompt));
        }
        // Scores are sums of a few fixed weights and one length ratio: compare with a tolerance so the
        // same text always ties.
        let d = x.grade.score - y.grade.score;
        if d > 1e-9 {
            h.wins += 1;
        } else if d < -1e-9 {
            h.losses += 1;
        } else {
            h.ties += 1;
        }
    }
    Ok(h)
}

/// How much more often model A's answers are correct than model B's on the same prompts, with the
/// standard error of that difference: the per-prompt differences of the correct fractions (a prompt's
/// answers pooled, however many samples and repeats it has) averaged over prompts. Pairing by prompt
/// removes the prompts' own difficulty from the noise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrectGain {
    /// Mean over prompts of (A's correct fraction − B's), in [-1, 1].
    pub gain: f64,
    /// Its standard error (sample standard deviation over prompts / √prompts; 0 for one prompt).
    pub std_error: f64,
    /// Distinct prompts compared.
    pub prompts: usize,
}

/// [`CorrectGain`] of `a` over `b`, which must answer the same prompts in the same order.
///
/// ```
/// use rlhf::evaluate::GradedAnswer;
/// use rlhf::report::correct_gain;
/// use rlhf::world::{canonical_answer, grade, Split, World};
/// let ps = World::new(1).prompts(Split::Eval, 2);
/// let answer = |i: usize, right: bool| {
///     let text = if right { canonical_answer(&ps[i].task) } else { "I do not know.".to_string() };
///     GradedAnswer { prompt: ps[i].text.clone(), grade: grade(&ps[i].task, &text), answer: text, finished: true }
/// };
/// let a = vec![answer(0, true), answer(1, true)];
/// let b = vec![answer(0, false), answer(1, true)];
/// let g = correct_gain(&a, &b)?;
/// assert_eq!((g.gain, g.prompts), (0.5, 2));
/// assert!((g.std_error - 0.5).abs() < 1e-12); // differences 1 and 0: sd 0.707, / sqrt(2)
/// # Ok::<(), String>(())
/// ```
pub fn correct_gain(a: &[GradedAnswer], b: &[GradedAnswer]) -> Result<CorrectGain, String> {
    if a.len() != b.len() {
        return Err(format!("correct_gain: {} answers against {}", a.len(), b.len()));
    }
    // prompt -> (A correct, B correct, answers)
    let mut per_prompt: std::collections::BTreeMap<&str, (usize, usize, usize)> = Default::default();
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x.prompt != y.prompt {
            return Err(format!("correct_gain: answer {i} is to {:?} in one list and {:?} in the other", x.prompt, y.prompt));
        }
        let e = per_prompt.entry(x.prompt.as_str()).or_default();
        e.0 += x.grade.correct as usize;
        e.1 += y.grade.correct as usize;
        e.2 += 1;
    }
    let d: Vec<f64> = per_prompt.values().map(|&(ca, cb, n)| (ca as f64 - cb as f64) / n as f64).collect();
    let n = d.len();
    if n == 0 {
        return Ok(CorrectGain { gain: 0.0, std_error: 0.0, prompts: 0 });
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let std_error = if n > 1 { (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 / n as f64).sqrt() } else { 0.0 };
    Ok(CorrectGain { gain: mean, std_error, prompts: n })
}

/// One stage of the pipeline as the report lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageLine {
    /// The stage's name (`pretrain`, `sft`, ...).
    pub name: String,
    /// Its folder, relative to the report.
    pub folder: String,
    /// Seconds it took (0 when it was kept from an earlier run).
    pub wall_time_s: f64,
    /// Its charts, relative to the report.
    pub charts: Vec<String>,
    /// One line on what it achieved.
    pub note: String,
}

/// A model's evaluation, named.
pub struct NamedEval<'a> {
    /// `SFT`, `PG`, `PPO`.
    pub name: &'a str,
    /// Its answers to the held-out prompts.
    pub eval: &'a WorldEval,
    /// KL to the SFT model per answer (None for SFT itself).
    pub kl_to_sft: Option<f64>,
}

/// The figures of each model and the win rates, under a `## {title}` heading: the part of the report a
/// second decoding (greedy beside sampled) repeats.
pub fn results_tables(title: &str, evals: &[NamedEval], head_to_heads: &[(String, HeadToHead)]) -> String {
    let mut s = String::new();
    if !evals.is_empty() {
        let n = evals[0].eval.answers.len();
        let _ = writeln!(s, "## {title} ({n}, never seen in SFT, ranking or RL)\n");
        let _ = writeln!(s, "| model | correct | polite | concise | mean labeler score | ended | KL to SFT (per answer) |\n| --- | --- | --- | --- | --- | --- | --- |");
        for e in evals {
            let g = &e.eval.summary;
            let kl = e.kl_to_sft.map(|k| format!("{k:.2}")).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                s,
                "| {} | {:.1}% | {:.1}% | {:.1}% | {:.3} | {:.1}% | {kl} |",
                e.name,
                100.0 * g.correct,
                100.0 * g.polite,
                100.0 * g.concise,
                g.mean_score,
                100.0 * e.eval.finished_fraction()
            );
        }
    }
    if !head_to_heads.is_empty() {
        let _ = writeln!(s, "\n### Win rates by the scripted labeler (ties excluded)\n\n| comparison | win rate | wins | losses | ties |\n| --- | --- | --- | --- | --- |");
        for (name, h) in head_to_heads {
            let rate = h.win_rate().map(|r| format!("{:.1}%", 100.0 * r)).unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "| {name} | {rate} | {} | {} | {} |", h.wins, h.losses, h.ties);
        }
    }
    s.push('\n');
    s
}

/// Markdown-safe table cell: pipes escaped, newlines as spaces, long text cut.
fn cell(text: &str) -> String {
    let t: String = text.replace('|', "\\|").replace('\n', " ");
    if t.chars().count() > 90 {
        t.chars().take(87).collect::<String>() + "..."
    } else {
        t
    }
}

/// The report page: the stages with their charts, the figures of each model, the win rates and a table
/// of the first `rows` held-out prompts as answered by every model.
///
/// ```
/// use rlhf::report::{markdown, StageLine};
/// let stages = vec![StageLine { name: "sft".into(), folder: "sft".into(), wall_time_s: 1.5, charts: vec!["sft/loss.svg".into()], note: "ok".into() }];
/// let page = markdown("rlhf pipeline --out r", &stages, &[], &[], 0);
/// assert!(page.contains("![sft](sft/loss.svg)") && page.contains("| sft |"));
/// ```
pub fn markdown(command: &str, stages: &[StageLine], evals: &[NamedEval], head_to_heads: &[(String, HeadToHead)], rows: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# RLHF pipeline report\n\nMade by `{command}`.\n");
    let _ = writeln!(s, "## Stages\n\n| stage | folder | wall time | result |\n| --- | --- | --- | --- |");
    for st in stages {
        let _ = writeln!(s, "| {} | [`{}/`]({}/) | {:.1} s | {} |", st.name, st.folder, st.folder, st.wall_time_s, cell(&st.note));
    }
    let total: f64 = stages.iter().map(|s| s.wall_time_s).sum();
    let _ = writeln!(s, "\nTotal: {total:.1} s.\n");
    s.push_str(&results_tables("Held-out prompts", evals, head_to_heads));
    let _ = writeln!(s, "\n## Charts\n");
    for st in stages {
        for chart in &st.charts {
            let _ = writeln!(s, "### {} — `{chart}`\n\n![{}]({chart})\n", st.name, st.name);
        }
    }
    if rows > 0 && !evals.is_empty() {
        let _ = writeln!(s, "## The same held-out prompts, answered by each model\n");
        let header: Vec<&str> = evals.iter().map(|e| e.name).collect();
        let _ = writeln!(s, "| prompt | {} |\n| --- |{}", header.join(" | "), " --- |".repeat(header.len()));
        for i in 0..rows.min(evals[0].eval.answers.len()) {
            let mut line = format!("| {} |", cell(&evals[0].eval.answers[i].prompt));
            for e in evals {
                let a = &e.eval.answers[i];
                let mark = if a.grade.correct { "✓" } else { "✗" };
                let _ = write!(line, " {mark} {} ({:.2}) |", cell(&a.answer), a.grade.score);
            }
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(s, "\n✓/✗: the checker's verdict; in brackets the labeler's score (2 correct + 0.5 polite + 0.5 brevity).");
    }
    s
}
