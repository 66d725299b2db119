//! A person ranking answers at a terminal: the prompt and its K numbered answers are shown with the
//! progress (`12/50`), and the person types
//!
//! - an order, best first: `2 1 4 3` (ties with `=`: `2 1=4 3`; see [`super::parse_order`]);
//! - `p`: compare the answers two at a time instead (`1`/`2`-style choice of the better, or `t` for a tie);
//!   the choices are turned into an order by binary insertion, about `K log2 K` questions;
//! - `s`: skip this prompt (nothing is recorded; a later run asks again);
//! - `q` (or the end of the input): stop; every ranking given so far is already saved;
//! - `?`: help.
//!
//! It reads lines from any `BufRead` and writes to any `Write`, so it runs piped (tests feed it stdin
//! lines); control codes (clearing the screen, bold) are written only when the output is a terminal.
use std::io::{BufRead, Write};

use super::{parse_order, Labeler, RankRequest, Verdict};
use crate::reward::Ranking;
use crate::run::RunError;

/// The terminal labeler.
///
/// ```
/// use rlhf::labeling::{HumanLabeler, Labeler, RankRequest, Verdict};
/// let responses = vec!["Paris".to_string(), "Sure! The capital of France is Paris.".to_string()];
/// let request = RankRequest { prompt: "What is the capital of France?", messages: None, responses: &responses, position: 3, total: 10 };
/// let mut out = Vec::new();
/// let mut labeler = HumanLabeler::new("alice", "oops\n2 1\n".as_bytes(), &mut out, false);
/// assert_eq!(labeler.rank(&request)?, Verdict::Ranked(rlhf::reward::Ranking::from_order(&[1, 0])));
/// drop(labeler);
/// let shown = String::from_utf8(out)?;
/// assert!(shown.contains("3/10") && shown.contains("[2] Sure!") && shown.contains("not an answer number"));
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub struct HumanLabeler<R: BufRead, W: Write> {
    name: String,
    input: R,
    output: W,
    terminal: bool,
}

impl<R: BufRead, W: Write> HumanLabeler<R, W> {
    /// A labeler named `human:NAME`, reading `input` and writing `output`; `terminal` turns on control codes.
    pub fn new(name: &str, input: R, output: W, terminal: bool) -> HumanLabeler<R, W> {
        HumanLabeler { name: format!("human:{name}"), input, output, terminal }
    }

    /// One trimmed line of input; `None` at the end of the input. Piped input is not echoed by a
    /// terminal, so it is echoed here: the transcript reads as the session went.
    fn read_line(&mut self) -> Result<Option<String>, RunError> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.output)?;
            return Ok(None);
        }
        let line = line.trim().to_string();
        if !self.terminal {
            writeln!(self.output, "{line}")?;
        }
        Ok(Some(line))
    }

    fn bold(&self, text: &str) -> String {
        if self.terminal {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn show(&mut self, request: &RankRequest) -> Result<(), RunError> {
        if self.terminal {
            write!(self.output, "\x1b[2J\x1b[H")?; // clear the screen, cursor home
        }
        let header = self.bold(&format!("prompt {}/{}", request.position, request.total));
        writeln!(self.output, "{header}")?;
        if let Some(history) = request.messages {
            for m in &history[..history.len().saturating_sub(1)] {
                writeln!(self.output, "  ({}) {}", m.role.name(), m.content)?;
            }
        }
        let prompt = self.bold(request.prompt);
        writeln!(self.output, "{prompt}\n")?;
        for (i, r) in request.responses.iter().enumerate() {
            writeln!(self.output, "[{}] {}", i + 1, r.replace('\n', "\n    "))?;
        }
        Ok(())
    }

    fn help(&mut self, k: usize) -> Result<(), RunError> {
        writeln!(
            self.output,
            "Type the answers' numbers best first (e.g. `{}`), tie with `=` (`1=2`), `p` to compare two at a time, \
             `s` to skip, `q` to stop (rankings given so far are saved).",
            (1..=k).rev().map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
        )?;
        Ok(())
    }

    /// Pairwise choices turned into tiers by binary insertion. `None` means skip or quit (in `verdict`).
    fn by_pairs(&mut self, request: &RankRequest) -> Result<Result<Ranking, Verdict>, RunError> {
        let k = request.responses.len();
        let mut tiers: Vec<Vec<usize>> = vec![vec![0]];
        for x in 1..k {
            let (mut lo, mut hi) = (0, tiers.len());
            let mut placed = false;
            while lo < hi {
                let mid = (lo + hi) / 2;
                let y = tiers[mid][0];
                let (a, b) = (x + 1, y + 1);
                let choice = loop {
                    writeln!(self.output, "Which is better, [{a}] or [{b}]? ({a}, {b}, t = tie, s = skip, q = quit)")?;
                    write!(self.output, "> ")?;
                    self.output.flush()?;
                    let Some(line) = self.read_line()? else { return Ok(Err(Verdict::Quit)) };
                    match line.as_str() {
                        "s" | "skip" => return Ok(Err(Verdict::Skip)),
                        "q" | "quit" => return Ok(Err(Verdict::Quit)),
                        "t" | "tie" | "=" => break std::cmp::Ordering::Equal,
                        n if n == a.to_string() => break std::cmp::Ordering::Greater,
                        n if n == b.to_string() => break std::cmp::Ordering::Less,
                        other => writeln!(self.output, "{other:?}: type {a} or {b} for the better answer, or t for a tie")?,
                    }
                };
                match choice {
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Equal => {
                        tiers[mid].push(x);
                        placed = true;
                        break;
                    }
                }
            }
            if !placed {
                tiers.insert(lo, vec![x]);
            }
        }
        for t in &mut tiers {
            t.sort_unstable();
        }
        Ok(Ok(Ranking::with_ties(tiers)))
    }
}

impl<R: BufRead, W: Write> Labeler for HumanLabeler<R, W> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn rank(&mut self, request: &RankRequest) -> Result<Verdict, RunError> {
        let k = request.responses.len();
        self.show(request)?;
        loop {
            write!(self.output, "\norder best first (`?` for help)> ")?;
            self.output.flush()?;
            let Some(line) = self.read_line()? else { return Ok(Verdict::Quit) };
            match line.as_str() {
                "" => continue,
                "?" | "h" | "help" => self.help(k)?,
                "s" | "skip" => return Ok(Verdict::Skip),
                "q" | "quit" => return Ok(Verdict::Quit),
                "p" | "pairs" => {
                    return Ok(match self.by_pairs(request)? {
                        Ok(ranking) => {
                            writeln!(self.output, "order: {}", describe(&ranking))?;
                            Verdict::Ranked(ranking)
                        }
                        Err(verdict) => verdict,
                    });
                }
                text => match parse_order(text, k) {
                    Ok(ranking) => return Ok(Verdict::Ranked(ranking)),
                    Err(e) => writeln!(self.output, "{e}")?,
                },
            }
        }
    }
}

/// A ranking written as a person types it (`2 1=4 3`).
pub fn describe(ranking: &Ranking) -> String {
    ranking
        .tiers
        .iter()
        .map(|t| t.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(" ")
}
