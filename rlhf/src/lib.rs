//! The `rlhf` library: the parts of the pipeline that the command-line tool and the tests share.
//!
//! | module | what |
//! | --- | --- |
//! | [`world`] | the built-in instruction world: seeded task generator, pretraining corpus, SFT demonstrations, held-out prompts, the checker and the scripted ranking |
//! | [`data`] | SFT and preference data formats (JSONL, self-instruct, OASST, HH-RLHF), the rankings file, the chat template |
pub mod data;
pub mod rl;
pub mod world;
