//! Finding an answer inside free text: integers, whole-word phrases and spelled-out letter runs, each with
//! its byte position so a checker can take the first or the last one.

/// The integers written in `text`, with their byte offsets. A `-` directly before the digits counts as a
/// sign only at the start of the text or after a space or `(` (so `12-3` is 12 and 3, `a -5` is -5).
/// Digits glued to letters (`x2`) are not numbers.
///
/// ```
/// use rlhf::world::parse::integers;
/// let found: Vec<i64> = integers("7 + 5 = 12, not -3 or x2.").into_iter().map(|(_, n)| n).collect();
/// assert_eq!(found, vec![7, 5, 12, -3]);
/// ```
pub fn integers(text: &str) -> Vec<(usize, i64)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i].is_ascii_alphabetic() {
                continue; // "2nd", "3x": not a bare number
            }
            let negative = start > 0 && b[start - 1] == b'-' && (start == 1 || matches!(b[start - 2], b' ' | b'('));
            let digits = &text[start..i];
            if digits.len() <= 15 {
                let n: i64 = digits.parse().expect("ascii digits");
                out.push(if negative { (start - 1, -n) } else { (start, n) });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Byte offsets where `phrase` occurs in `text` as whole words, ignoring ASCII case.
///
/// ```
/// use rlhf::world::parse::find_phrase;
/// assert_eq!(find_phrase("Paris, not Parisian. paris!", "Paris"), vec![0, 21]);
/// ```
pub fn find_phrase(text: &str, phrase: &str) -> Vec<usize> {
    let hay = text.to_ascii_lowercase();
    let needle = phrase.to_ascii_lowercase();
    let hb = hay.as_bytes();
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let mut from = 0;
    while let Some(p) = hay[from..].find(&needle) {
        let start = from + p;
        let end = start + needle.len();
        let left_ok = start == 0 || !hb[start - 1].is_ascii_alphanumeric();
        let right_ok = end == hb.len() || !hb[end].is_ascii_alphanumeric();
        if left_ok && right_ok {
            out.push(start);
        }
        from = start + 1;
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    out
}

/// The first position of `phrase` as whole words in `text`.
pub fn first_phrase(text: &str, phrase: &str) -> Option<usize> {
    find_phrase(text, phrase).first().copied()
}

/// Runs of single letters separated by `-`, `,` or spaces (`a-p-p-l-e`, `a p p l e`, `A, P, P`), lower-cased,
/// with at least two letters, in text order.
///
/// ```
/// use rlhf::world::parse::letter_runs;
/// assert_eq!(letter_runs("It is spelled c-a-t. A dog"), vec!["cat".to_string()]);
/// ```
pub fn letter_runs(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut run = String::new();
    let mut i = 0;
    let flush = |run: &mut String, out: &mut Vec<String>| {
        if run.len() >= 2 {
            out.push(std::mem::take(run));
        } else {
            run.clear();
        }
    };
    while i < b.len() {
        let c = b[i];
        let single = c.is_ascii_alphabetic()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && (i + 1 == b.len() || !b[i + 1].is_ascii_alphanumeric());
        if single {
            run.push(c.to_ascii_lowercase() as char);
            i += 1;
            // Separators between letters of one run.
            let mut j = i;
            while j < b.len() && matches!(b[j], b'-' | b',' | b' ') {
                j += 1;
            }
            if j == i {
                flush(&mut run, &mut out);
            }
            i = j;
            if i < b.len() && !b[i].is_ascii_alphabetic() {
                flush(&mut run, &mut out);
            }
        } else {
            if c.is_ascii_alphanumeric() || !matches!(c, b'-' | b',' | b' ') {
                flush(&mut run, &mut out);
            }
            i += 1;
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letter_runs_break_on_words_and_punctuation() {
        assert_eq!(letter_runs("a p p l e"), vec!["apple"]);
        assert_eq!(letter_runs("A, B, C. then x-y"), vec!["abc", "xy"]);
        assert_eq!(letter_runs("This is a word: d-o-g"), vec!["dog"]);
        assert!(letter_runs("no runs here").is_empty());
    }

    #[test]
    fn integers_and_signs() {
        let v: Vec<i64> = integers("(-4) 10-3 2nd 99").into_iter().map(|x| x.1).collect();
        assert_eq!(v, vec![-4, 10, 3, 99]);
    }
}
