//! From labeled rankings to token ids for the reward model: each answer is read as the model will see it
//! in PPO, `prompt (chat template, ending in <|assistant|>) ++ answer ++ <|end|>`, so the reward sits on
//! the end-of-turn token. Rankings whose text the tokenizer cannot encode (a character vocabulary facing
//! real data) are skipped and counted, as are rankings with no pair (all answers tied); a held-out part
//! is split off by a hash of each prompt, so a prompt never lands on both sides.
use models::tokenizer::Tokenizer;

use crate::data::{ChatError, ChatTokenizer, Conversation};
use crate::labeling::LabeledRanking;
use crate::world::rng::hash_str;

use super::batching::KwiseExample;

/// The ids of one answer to score: (prompt ids ending in `<|assistant|>`, answer ids ending in `<|end|>`).
/// A prompt too long for `max_len` keeps its latest exchanges (older turns are dropped whole); if the
/// last exchange alone is too long, the packer cuts the row from the left, keeping the answer's end.
///
/// ```
/// use rlhf::data::{ChatTokenizer, Conversation};
/// use rlhf::reward::examples::reward_row;
/// let tok = ChatTokenizer::for_world();
/// let (prompt, answer) = reward_row(&tok, &Conversation::from_prompt("Hi"), "Hello!", 64).unwrap();
/// assert_eq!(tok.decode(&prompt).unwrap(), "<|user|>Hi<|end|><|assistant|>");
/// assert_eq!(tok.decode(&answer).unwrap(), "Hello!<|end|>");
/// ```
pub fn reward_row(tok: &ChatTokenizer, conversation: &Conversation, answer: &str, max_len: usize) -> Result<(Vec<u32>, Vec<u32>), ChatError> {
    let mut answer_ids = tok.encode(answer)?;
    answer_ids.push(tok.end_id());
    let room = max_len.saturating_sub(answer_ids.len().min(max_len / 2)).max(1);
    let prompt = match tok.render_prompt(conversation, room) {
        Ok(p) => p,
        Err(ChatError::TooLong { .. }) => tok.render_prompt(conversation, usize::MAX)?,
        Err(e) => return Err(e),
    };
    Ok((prompt, answer_ids))
}

/// Rewrites `text` in printable ASCII and newlines, the characters of the built-in world's vocabulary:
/// typographic quotes, dashes, ellipses and spaces become their ASCII forms, tabs a space, and any other
/// character `?`. Lossy, for trying real preference data on a model with the world's character
/// vocabulary instead of leaving out every text with one curly apostrophe.
///
/// ```
/// use rlhf::reward::examples::fold_to_world_chars;
/// assert_eq!(fold_to_world_chars("It’s “fine” — really… café"), "It's \"fine\" - really... caf?");
/// ```
pub fn fold_to_world_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' | '\n' => out.push(c),
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => out.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{2026}' => out.push_str("..."),
            '\t' | '\u{00A0}' | '\u{2000}'..='\u{200B}' | '\u{202F}' => out.push(' '),
            '\r' => {}
            _ => out.push('?'),
        }
    }
    out
}

/// A copy of `record` with every text folded by [`fold_to_world_chars`].
pub fn fold_record(record: &LabeledRanking) -> LabeledRanking {
    let mut r = record.clone();
    r.prompt = fold_to_world_chars(&r.prompt);
    r.responses = r.responses.iter().map(|t| fold_to_world_chars(t)).collect();
    if let Some(m) = &mut r.messages {
        for msg in m.iter_mut() {
            msg.content = fold_to_world_chars(&msg.content);
        }
    }
    r
}

/// Labeled rankings as the reward model's examples, with the ones left out.
#[derive(Clone, Debug, Default)]
pub struct EncodedRankings {
    /// One example per usable ranking.
    pub examples: Vec<KwiseExample>,
    /// The ranking each example came from (index into the input).
    pub source: Vec<usize>,
    /// Rankings left out because the tokenizer could not encode them: (index, reason).
    pub unencodable: Vec<(usize, String)>,
    /// Rankings left out because all their answers are tied (no pair to learn from).
    pub all_tied: usize,
}

/// Encodes `records` for a model of context `max_len`.
pub fn encode_rankings(tok: &ChatTokenizer, records: &[LabeledRanking], max_len: usize) -> EncodedRankings {
    let mut out = EncodedRankings::default();
    'records: for (i, r) in records.iter().enumerate() {
        let ranking = match r.to_ranking() {
            Ok(x) => x,
            Err(e) => {
                out.unencodable.push((i, e));
                continue;
            }
        };
        if ranking.pairs().is_empty() {
            out.all_tied += 1;
            continue;
        }
        let conversation = r.conversation();
        let mut prompt = Vec::new();
        let mut answers = Vec::with_capacity(r.responses.len());
        for resp in &r.responses {
            match reward_row(tok, &conversation, resp, max_len) {
                Ok((p, a)) => {
                    prompt = p;
                    answers.push(a);
                }
                Err(e) => {
                    out.unencodable.push((i, e.to_string()));
                    continue 'records;
                }
            }
        }
        out.examples.push(KwiseExample { prompt, answers, ranking });
        out.source.push(i);
    }
    out
}

/// Splits example indices `0..keys.len()` into (train, held-out): the `ceil(fraction * n)` examples with
/// the smallest hash of their key (prompt) are held out (at least one, and at least one left to train).
/// Examples sharing a key land on the same side.
///
/// ```
/// use rlhf::reward::examples::split_held_out;
/// let keys: Vec<String> = (0..20).map(|i| format!("prompt {i}")).collect();
/// let (train, held) = split_held_out(&keys, 0.2);
/// assert_eq!((train.len(), held.len()), (16, 4));
/// assert_eq!(split_held_out(&keys, 0.2), (train, held)); // the same split every time
/// ```
pub fn split_held_out(keys: &[String], fraction: f64) -> (Vec<usize>, Vec<usize>) {
    let n = keys.len();
    if n < 2 {
        return ((0..n).collect(), Vec::new());
    }
    let want = ((fraction * n as f64).ceil() as usize).clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (hash_str(&keys[i]), i));
    let mut per_key: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for k in keys {
        *per_key.entry(k.as_str()).or_default() += 1;
    }
    // Hold out whole keys, in hash order, until `want` examples are held out.
    let mut held_keys = std::collections::HashSet::new();
    let mut held_count = 0;
    for &i in &order {
        if held_count >= want {
            break;
        }
        if held_keys.insert(keys[i].as_str()) {
            held_count += per_key[keys[i].as_str()];
        }
    }
    let (held, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| held_keys.contains(keys[i].as_str()));
    (train, held)
}
