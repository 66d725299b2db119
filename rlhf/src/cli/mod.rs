//! One module per subcommand.
pub mod chat;
pub mod demo;
pub mod tokenize;
pub mod embed;
pub mod eval;
pub mod fill_mask;
pub mod generate;
pub mod pretrain;
pub mod pretrain_bert;
pub mod rank;
pub mod reward;
pub mod score;
pub mod pg;
pub mod rl_run_args;
pub mod pipeline;
pub mod ppo;
pub mod sft;
