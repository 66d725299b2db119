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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::demo::run(&cli::demo::DemoArgs::default()).map_err(|e| e.to_string()),
        Some(Command::Demo(args)) => cli::demo::run(&args).map_err(|e| e.to_string()),
        Some(Command::Tokenize(args)) => cli::tokenize::run(&args).map_err(|e| e.to_string()),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}