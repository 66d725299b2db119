//! `rlhf pretrain --model bert`: masked-LM pretraining of a BERT encoder (being written).
use super::pretrain::PretrainArgs;
use rlhf::run::RunError;

/// Runs `rlhf pretrain --model bert`.
pub fn run(_args: &PretrainArgs) -> Result<(), RunError> {
    Err("--model bert: not wired yet".into())
}
