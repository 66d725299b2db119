//! Data formats: SFT data (JSONL in two forms, Self-Instruct, OASST), preference data (HH-RLHF pairs,
//! OASST K-wise rankings, pairwise JSONL), the rankings file the labelers write, and the chat template.
//!
//! Every loader reports a bad line as `FILE:LINE: what is wrong` and returns nothing unless the whole file
//! is good, so a run stops before it trains.
//!
//! | file | what |
//! | --- | --- |
//! | `error.rs` | [`DataError`], [`LineError`] |
//! | `conversation.rs` | [`Conversation`], [`Message`], [`Role`] and their shape rules |
//! | `sft_jsonl.rs` | `{"prompt","response"}` and `{"messages":[...]}` JSONL |
//! | `self_instruct.rs` | the Self-Instruct seed tasks |
//! | `oasst.rs` | OASST trees: best-ranked paths for SFT, sibling rankings for preferences |
//! | `hh_rlhf.rs` | HH-RLHF `{"chosen","rejected"}` dialogues |
//! | `preference.rs` | [`PreferencePair`], [`KwiseRanking`], pairwise JSONL |
//! | `rankings.rs` | the rankings JSONL record and its append-safe, resumable file |
//! | `chat_template.rs` | [`ChatTokenizer`]: conversation to ids and loss mask, truncation |
//! | `sft_examples.rs` | conversations to training examples for a block size, with the skipped ones |
//! | `shared.rs` | where the shared data folder is |
pub mod chat_template;
pub mod conversation;
pub mod error;
pub mod hh_rlhf;
pub mod oasst;
pub mod preference;
pub mod rankings;
pub mod self_instruct;
pub mod sft_examples;
pub mod sft_jsonl;
pub mod shared;

pub use chat_template::{ChatError, ChatTokenizer, RenderedChat};
pub use conversation::{Conversation, Message, Role};
pub use error::{DataError, LineError};
pub use hh_rlhf::{hh_prompt_conversation, load_hh_rlhf, split_hh_dialogue, HhPairs};
pub use oasst::{load_oasst_trees, oasst_rankings, oasst_sft_conversations, OasstMessage, OasstTree};
pub use preference::{load_pairs_jsonl, KwiseRanking, PreferencePair};
pub use rankings::{load_rankings, RankingRecord, RankingsFile};
pub use self_instruct::{load_self_instruct, self_instruct_prompt};
pub use sft_examples::{build_sft_examples, SftExamples};
pub use sft_jsonl::{load_sft_jsonl, parse_sft_jsonl, parse_sft_line, write_sft_jsonl};

use crate::world::Demo;

/// World demonstrations as SFT conversations (one user turn, one assistant turn each).
pub fn demos_to_conversations(demos: &[Demo]) -> Vec<Conversation> {
    demos.iter().map(|d| Conversation::from_prompt_response(&d.prompt, &d.response)).collect()
}
