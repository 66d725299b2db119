//! From labeled rankings to token ids for a BERT reward model: each answer is read as the sentence pair
//! `[CLS] prompt-text [SEP] answer-text [SEP]`, tokenised with the model's WordPiece vocabulary (no chat
//! template: BERT never saw one). A multi-turn prompt is written as one `role: text` line per turn. Text is
//! encoded as text: a `[SEP]` typed inside a prompt is not a separator. Characters outside the vocabulary
//! become `[UNK]`, so nothing is left out as unencodable; rankings with all answers tied still are.
use models::tokenizer::WordPiece;

use crate::data::{Conversation, Role};
use crate::labeling::LabeledRanking;

use super::batching::KwiseExample;
use super::examples::EncodedRankings;

/// The prompt as BERT reads it: a lone user turn as it is, a longer conversation one `role: text` line per
/// turn.
///
/// ```
/// use rlhf::data::{Conversation, Message, Role};
/// use rlhf::reward::bert_examples::prompt_text;
/// assert_eq!(prompt_text(&Conversation::from_prompt("What is 2 plus 3?")), "What is 2 plus 3?");
/// let c = Conversation::new(vec![
///     Message::new(Role::User, "Hi"), Message::new(Role::Assistant, "Hello!"), Message::new(Role::User, "Spell cat."),
/// ]);
/// assert_eq!(prompt_text(&c), "user: Hi\nassistant: Hello!\nuser: Spell cat.");
/// ```
pub fn prompt_text(conversation: &Conversation) -> String {
    match conversation.messages.as_slice() {
        [only] if only.role == Role::User => only.content.clone(),
        turns => turns.iter().map(|m| format!("{}: {}", m.role.name(), m.content)).collect::<Vec<_>>().join("\n"),
    }
}

/// Encodes prompt/answer pairs for a BERT reward model with a vocabulary's `[CLS]` and `[SEP]`.
#[derive(Clone, Debug)]
pub struct BertRowEncoder {
    /// The vocabulary.
    pub wp: WordPiece,
    cls: u32,
    sep: u32,
}

impl BertRowEncoder {
    /// An encoder over `wp`; an error when the vocabulary lacks `[CLS]` or `[SEP]`.
    pub fn new(wp: WordPiece) -> Result<BertRowEncoder, String> {
        let id = |name: &str| wp.token_id(name).ok_or_else(|| format!("the BERT vocabulary has no {name} token"));
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        Ok(BertRowEncoder { wp, cls, sep })
    }

    /// The `[PAD]` id (0 when the vocabulary has none: padding is masked anyway).
    pub fn pad_id(&self) -> u32 {
        self.wp.token_id("[PAD]").unwrap_or(0)
    }

    /// One prompt with its answers as ids: `[CLS] prompt [SEP]` and, per answer, `answer [SEP]`, each row at
    /// most `max_len` (at least 4) tokens. When a row is too long, the answers keep their first tokens
    /// (at least half the room when the prompt is long) and the prompt its last (the question, the latest
    /// turn); `[CLS]` always stays in front, where the score is read.
    ///
    /// ```
    /// use models::bert::char_vocab::char_wordpiece;
    /// use rlhf::data::Conversation;
    /// use rlhf::reward::bert_examples::BertRowEncoder;
    /// let enc = BertRowEncoder::new(char_wordpiece("Add 2 and 3. Sure! 5")?).unwrap();
    /// let (p, a) = enc.encode(&Conversation::from_prompt("Add 2 and 3."), &["Sure! 5".to_string()], 64);
    /// assert_eq!(enc.wp.decode(&p).unwrap(), "[CLS] Add 2 and 3 . [SEP]"); // one token a character
    /// assert_eq!((p.len(), a[0].len()), (11, 7));
    /// assert_eq!(enc.wp.decode(&a[0]).unwrap(), "Sure ! 5 [SEP]");
    /// let (p, a) = enc.encode(&Conversation::from_prompt("Add 2 and 3."), &["Sure! 5".to_string()], 8);
    /// assert_eq!((p.len() + a[0].len(), p[0]), (8, enc.wp.token_id("[CLS]").unwrap()));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn encode(&self, conversation: &Conversation, answers: &[String], max_len: usize) -> (Vec<u32>, Vec<Vec<u32>>) {
        let budget = max_len.max(4) - 3; // [CLS], [SEP], [SEP]
        let prompt = self.wp.encode_ordinary(&prompt_text(conversation));
        let answers: Vec<Vec<u32>> = answers.iter().map(|a| self.wp.encode_ordinary(a)).collect();
        let longest = answers.iter().map(Vec::len).max().unwrap_or(0);
        // One prompt for all K answers: cut it for the longest answer, which keeps at least half the room.
        let answer_room = longest.min(budget.saturating_sub(prompt.len()).max(budget / 2));
        let prompt_room = budget - answer_room;
        let mut p = vec![self.cls];
        p.extend_from_slice(&prompt[prompt.len().saturating_sub(prompt_room)..]);
        p.push(self.sep);
        let room = budget + 3 - p.len() - 1; // what the answer may take beside this prompt, before its [SEP]
        let answers = answers
            .into_iter()
            .map(|mut a| {
                a.truncate(room);
                a.push(self.sep);
                a
            })
            .collect();
        (p, answers)
    }

    /// Encodes `records` for a model of context `max_len` (see [`super::examples::encode_rankings`], the
    /// GPT version, for what the result holds).
    pub fn encode_rankings(&self, records: &[LabeledRanking], max_len: usize) -> EncodedRankings {
        let mut out = EncodedRankings::default();
        for (i, r) in records.iter().enumerate() {
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
            let (prompt, answers) = self.encode(&r.conversation(), &r.responses, max_len);
            out.examples.push(KwiseExample { prompt, answers, ranking });
            out.source.push(i);
        }
        out
    }
}
