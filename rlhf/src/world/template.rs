//! Prompt templates with named slots: `"What is {a} plus {b}?"`. The same template fills a prompt and
//! reads one back, so a prompt's text alone (say, from a rankings file) is enough to recover its task.

/// Fills the `{name}` slots of `template` with `values`.
///
/// ```
/// use rlhf::world::template::{fill, read};
/// let t = "What is {a} plus {b}?";
/// let text = fill(t, &[("a", "12".into()), ("b", "30".into())]);
/// assert_eq!(text, "What is 12 plus 30?");
/// assert_eq!(read(t, &text).unwrap(), vec![("a", "12".to_string()), ("b", "30".to_string())]);
/// assert!(read(t, "What is 12 times 30?").is_none());
/// ```
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    for piece in pieces(template) {
        match piece {
            Piece::Literal(l) => out.push_str(l),
            Piece::Slot(name) => match values.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => out.push_str(v),
                None => panic!("template {template:?} has slot {{{name}}} with no value"),
            },
        }
    }
    out
}

/// Reads `text` against `template`: the slot values in template order, or `None` when the text does not
/// have the template's shape. A slot takes the shortest non-empty text before the next literal piece
/// (the last slot takes the rest).
pub fn read<'t>(template: &'t str, text: &str) -> Option<Vec<(&'t str, String)>> {
    let parts = pieces(template);
    let mut pos = 0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            Piece::Literal(l) => {
                if !text[pos..].starts_with(l) {
                    return None;
                }
                pos += l.len();
            }
            Piece::Slot(name) => {
                let end = match parts.get(i + 1) {
                    Some(Piece::Literal(next)) => pos + 1 + text.get(pos + 1..)?.find(next)?,
                    Some(Piece::Slot(_)) => panic!("template {template:?} has two adjacent slots"),
                    None => text.len(),
                };
                if end <= pos || end > text.len() {
                    return None;
                }
                out.push((name, text[pos..end].to_string()));
                pos = end;
            }
        }
        i += 1;
    }
    (pos == text.len()).then_some(out)
}

#[derive(Clone, Copy, Debug)]
enum Piece<'t> {
    Literal(&'t str),
    Slot(&'t str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        let close = open + rest[open..].find('}').expect("unclosed { in template");
        out.push(Piece::Slot(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_at_start_and_end() {
        let t = "{q} A. {a} B. {b}";
        let got = read(t, "Who? A. x y B. z").unwrap();
        assert_eq!(got, vec![("q", "Who?".into()), ("a", "x y".into()), ("b", "z".into())]);
        assert!(read(t, " A. x B. z").is_none()); // empty first slot
        assert!(read("Add {a}.", "Add 3. more").is_none()); // trailing text
    }
}
