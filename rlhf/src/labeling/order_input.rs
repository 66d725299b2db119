//! Reading an order typed by a person: answer numbers from 1, best first, separated by spaces, commas or
//! `>`; tied answers joined by `=`. `2 1 4 3`, `2>1>4>3` and `2, 1, 4, 3` are the same strict order;
//! `2 1=4 3` ties answers 1 and 4. Every answer must appear exactly once.
use crate::reward::Ranking;

/// Parses `text` as an order of `k` answers (numbered from 1) into a ranking of local indices `0..k`.
///
/// ```
/// use rlhf::labeling::parse_order;
/// assert_eq!(parse_order("2 1 4 3", 4).unwrap().tiers, vec![vec![1], vec![0], vec![3], vec![2]]);
/// assert_eq!(parse_order("2 1 = 4, 3", 4).unwrap().tiers, vec![vec![1], vec![0, 3], vec![2]]);
/// assert!(parse_order("2 1 4", 4).unwrap_err().contains("missing 3"));
/// assert!(parse_order("2 2 1 3", 3).unwrap_err().contains("twice"));
/// ```
pub fn parse_order(text: &str, k: usize) -> Result<Ranking, String> {
    // Spaces around `=` belong to the tie, not between tiers.
    let mut joined = String::with_capacity(text.len());
    for part in text.split('=') {
        if !joined.is_empty() {
            joined.push('=');
        }
        joined.push_str(part.trim());
    }
    let mut tiers = Vec::new();
    let mut seen = vec![false; k];
    for token in joined.split(|c: char| c.is_whitespace() || c == ',' || c == '>').filter(|t| !t.is_empty()) {
        let mut tier = Vec::new();
        for item in token.split('=') {
            let n: usize = item.parse().map_err(|_| format!("{item:?} is not an answer number (1 to {k})"))?;
            if n == 0 || n > k {
                return Err(format!("answer {n} does not exist: the answers are numbered 1 to {k}"));
            }
            if std::mem::replace(&mut seen[n - 1], true) {
                return Err(format!("answer {n} appears twice"));
            }
            tier.push(n - 1);
        }
        tiers.push(tier);
    }
    let missing: Vec<String> = (0..k).filter(|&i| !seen[i]).map(|i| (i + 1).to_string()).collect();
    if !missing.is_empty() {
        return Err(format!("missing {}: give every answer a place (ties with `=`)", missing.join(", ")));
    }
    Ok(Ranking::with_ties(tiers))
}
