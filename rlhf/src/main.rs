//! `rlhf`: the command-line front end of the training system.
//!
//! Run with no subcommand it does the main job on its embedded default: `rlhf pipeline` on the built-in
//! world (pretrain, SFT, rankings, reward model, policy gradient, PPO, evaluation, report) into
//! `runs/pipeline`.
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
    /// Show the engine working: a timed GEMM and a few tensor ops.
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
    /// Supervised fine-tuning on demonstrations (default: the built-in world's), scored before and after.
    Sft(cli::sft::SftArgs),
    /// Talk to a chat model: multi-turn, streaming, /reset and /system; plain text when piped.
    Chat(cli::chat::ChatArgs),
    /// PPO with a KL penalty against a reward model, from the SFT model (RLHF step 3).
    Ppo(cli::ppo::PpoArgs),
    /// Policy gradient (REINFORCE with a running-mean baseline) against a reward model: PPO's baseline.
    Pg(cli::pg::PgArgs),
    /// The whole system on the built-in world: pretrain, SFT, rank, reward model, PG, PPO, evaluation, report.
    Pipeline(cli::pipeline::PipelineArgs),
    /// Grade a chat model's answers to the built-in world's held-out prompts (the pipeline's evaluation).
    Eval(cli::eval::EvalArgs),
    /// Sample K answers per prompt from the SFT model and have them ranked (scripted, human, or a dataset), resumably.
    Rank(cli::rank::RankArgs),
    /// The reward model: `train` on rankings, `score` prompt/answer pairs.
    Reward(cli::reward::RewardArgs),
}

/// `rlhf` with no subcommand: the pipeline with every option at its default.
#[derive(Parser)]
struct DefaultPipeline {
    #[command(flatten)]
    args: cli::pipeline::PipelineArgs,
}

fn main() {
    // Training frees and re-allocates the same activation buffers every step: keep them in the process.
    engine::allocator::retain_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::pipeline::run(&DefaultPipeline::parse_from(["rlhf"]).args).map_err(|e| e.to_string()),
        Some(Command::Demo(args)) => cli::demo::run(&args).map_err(|e| e.to_string()),
        Some(Command::Tokenize(args)) => cli::tokenize::run(&args).map_err(|e| e.to_string()),
        Some(Command::Pretrain(args)) => cli::pretrain::run(&args).map_err(|e| e.to_string()),
        Some(Command::Generate(args)) => cli::generate::run(&args).map_err(|e| e.to_string()),
        Some(Command::Score(args)) => cli::score::run(&args).map_err(|e| e.to_string()),
        Some(Command::Sft(args)) => cli::sft::run(&args).map_err(|e| e.to_string()),
        Some(Command::Chat(args)) => cli::chat::run(&args).map_err(|e| e.to_string()),
        Some(Command::Ppo(args)) => cli::ppo::run(&args).map_err(|e| e.to_string()),
        Some(Command::Pg(args)) => cli::pg::run(&args).map_err(|e| e.to_string()),
        Some(Command::Pipeline(args)) => cli::pipeline::run(&args).map_err(|e| e.to_string()),
        Some(Command::Eval(args)) => cli::eval::run(&args).map_err(|e| e.to_string()),
        Some(Command::Rank(args)) => cli::rank::run(&args).map_err(|e| e.to_string()),
        Some(Command::Reward(args)) => cli::reward::run(&args).map_err(|e| e.to_string()),
        Some(Command::Embed(args)) => cli::embed::run(&args).map_err(|e| e.to_string()),
        Some(Command::FillMask(args)) => cli::fill_mask::run(&args).map_err(|e| e.to_string()),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
