//! `rlhf rank`: sample K answers per prompt from the SFT model and have them ranked, appending each
//! ranking to a rankings file; an interrupted run resumes where it stopped.
//!
//! ```text
//! rlhf rank --policy runs/sft --out rankings.jsonl                          # world reward prompts, scripted labeler, 3000 x K = 6
//! rlhf rank --policy runs/sft --out mine.jsonl --labeler human --k 4 --prompts 20
//! rlhf rank --policy runs/sft --out noisy.jsonl --noise 0.5 --k 6
//! rlhf rank --labeler dataset --data ../shared/data/preferences/FILE.jsonl --out hh.jsonl --prompts 5000
//! ```
use std::path::PathBuf;

use clap::Args;

use rlhf::labeling::{run_rank, CollectOptions, DatasetFormat, LabelerChoice, PromptSource, RankOptions};
use rlhf::run::RunError;

/// Options of `rlhf rank`.
#[derive(Args, Clone, Debug)]
pub struct RankArgs {
    /// The SFT model (a model folder or a run folder) whose answers are ranked.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// The rankings file (JSONL, appended to; an existing file is resumed).
    #[arg(long, default_value = "rankings.jsonl")]
    pub out: PathBuf,
    /// Who ranks: `scripted` (the world's checker), `human` (this terminal) or `dataset` (import --data).
    #[arg(long, default_value = "scripted")]
    pub labeler: String,
    /// Answers per prompt (4 to 9 as in InstructGPT; 2 and 3 are allowed). More answers per prompt give
    /// more pairs per answer sampled: C(6,2) = 15 pairs from 6 answers against 6 from 4.
    #[arg(long, default_value_t = CollectOptions::default().k)]
    pub k: usize,
    /// Number of prompts (the first N of the source).
    #[arg(long, default_value_t = RankOptions::default().num_prompts)]
    pub prompts: usize,
    /// A prompts JSONL (`{"prompt": ...}` or `{"messages": [...]}` lines) instead of the world's reward split.
    #[arg(long)]
    pub prompts_file: Option<PathBuf>,
    /// Seed of the built-in world whose reward-split prompts are ranked.
    #[arg(long, default_value_t = 1337)]
    pub world_seed: u64,
    /// The scripted labeler's noise: probability of swapping each adjacent pair of its order.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Seed of the sampling (and of the scripted labeler's noise).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Longest answer in tokens (lowered to fit the model's context).
    #[arg(long, default_value_t = 48)]
    pub max_new_tokens: usize,
    /// Prompts sampled together.
    #[arg(long, default_value_t = 8)]
    pub chunk_prompts: usize,
    /// The name written in human rankings (`human:NAME`).
    #[arg(long, default_value = "me")]
    pub name: String,
    /// The preference file to import with `--labeler dataset`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Its format: auto, pairs, hh, oasst or rankings.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Stop after this many new rankings (as an interruption would).
    #[arg(long)]
    pub stop_after: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl RankArgs {
    /// The library's options for these arguments.
    pub fn options(&self) -> Result<RankOptions, RunError> {
        let labeler = match self.labeler.as_str() {
            "scripted" => LabelerChoice::Scripted { noise: self.noise, seed: self.seed },
            "human" => LabelerChoice::Human { name: self.name.clone() },
            "dataset" => LabelerChoice::Dataset {
                path: self.data.clone().ok_or("--labeler dataset needs --data FILE (pairs, HH-RLHF, OASST or rankings JSONL)")?,
                format: DatasetFormat::parse(&self.format)?,
            },
            other => return Err(format!("--labeler {other}: expected scripted, human or dataset").into()),
        };
        Ok(RankOptions {
            policy: self.policy.clone(),
            out: self.out.clone(),
            labeler,
            prompts: match &self.prompts_file {
                Some(p) => PromptSource::File(p.clone()),
                None => PromptSource::World { seed: self.world_seed },
            },
            num_prompts: self.prompts,
            collect: CollectOptions {
                k: self.k,
                chunk_prompts: self.chunk_prompts,
                max_new_tokens: self.max_new_tokens,
                temperature: self.temperature,
                seed: self.seed,
                stop_after: self.stop_after,
            },
        })
    }
}

/// Runs `rlhf rank`: the report goes to stdout as one JSON line.
pub fn run(args: &RankArgs) -> Result<(), RunError> {
    let options = args.options()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let report = pool.install(|| run_rank(&options))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
