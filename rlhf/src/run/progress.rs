//! The terminal progress bar: step, loss, tokens/s and time left (indicatif), hidden when stderr is not a
//! terminal so logs and tests stay clean.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over training steps.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for steps `start..total` (`start` > 0 after a resume).
    pub fn new(total: u64, start: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} step {pos}/{len} | {msg} | {elapsed_precise} < {eta_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_position(start);
        bar.reset_eta();
        Progress { bar }
    }

    /// Moves to `step` and shows the latest loss and throughput.
    pub fn update(&self, step: u64, loss: f32, tokens_per_s: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!("loss {loss:.4} | {tokens_per_s:.0} tok/s"));
    }

    /// Prints a line above the bar (evaluations, checkpoints).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.bar.is_hidden() {
            eprintln!("{}", line.as_ref());
        } else {
            self.bar.println(line.as_ref());
        }
    }

    /// Leaves the bar at its final state.
    pub fn finish(&self) {
        self.bar.abandon();
    }
}
