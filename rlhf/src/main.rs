//! `rlhf`: the command-line front end of the training system.
//!
//! Run with no subcommand it does the main job on its embedded default.
use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(name = "rlhf", version, about = "A from-scratch ChatGPT training system: engine, GPT, BERT, SFT, reward model, PPO")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Show the engine working: a timed GEMM and a few tensor ops (the default for now).
    Demo(cli::demo::DemoArgs),
    /// Tokenizers: train a vocabulary, encode, decode, count tokens.
    Tokenize(cli::tokenize::TokenizeArgs),
    /// Sentence embeddings from a BERT folder: one text a line in, one JSON array a line out.
    Embed(cli::embed::EmbedArgs),
    /// The top-k tokens for each [MASK] of a text, from a BERT masked-LM folder.
    FillMask(cli::fill_mask::FillMaskArgs),
    /// GPT pretraining on a text file (run folder with metrics, chart, summary, checkpoints).
    Pretrain(cli::pretrain::PretrainArgs),
    /// Continue prompts with a GPT (KV cache, sampling), streaming tokens.
    Generate(cli::generate::GenerateArgs),
    /// Per-token log-probabilities of a text under a GPT as JSON (optionally parameter gradients).
    Score(cli::score::ScoreArgs),
}

fn main() {
    // Training frees and re-allocates the same activation buffers every step: keep them in the process.
    engine::allocator::retain_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::demo::run(&cli::demo::DemoArgs::default()).map_err(|e| e.to_string()),
        Some(Command::Demo(args)) => cli::demo::run(&args).map_err(|e| e.to_string()),
        Some(Command::Tokenize(args)) => cli::tokenize::run(&args).map_err(|e| e.to_string()),
        Some(Command::Pretrain(args)) => cli::pretrain::run(&args).map_err(|e| e.to_string()),
        Some(Command::Generate(args)) => cli::generate::run(&args).map_err(|e| e.to_string()),
        Some(Command::Score(args)) => cli::score::run(&args).map_err(|e| e.to_string()),
        Some(Command::Embed(args)) => cli::embed::run(&args).map_err(|e| e.to_string()),
        Some(Command::FillMask(args)) => cli::fill_mask::run(&args).map_err(|e| e.to_string()),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
