//! The pretraining corpus: plain statements of the world's facts and worked examples of its skills, so a
//! tiny character-level model learns them in minutes. It states every table fact in turn and draws the
//! worked examples from the seed; it never contains prompt templates, so no split's prompt text is in it.
use super::rng::WorldRng;
use super::tables::{CAPITALS, CHOICE_FACTS, OPPOSITES, WORDS};
use super::tasks::{Arithmetic, Compare, Counting, Sorting, TaskKind};

/// About `chars` characters (it stops at the first line end past that) of world text, lines of a few
/// sentences each.
pub fn pretraining_corpus(seed: u64, chars: usize) -> String {
    let mut rng = WorldRng::derive(seed, "pretraining-corpus");
    let mut out = String::with_capacity(chars + 256);
    let mut fact_cursor = 0usize;
    while out.len() < chars {
        let sentences = 3 + rng.below(3);
        for s in 0..sentences {
            if s > 0 {
                out.push(' ');
            }
            out.push_str(&sentence(&mut rng, &mut fact_cursor));
        }
        out.push('\n');
    }
    out
}

fn sentence(rng: &mut WorldRng, fact_cursor: &mut usize) -> String {
    match rng.below(10) {
        // Table facts, in order so every one appears once per pass.
        0..=2 => {
            let total = CAPITALS.len() + 2 * OPPOSITES.len() + CHOICE_FACTS.len();
            let i = *fact_cursor % total;
            *fact_cursor += 1;
            if i < CAPITALS.len() {
                let (country, city) = CAPITALS[i];
                let forms = [format!("The capital of {country} is {city}."), format!("{city} is the capital of {country}.")];
                rng.pick(&forms).clone()
            } else if i < CAPITALS.len() + 2 * OPPOSITES.len() {
                let k = i - CAPITALS.len();
                let (a, b) = OPPOSITES[k / 2];
                let (x, y) = [(a, b), (b, a)][k % 2];
                format!("The opposite of {x} is {y}.")
            } else {
                let f = &CHOICE_FACTS[i - CAPITALS.len() - 2 * OPPOSITES.len()];
                format!("{} The answer is {}.", f.question, f.answer)
            }
        }
        3 | 4 => {
            let t = Arithmetic::generate(rng);
            let (op, word) = if t.subtract { ('-', "minus") } else { ('+', "plus") };
            if rng.chance(0.5) {
                format!("{} {op} {} = {}.", t.a, t.b, t.result())
            } else {
                format!("{} {word} {} is {}.", t.a, t.b, t.result())
            }
        }
        5 => {
            let t = Compare::generate(rng);
            let (big, small) = (t.a.max(t.b), t.a.min(t.b));
            if rng.chance(0.5) {
                format!("{big} is larger than {small}.")
            } else {
                format!("{small} is smaller than {big}.")
            }
        }
        6 => {
            let w = *rng.pick(WORDS);
            let r: String = w.chars().rev().collect();
            format!("{w} reversed is {r}.")
        }
        7 => {
            let w = *rng.pick(WORDS);
            let d: Vec<String> = w.chars().map(String::from).collect();
            format!("{w} is spelled {}.", d.join("-"))
        }
        8 => {
            let t = Counting::generate(rng);
            let n = t.count();
            let times = if n == 1 { "time" } else { "times" };
            format!("The letter {} appears {n} {times} in {}.", t.letter, t.word)
        }
        _ => {
            let t = Sorting::generate(rng);
            let list = |v: &[i64]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
            let order = if t.descending { "largest to smallest" } else { "smallest to largest" };
            format!("{} from {order} is {}.", list(&t.numbers), list(&t.sorted()))
        }
    }
}
