//! How an answer is worded around its content: the canonical style (a polite word, then the short
//! statement), curt (the bare answer, sometimes rude) and rambling (wordy preambles and closings). The
//! politeness markers the checker looks for are here too, so the styles and the checker agree.
use super::rng::WorldRng;
use super::tasks::Reply;

/// The wording of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// A polite opener and the short statement: what the checker likes best.
    Polite,
    /// The bare answer or statement with no politeness (sometimes a rude opener).
    Curt,
    /// One or two wordy preambles, the statement, a polite closing.
    Rambling,
}

impl Style {
    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Style::Polite => "polite",
            Style::Curt => "curt",
            Style::Rambling => "rambling",
        }
    }
}

/// Openers that make an answer polite; the canonical answer uses the first.
pub const POLITE_OPENERS: &[&str] = &["Sure!", "Of course!", "Glad to help!", "Certainly!"];
/// Any of these (case-insensitive) makes an answer polite, unless a rude marker is there too.
pub const POLITE_MARKERS: &[&str] =
    &["please", "sure", "of course", "happy to help", "glad", "thank", "hope this helps", "certainly"];
/// Any of these (case-insensitive) makes an answer impolite.
pub const RUDE_MARKERS: &[&str] = &["obviously", "duh", "whatever", "figure it out", "stupid", "as anyone knows"];

const RUDE_OPENERS: &[&str] = &["Obviously", "Duh,", "Whatever,", "As anyone knows,"];

// Openers, fillers and closings name no number, no table word (not even "happy") and no option letter, so
// they never change a judgement (the tests grade every styled demonstration).
const PREAMBLES: &[&str] = &[
    "Well, this is a question that a lot of people wonder about, so let me think it through carefully before I give my answer.",
    "Hmm, let me take a moment to consider this one step by step, because it is worth being careful here.",
    "That is a really interesting question, and I have thought about questions like this many times before.",
    "Let me see. There are several ways to approach this, and I want to make sure I explain my thinking.",
    "Good question! I will walk through my reasoning so that everything is clear.",
];
const CLOSINGS: &[&str] = &[
    "I hope this helps, and please let me know if you have any other questions!",
    "Thank you for asking, and feel free to ask me anything else.",
    "I am always glad to help with questions like this one.",
];

/// The canonical answer: `"Sure! "` and the statement.
pub fn canonical(reply: &Reply) -> String {
    format!("{} {}", POLITE_OPENERS[0], reply.statement)
}

/// `reply` worded in `style`, with the variation drawn from `rng`.
pub fn render(reply: &Reply, style: Style, rng: &mut WorldRng) -> String {
    match style {
        Style::Polite => format!("{} {}", rng.pick(POLITE_OPENERS), reply.statement),
        Style::Curt => match rng.below(3) {
            0 => reply.bare.clone(),
            1 => reply.statement.clone(),
            _ => format!("{} {}", rng.pick(RUDE_OPENERS), reply.bare),
        },
        Style::Rambling => {
            let mut s = rng.pick(PREAMBLES).to_string();
            if rng.chance(0.5) {
                s.push(' ');
                s.push_str(rng.pick::<&str>(PREAMBLES));
            }
            format!("{s} {} {}", reply.statement, rng.pick(CLOSINGS))
        }
    }
}
