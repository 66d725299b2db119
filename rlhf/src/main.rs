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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::demo::run(&cli::demo::DemoArgs::default()),
        Some(Command::Demo(args)) => cli::demo::run(&args),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
