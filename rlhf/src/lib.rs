//! The `rlhf` library: the parts of the pipeline that the command-line tool and the tests share.
//!
//! | module | what |
//! | --- | --- |
//! | [`world`] | the built-in instruction world: seeded task generator, pretraining corpus, SFT demonstrations, held-out prompts, the checker and the scripted ranking |
//! | [`data`] | SFT and preference data formats (JSONL, self-instruct, OASST, HH-RLHF), the rankings file, the chat template |
//! | [`labeling`] | collecting rankings: the labeler interface (scripted, a person at a terminal, datasets), sampling K answers and appending rankings resumably |
//! | [`reward`] | the reward model's core: the C(K,2) ranking loss, K-wise batching read at the last real token, normalisation, pairwise accuracy and Elo |
//! | [`sample`] | answering prompts with a chat model (batched, KV cache, stops at `<|end|>`): SFT evaluation, K answers to rank, rollouts |
//! | [`run`] | the run folder every training stage writes: metrics JSONL, chart, summary, progress bar, Ctrl-C, token files |
//! | [`sft`] | supervised fine-tuning: SFT data to masked, padded batches, the training step, the validation loss on responses |
//! | [`evaluate`] | answering held-out world prompts and grading them with the checker (before/after figures of every stage) |
//! | [`report`] | the pipeline's report: head-to-head win rates on held-out prompts, the Markdown page with every stage's charts |
//! | [`rl`] | the math of policy gradient and PPO: log-probs, KL estimators, per-token rewards, GAE, clipped losses, the KL controller, REINFORCE |
pub mod data;
pub mod evaluate;
pub mod labeling;
pub mod report;
pub mod reward;
pub mod reward_audit;
pub mod rl;
pub mod run;
pub mod sample;
pub mod sft;
pub mod world;
