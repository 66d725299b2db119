//! The reward model, model-agnostic core: a trunk with a scalar head read at the last real token, trained
//! with InstructGPT's ranking loss on K-wise batches, normalised so SFT answers score 0, and evaluated by
//! held-out pairwise accuracy beside Elo ratings from the same rankings.
//!
//! | file | what |
//! | --- | --- |
//! | `loss.rs` | [`Ranking`] (with ties), [`ranking_loss`]: `-1/|pairs| sum log sigmoid(r_better - r_worse)`, and its f64 oracle |
//! | `batching.rs` | [`pack_kwise`]: K answers of a prompt in one left- or right-padded batch; [`last_token_values`]; [`ForwardPasses`] saved |
//! | `normalize.rs` | [`normalization_bias`]: SFT answers to mean 0 |
//! | `eval.rs` | [`pairwise_accuracy`], [`elo_ratings`], [`bradley_terry`], [`compare_orderings`] (Spearman, Kendall) |
//! | `trunk.rs` | [`RewardTrunk`] (BERT implements it, read at the last token), [`RewardModel`] |
//! | `gpt_trunk.rs` | the GPT decoder as a trunk (the SFT model without its LM head; left padding allowed) |
//! | `bert_trunk.rs` | [`BertRewardTrunk`]: the BERT encoder read at `[CLS]` through the pooler, as `BertForSequenceClassification` |
//! | `folder.rs` | [`GptRewardModel`] folders in `GPT2ForSequenceClassification` layout; [`reward_model_from_policy`] |
//! | `bert_folder.rs` | [`BertRewardModel`] folders in `BertForSequenceClassification` layout, with `vocab.txt` |
//! | `bert_examples.rs` | labeled rankings to `[CLS] prompt [SEP] answer [SEP]` rows with the WordPiece vocabulary |
//! | `kind.rs` | [`kind::model_kind`] (GPT or BERT, from `config.json`); [`kind::RewardBase`], what training needs of a base |
//! | `gpt_base.rs`, `bert_base.rs` | [`kind::RewardBase`] for the SFT GPT and for a BERT encoder |
//! | `base.rs` | loading the SFT chat model a stage starts from; copying tokenizer files |
//! | `examples.rs` | labeled rankings to token rows (`prompt ++ answer ++ <|end|>`), unencodable ones counted; the held-out split by prompt |
//! | `score.rs` | [`score_examples`], [`RewardScorer`]: batched scoring without gradients of either kind (`rlhf reward score`, PPO) |
//! | `report.rs` | held-out loss and accuracy, Elo of answer kinds beside the model's scores, per-prompt Kendall, K-wise vs pairwise cost |
//! | `chart.rs` | `accuracy.svg` from the metrics log |
//! | `train.rs` | [`train_reward_model`]: `rlhf reward train` as a library call (run folder, exact resume, normalisation, report) |
pub mod base;
pub mod batching;
pub mod bert_base;
pub mod bert_examples;
pub mod bert_folder;
pub mod bert_trunk;
pub mod chart;
pub mod eval;
pub mod examples;
pub mod folder;
pub mod gpt_base;
pub mod gpt_trunk;
pub mod kind;
pub mod loss;
pub mod normalize;
pub mod report;
pub mod score;
pub mod train;
pub mod trunk;

pub use bert_folder::{load_bert_reward_dir, save_bert_reward_dir};
pub use bert_trunk::{BertRewardModel, BertRewardTrunk};
pub use batching::{last_token_values, pack_kwise, ForwardPasses, KwiseBatch, KwiseExample, Padding};
pub use folder::{load_reward_dir, reward_model_from_policy, save_reward_dir, GptRewardModel};
pub use eval::{
    bradley_terry, compare_orderings, elo_games, elo_ratings, kendall_tau, pairwise_accuracy, spearman, EloOptions, Game,
    OrderingComparison, PairwiseAccuracy,
};
pub use loss::{ranking_loss, ranking_loss_reference, ranking_loss_with, PairIndex, RankedGroup, Ranking};
pub use normalize::{apply_bias, normalization_bias};
pub use score::{score_examples, RewardScorer};
pub use train::{train_reward_model, RewardFigures, RewardTrainOptions, RewardTrainReport};
pub use trunk::{RewardModel, RewardTrunk};
