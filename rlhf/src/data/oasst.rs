//! OpenAssistant conversation trees (`preferences/oasst_en_trees.split_train.jsonl`).
//!
//! - **SFT**: one conversation per tree, following at each step the best-ranked reply (rank 0; a reply
//!   without a rank only when no sibling has one).
//! - **Preferences**: every group of two or more ranked sibling assistant replies is a K-wise ranking
//!   (lower rank is better) of the answers to the conversation above them; its pairs are every sibling pair
//!   with rank a < rank b.
//!
//! Synthetic messages (`"synthetic": true`, written by a model) and deleted ones are dropped with their whole
//! subtree unless `keep_synthetic` is set.
use super::conversation::{Conversation, Message, Role};
use super::error::{jsonl_lines, read_to_string, DataError, LineErrors};
use super::preference::KwiseRanking;
use serde::Deserialize;
use std::path::Path;

/// One message of a tree and its replies.
#[derive(Clone, Debug, Deserialize)]
pub struct OasstMessage {
    pub text: String,
    /// `"prompter"` or `"assistant"`.
    pub role: String,
    /// 0 = best among its siblings; `None` when unranked.
    #[serde(default)]
    pub rank: Option<u32>,
    #[serde(default)]
    pub synthetic: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub replies: Vec<OasstMessage>,
}

/// One conversation tree.
#[derive(Clone, Debug, Deserialize)]
pub struct OasstTree {
    pub message_tree_id: String,
    /// The first user message.
    pub prompt: OasstMessage,
}

impl OasstMessage {
    fn role(&self) -> Option<Role> {
        match self.role.as_str() {
            "prompter" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
    fn usable(&self, keep_synthetic: bool) -> bool {
        !self.deleted && (keep_synthetic || !self.synthetic) && self.role().is_some()
    }
}

/// Loads the trees; every bad line is reported with its number.
pub fn load_oasst_trees(path: impl AsRef<Path>) -> Result<Vec<OasstTree>, DataError> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    for (n, line) in jsonl_lines(&text) {
        match serde_json::from_str::<OasstTree>(line) {
            Ok(t) => out.push(t),
            Err(e) => errors.push(path, n, format!("expected an OASST tree {{\"message_tree_id\", \"prompt\": {{...}}}}: {e}")),
        }
    }
    errors.finish(out)
}

/// The SFT conversation of each tree (the best-ranked path), ending with an assistant turn. Trees whose
/// first message is dropped, or with no usable assistant reply, give none.
pub fn oasst_sft_conversations(trees: &[OasstTree], keep_synthetic: bool) -> Vec<Conversation> {
    let mut out = Vec::new();
    for tree in trees {
        let mut node = &tree.prompt;
        if !node.usable(keep_synthetic) || node.role() != Some(Role::User) {
            continue;
        }
        let mut messages = vec![Message::new(Role::User, node.text.trim())];
        loop {
            let want = if node.role() == Some(Role::User) { Role::Assistant } else { Role::User };
            let best = node
                .replies
                .iter()
                .filter(|r| r.usable(keep_synthetic) && r.role() == Some(want) && !r.text.trim().is_empty())
                .min_by_key(|r| r.rank.unwrap_or(u32::MAX));
            let Some(next) = best else { break };
            messages.push(Message::new(want, next.text.trim()));
            node = next;
        }
        while messages.last().map(|m| m.role) == Some(Role::User) {
            messages.pop();
        }
        let c = Conversation::new(messages);
        if c.validate_for_training().is_ok() {
            out.push(c);
        }
    }
    out
}

/// Every group of at least two ranked sibling assistant replies, as a K-wise ranking (best first) of the
/// answers to the conversation above them. Ranks never tie within a group in the shared file, so
/// [`KwiseRanking::pairs`] gives exactly the pairs with rank a < rank b (equal ranks would keep file order).
pub fn oasst_rankings(trees: &[OasstTree], keep_synthetic: bool) -> Vec<KwiseRanking> {
    let mut out = Vec::new();
    for tree in trees {
        if tree.prompt.usable(keep_synthetic) && tree.prompt.role() == Some(Role::User) {
            let mut history = Vec::new();
            walk(&tree.prompt, &mut history, keep_synthetic, &mut out);
        }
    }
    out
}

fn walk(node: &OasstMessage, history: &mut Vec<Message>, keep_synthetic: bool, out: &mut Vec<KwiseRanking>) {
    let role = node.role().expect("usable nodes have a role");
    history.push(Message::new(role, node.text.trim()));
    let usable: Vec<&OasstMessage> = node.replies.iter().filter(|r| r.usable(keep_synthetic)).collect();
    if role == Role::User {
        let mut ranked: Vec<&OasstMessage> =
            usable.iter().copied().filter(|r| r.role() == Some(Role::Assistant) && r.rank.is_some()).collect();
        if ranked.len() >= 2 {
            ranked.sort_by_key(|r| r.rank);
            out.push(KwiseRanking {
                prompt: Conversation::new(history.clone()),
                responses: ranked.iter().map(|r| r.text.trim().to_string()).collect(),
                ranking: (0..ranked.len()).collect(),
            });
        }
    }
    for r in usable {
        // Only well-formed alternation continues the history.
        if r.role() != Some(role) {
            walk(r, history, keep_synthetic, out);
        }
    }
    history.pop();
}
