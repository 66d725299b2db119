//! Conversations to SFT training examples: rendered with the chat template, truncated to the block, the
//! ones that cannot fit set aside with their reason, and the shift to (inputs, targets, target mask).
use super::chat_template::{ChatError, ChatTokenizer, RenderedChat};
use super::conversation::Conversation;

/// The rendered examples and the conversations that could not be rendered.
#[derive(Debug, Default)]
pub struct SftExamples {
    /// One per usable conversation, at most `block_size + 1` tokens each.
    pub examples: Vec<RenderedChat>,
    /// (index into the input, why) for each conversation left out (too long, or a character the tokenizer
    /// lacks).
    pub skipped: Vec<(usize, ChatError)>,
    /// How many kept examples lost old turns to truncation.
    pub truncated: usize,
}

/// Renders `conversations` for a model with context `block_size`: each example holds at most
/// `block_size + 1` tokens, since training feeds the first `n - 1` and predicts the last `n - 1`.
///
/// ```
/// use rlhf::data::{sft_examples::build_sft_examples, ChatTokenizer, Conversation};
/// let tok = ChatTokenizer::for_world();
/// let convs = [Conversation::from_prompt_response("What is 2 plus 3?", "Sure! 2 + 3 = 5."), Conversation::from_prompt_response(&"x".repeat(100), "y")];
/// let built = build_sft_examples(&tok, &convs, 64);
/// assert_eq!(built.examples.len(), 1);
/// assert_eq!(built.skipped[0].0, 1); // the second one cannot fit
/// let (inputs, targets, mask) = built.examples[0].training_pair();
/// assert_eq!((inputs.len(), targets.len(), mask.len()), (36, 36, 36)); // 37 tokens rendered
/// ```
pub fn build_sft_examples(tok: &ChatTokenizer, conversations: &[Conversation], block_size: usize) -> SftExamples {
    let mut out = SftExamples::default();
    for (i, c) in conversations.iter().enumerate() {
        match tok.render_truncated(c, block_size + 1) {
            Ok(r) => {
                out.truncated += usize::from(r.dropped_messages > 0);
                out.examples.push(r);
            }
            Err(e) => out.skipped.push((i, e)),
        }
    }
    out
}

impl RenderedChat {
    /// The shifted training pair: inputs `ids[..n-1]`, targets `ids[1..]`, and the target mask
    /// `loss_mask[1..]` (1 where the target is an assistant token). Empty for fewer than two tokens.
    pub fn training_pair(&self) -> (&[u32], &[u32], &[u8]) {
        let n = self.ids.len();
        if n < 2 {
            return (&[], &[], &[]);
        }
        (&self.ids[..n - 1], &self.ids[1..], &self.loss_mask[1..])
    }
}
