//! One module per subcommand.
pub mod demo;
pub mod tokenize;
pub mod embed;
pub mod fill_mask;
pub mod generate;
pub mod pretrain;
pub mod pretrain_bert;
pub mod score;
