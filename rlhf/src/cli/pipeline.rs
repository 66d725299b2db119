//! `rlhf pipeline`: the whole system in one command on the built-in world: pretrain, SFT, sample K answers
//! and rank them (scripted labeler), train the reward model, policy gradient, PPO, then evaluate SFT, PG and
//! PPO on the same held-out prompts and write `report.md` and `summary.json` in the run folder.
//!
//! ```text
//! rlhf pipeline --out runs/pipeline                       # the default run (about 12 minutes on 2 cores)
//! rlhf pipeline --out runs/quick --quick                  # tiny sizes, under a minute: a smoke test
//! rlhf pipeline --out runs/pipeline --resume              # keep the stages that finished, redo the rest
//! rlhf pipeline --out runs/p --ppo-args "--lr 3e-5 --kl-beta 0.05"   # any stage option, passed through
//! ```
//! Every stage is the stage's own subcommand, called in-process with its clap options (the same defaults a
//! user gets, plus the pipeline's sizes, plus `--STAGE-args`, later options winning), writing its own run
//! folder under `--out`: `pretrain/`, `sft/`, `rankings.jsonl`, `reward/`, `pg/`, `ppo/`. So each stage can
//! be rerun alone from the previous one's folder, e.g. `rlhf ppo --policy OUT/sft --reward OUT/reward`,
//! and the evaluation with `rlhf eval --model OUT/ppo --samples 4`.
//!
//! With `--rounds 2` the ranking and reward-model stages run twice: round 1 ranks the SFT model's answers
//! (`rankings.jsonl`, `reward_round1/`), a probing PPO run trains against that reward model
//! (`ppo_round1/`), round 2 ranks that policy's answers (`rankings_round2.jsonl`) and the final reward model
//! (`reward/`) learns from both files; policy gradient and PPO then start from SFT against it. The default
//! is one round (see `--rounds`).
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser};
use serde_json::{json, Value};

use rlhf::data::Conversation;
use rlhf::evaluate::{correct_by_family_json, eval_prompts, evaluate_world_sampled, GradedAnswer, WorldEval};
use rlhf::reward::RewardScorer;
use rlhf::reward_audit::{reward_agreement, RewardAgreement};
use rlhf::report::{correct_gain, head_to_head, markdown, results_tables, HeadToHead, NamedEval, StageLine};
use rlhf::run::RunError;
use rlhf::sample::SampleOptions;

use super::pg::PgArgs;
use super::ppo::PpoArgs;
use super::pretrain::PretrainArgs;
use super::rank::RankArgs;
use super::reward::{RewardArgs, RewardCommand, RewardTrainArgs};
use super::sft::SftArgs;

/// Options of `rlhf pipeline`.
#[derive(Args, Clone, Debug)]
pub struct PipelineArgs {
    /// The run folder: one sub-folder per stage, `report.md` and `summary.json`.
    #[arg(long, default_value = "runs/pipeline")]
    pub out: PathBuf,
    /// Tiny sizes everywhere (a smoke test of the whole chain in well under a minute; the numbers mean nothing).
    #[arg(long)]
    pub quick: bool,
    /// Keep the stages whose run folder already holds a finished summary.json (same --out, same options).
    #[arg(long)]
    pub resume: bool,
    /// Seed of the built-in world (its corpus, demonstrations and prompts of every split).
    #[arg(long, default_value_t = 1337)]
    pub world_seed: u64,
    /// Pretraining steps.
    #[arg(long)]
    pub pretrain_steps: Option<u64>,
    /// SFT steps.
    #[arg(long)]
    pub sft_steps: Option<u64>,
    /// Prompts whose K answers are ranked.
    #[arg(long)]
    pub rank_prompts: Option<usize>,
    /// Answers ranked per prompt (default: `rlhf rank`'s, 6).
    #[arg(long)]
    pub k: Option<usize>,
    /// Rounds of ranking and reward modelling. Round r > 1 ranks the answers of a PPO policy trained
    /// against round r-1's reward model and trains the next reward model on every round's rankings
    /// (InstructGPT and Anthropic kept collecting comparisons on their RL policies' samples); the final
    /// policy-gradient and PPO runs start from SFT against the last reward model. One round by default:
    /// a second one fought a reward model that preferred "0 times" on counting prompts, which came from
    /// rankings that left out repeated prompts; with those ranked, it no longer helped PPO's correctness
    /// (+0.8 points against +1.2 for one round, both ±1.6) and cost two and a half minutes.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Policy-gradient iterations.
    #[arg(long)]
    pub pg_iterations: Option<u64>,
    /// PPO iterations.
    #[arg(long)]
    pub ppo_iterations: Option<u64>,
    /// Held-out prompts answered by SFT, PG and PPO for the report.
    #[arg(long)]
    pub eval_prompts: Option<usize>,
    /// Sampling temperature of the main evaluation (the rollouts' temperature, 1, by default; 0: greedy).
    /// A greedy evaluation of the same prompts is always added beside it.
    #[arg(long, default_value_t = 1.0)]
    pub eval_temperature: f32,
    /// Longest answer in that evaluation.
    #[arg(long, default_value_t = 64)]
    pub eval_max_new_tokens: usize,
    /// Answers sampled per prompt in the main evaluation (sample i seeded world seed + i): four answers to
    /// 300 prompts halve the sampling noise of one (a standard error of 1.3 points instead of 2.6 at 30%);
    /// eight take a little more off the paired comparison of two models.
    #[arg(long, default_value_t = 8)]
    pub eval_samples: usize,
    /// Held-out prompts shown in the report's table.
    #[arg(long, default_value_t = 14)]
    pub table_rows: usize,
    /// Extra options for `rlhf pretrain` (one string, split at spaces).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub pretrain_args: String,
    /// Extra options for `rlhf sft`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub sft_args: String,
    /// Extra options for `rlhf rank`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub rank_args: String,
    /// Extra options for `rlhf reward train`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub reward_args: String,
    /// Extra options for `rlhf pg`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub pg_args: String,
    /// Extra options for `rlhf ppo`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub ppo_args: String,
    /// Worker threads of every stage (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

// One parser per stage: the stage's own options, later occurrences overriding earlier ones, so the
// pipeline's sizes come first and the user's --STAGE-args win.
#[derive(Parser)]
#[command(args_override_self = true)]
struct PretrainCli {
    #[command(flatten)]
    a: PretrainArgs,
}
#[derive(Parser)]
#[command(args_override_self = true)]
struct SftCli {
    #[command(flatten)]
    a: SftArgs,
}
#[derive(Parser)]
#[command(args_override_self = true)]
struct RankCli {
    #[command(flatten)]
    a: RankArgs,
}
#[derive(Parser)]
#[command(args_override_self = true)]
struct RewardCli {
    #[command(flatten)]
    a: RewardTrainArgs,
}
#[derive(Parser)]
#[command(args_override_self = true)]
struct PgCli {
    #[command(flatten)]
    a: PgArgs,
}
#[derive(Parser)]
#[command(args_override_self = true)]
struct PpoCli {
    #[command(flatten)]
    a: PpoArgs,
}

/// `base` (the pipeline's options for a stage), then the user's extra string split at spaces.
fn argv(stage: &str, base: Vec<String>, extra: &str) -> Vec<String> {
    std::iter::once(stage.to_string()).chain(base).chain(extra.split_whitespace().map(str::to_string)).collect()
}

fn parse<P: Parser>(stage: &str, base: Vec<String>, extra: &str) -> Result<P, RunError> {
    P::try_parse_from(argv(stage, base, extra)).map_err(|e| format!("pipeline: options of `rlhf {stage}`: {e}").into())
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

/// The pipeline's sizes: the default run, or `--quick`'s tiny one.
struct Sizes {
    pretrain: Vec<String>,
    sft: Vec<String>,
    rank: Vec<String>,
    reward: Vec<String>,
    pg: Vec<String>,
    ppo: Vec<String>,
    /// Added to `rank` in rounds after the first.
    rank_later: Vec<String>,
    /// Added to `ppo` for the PPO runs of rounds before the last (whose answers the next round ranks).
    ppo_probe: Vec<String>,
    eval_prompts: usize,
}

fn sizes(args: &PipelineArgs) -> Sizes {
    let mut z = if args.quick {
        Sizes {
            pretrain: s(&["--steps", "30", "--n-layer", "1", "--n-embd", "32", "--n-head", "2", "--block-size", "96", "--batch-size", "8", "--eval-every", "30", "--eval-batches", "2", "--world-chars", "40000", "--warmup", "5"]),
            sft: s(&["--steps", "20", "--demos", "200", "--eval-prompts", "8", "--eval-every", "20", "--warmup", "5"]),
            rank: s(&["--prompts", "24", "--k", "3", "--max-new-tokens", "24"]),
            reward: s(&["--epochs", "1", "--timed-prompts", "0", "--eval-every", "5", "--likelihood-feature"]),
            pg: s(&["--iterations", "2", "--batch-size", "8", "--minibatch-size", "4", "--max-new-tokens", "24", "--world-prompts", "50"]),
            ppo: s(&["--iterations", "2", "--batch-size", "8", "--minibatch-size", "4", "--max-new-tokens", "24", "--world-prompts", "50"]),
            rank_later: s(&[]),
            ppo_probe: s(&[]),
            eval_prompts: 16,
        }
    } else {
        Sizes {
            pretrain: s(&["--steps", "2000", "--block-size", "128", "--batch-size", "16", "--eval-every", "500", "--lr", "2e-3", "--min-lr", "2e-4"]),
            // SFT is where the world's correctness comes from. On the same pretrained model, greedy on 300
            // held-out prompts: 3,000 demonstrations for 2,000 steps (13 epochs) gave 42% correct; 10,000
            // for 3,000 steps (5 epochs) 60%, in 4 minutes.
            sft: s(&["--steps", "3000", "--demos", "10000", "--eval-prompts", "100"]),
            // `rlhf rank`'s own defaults: 3,000 prompts x K = 6 (15 pairs a prompt), one reward epoch:
            // 86.8% held-out accuracy on this pipeline's SFT model, against 81.6% for 667 x K = 6.
            rank: s(&[]),
            // The answer-likelihood feature: on this pipeline's SFT model and two rounds of rankings,
            // held-out accuracy 82.9% without it, 86.8% with it.
            reward: s(&["--likelihood-feature"]),
            pg: s(&["--iterations", "15"]),
            // Against that reward model, lr 1e-5 moved the policy little in 15 iterations (KL 0.3, win
            // rate over SFT 68%); 2e-5 gave KL ~1 and 80%. 30 iterations did no better on correctness:
            // paired gain over SFT +0.8 points against +1.1 for 15 (means over three seeds, each ±1.6).
            ppo: s(&["--iterations", "15", "--lr", "2e-5"]),
            // Round 2 fits the 15-minute budget with half the prompts and a shorter probing PPO run.
            rank_later: s(&["--prompts", "1500"]),
            ppo_probe: s(&["--iterations", "10"]),
            eval_prompts: 300,
        }
    };
    let set = |v: &mut Vec<String>, flag: &str, value: Option<String>| {
        if let Some(value) = value {
            v.extend([flag.to_string(), value]);
        }
    };
    set(&mut z.pretrain, "--steps", args.pretrain_steps.map(|x| x.to_string()));
    set(&mut z.sft, "--steps", args.sft_steps.map(|x| x.to_string()));
    set(&mut z.rank, "--prompts", args.rank_prompts.map(|x| x.to_string()));
    set(&mut z.pg, "--iterations", args.pg_iterations.map(|x| x.to_string()));
    set(&mut z.ppo, "--iterations", args.ppo_iterations.map(|x| x.to_string()));
    set(&mut z.rank, "--k", args.k.map(|x| x.to_string()));
    z.eval_prompts = args.eval_prompts.unwrap_or(z.eval_prompts);
    z
}

/// True when `dir/summary.json` records a finished (not interrupted) run.
fn finished(dir: &Path) -> bool {
    read_json(&dir.join("summary.json")).is_some_and(|v| v["interrupted"] == false)
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Runs `rlhf pipeline`.
pub fn run(args: &PipelineArgs) -> Result<(), RunError> {
    let wall = Instant::now();
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create: {e}", out.display()))?;
    let z = sizes(args);
    let threads: Vec<String> = args.threads.map(|t| s(&["--threads", &t.to_string()])).unwrap_or_default();
    let p = |name: &str| out.join(name).display().to_string();
    let world = args.world_seed.to_string();
    let mut stages: Vec<StageLine> = Vec::new();
    // A resumed pipeline reports the wall time of each kept stage as the earlier run measured it.
    let earlier = if args.resume { read_json(&out.join("summary.json")).map(|v| v["stage_wall_time_s"].clone()).unwrap_or(Value::Null) } else { Value::Null };
    let mut timed = |name: &str, folder: &str, done: bool, f: &mut dyn FnMut() -> Result<(), RunError>| -> Result<f64, RunError> {
        let started = Instant::now();
        if done && args.resume {
            eprintln!("\n=== pipeline: {name}: kept from the earlier run in {}", out.join(folder).display());
        } else {
            eprintln!("\n=== pipeline: {name}");
            f()?;
        }
        let seconds = if done && args.resume { earlier[stage_key(folder).as_str()].as_f64().unwrap_or(0.0) } else { started.elapsed().as_secs_f64() };
        stages.push(StageLine {
            name: name.into(),
            folder: folder.into(),
            wall_time_s: seconds,
            charts: Vec::new(),
            note: String::new(),
        });
        Ok(seconds)
    };

    // 1. Pretraining on the world's corpus.
    let mut base = vec!["--out".to_string(), p("pretrain"), "--seed".into(), world.clone()];
    base.extend(z.pretrain.clone());
    base.extend(threads.clone());
    let pretrain = parse::<PretrainCli>("pretrain", base, &args.pretrain_args)?.a;
    timed("pretrain", "pretrain", finished(&out.join("pretrain")), &mut || super::pretrain::run(&pretrain))?;

    // 2. SFT on the world's demonstrations.
    let mut base = vec!["--base".to_string(), p("pretrain"), "--out".into(), p("sft"), "--world-seed".into(), world.clone()];
    base.extend(z.sft.clone());
    base.extend(threads.clone());
    let sft = parse::<SftCli>("sft", base, &args.sft_args)?.a;
    timed("sft", "sft", finished(&out.join("sft")), &mut || super::sft::run(&sft))?;

    // 3. K answers per reward-split prompt ranked by the scripted labeler, and 4. the reward model from the
    // SFT trunk, in rounds: round 1 ranks the SFT model's answers; each later round ranks the answers of a
    // PPO policy trained against the previous reward model (where that policy found the reward model's
    // blind spots) and trains a fresh reward model on all the rankings so far.
    let rounds = args.rounds.max(1);
    let rl_base = |stage: &str, reward: &str, sizes: &[String]| {
        let mut v = vec!["--policy".to_string(), p("sft"), "--reward".into(), p(reward), "--out".into(), p(stage), "--world-seed".into(), world.clone()];
        v.extend(sizes.iter().cloned());
        v.extend(threads.clone());
        v
    };
    let mut ranking_files: Vec<PathBuf> = Vec::new();
    let mut rank_first: Option<RankArgs> = None;
    let mut answering = "sft".to_string();
    for round in 1..=rounds {
        let (rank_file, reward_folder) = round_names(round, rounds);
        let suffix = if rounds > 1 { format!(", round {round}") } else { String::new() };
        let rankings = out.join(&rank_file);
        let mut base = vec!["--policy".to_string(), p(&answering), "--out".into(), rankings.display().to_string(), "--world-seed".into(), world.clone()];
        base.extend(z.rank.clone());
        if round > 1 {
            base.extend(["--seed".to_string(), round.to_string()]);
            base.extend(z.rank_later.clone());
        }
        base.extend(threads.clone());
        let rank = parse::<RankCli>("rank", base, &args.rank_args)?.a;
        let reward_done = finished(&out.join(&reward_folder));
        timed(&format!("rank{suffix}"), &rank_file, reward_done, &mut || {
            // A fresh ranking run starts from an empty file (the file appends and resumes otherwise).
            if !args.resume {
                let _ = std::fs::remove_file(&rankings);
            }
            super::rank::run(&rank)
        })?;
        rank_first.get_or_insert(rank);
        ranking_files.push(rankings);

        let mut base = vec!["--base".to_string(), p("sft"), "--out".into(), p(&reward_folder)];
        for f in &ranking_files {
            base.extend(["--rankings".to_string(), f.display().to_string()]);
        }
        base.extend(z.reward.clone());
        base.extend(threads.clone());
        let reward = parse::<RewardCli>("reward", base, &args.reward_args)?.a;
        timed(&format!("reward model{suffix}"), &reward_folder, reward_done, &mut || {
            super::reward::run(&RewardArgs { command: RewardCommand::Train(reward.clone()) })
        })?;

        if round < rounds {
            let folder = format!("ppo_round{round}");
            let sizes: Vec<String> = z.ppo.iter().chain(&z.ppo_probe).cloned().collect();
            let ppo = parse::<PpoCli>("ppo", rl_base(&folder, &reward_folder, &sizes), &args.ppo_args)?.a;
            timed(&format!("PPO{suffix}"), &folder, finished(&out.join(&folder)), &mut || super::ppo::run(&ppo))?;
            answering = folder;
        }
    }
    let rank = rank_first.expect("at least one round");

    // 5. Policy gradient and 6. PPO, from the same SFT model against the last reward model.
    let rl_base = |stage: &str, sizes: &[String]| rl_base(stage, "reward", sizes);
    let pg = parse::<PgCli>("pg", rl_base("pg", &z.pg), &args.pg_args)?.a;
    timed("policy gradient", "pg", finished(&out.join("pg")), &mut || super::pg::run(&pg))?;
    let ppo = parse::<PpoCli>("ppo", rl_base("ppo", &z.ppo), &args.ppo_args)?.a;
    timed("PPO", "ppo", finished(&out.join("ppo")), &mut || super::ppo::run(&ppo))?;

    // 7. Evaluation of the three chat models on the same held-out prompts.
    eprintln!("\n=== pipeline: evaluation on {} held-out prompts", z.eval_prompts);
    let eval_started = Instant::now();
    let prompts = eval_prompts(args.world_seed, z.eval_prompts);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let evaluate = |stage: &str, temperature: f32, suffix: &str| -> Result<WorldEval, RunError> {
        let options = SampleOptions { max_new_tokens: args.eval_max_new_tokens, temperature, seed: args.world_seed, ..SampleOptions::default() };
        let (model, _, chat) = super::sft::load_chat_model(&out.join(stage))?;
        let samples = if temperature > 0.0 { args.eval_samples } else { 1 };
        let eval = pool.install(|| evaluate_world_sampled(&model, &chat, &prompts, &options, samples))?;
        let path = out.join(format!("eval_{stage}{suffix}.jsonl"));
        let lines: String = eval.answers.iter().map(|a| a.to_json().to_string() + "\n").collect();
        std::fs::write(&path, lines).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        eprintln!("{stage}{suffix}: {}", eval.describe());
        Ok(eval)
    };
    // The main decoding, then greedy beside it (skipped when the main one is greedy).
    let (e_sft, e_pg, e_ppo) = (evaluate("sft", args.eval_temperature, "")?, evaluate("pg", args.eval_temperature, "")?, evaluate("ppo", args.eval_temperature, "")?);
    let greedy = if args.eval_temperature > 0.0 {
        Some((evaluate("sft", 0.0, "_greedy")?, evaluate("pg", 0.0, "_greedy")?, evaluate("ppo", 0.0, "_greedy")?))
    } else {
        None
    };
    // The reward model on every answer above: does it order them as the checker does, and does it see
    // correctness at all (pairs that differ in correctness only)?
    let mut answer_sets: Vec<&WorldEval> = vec![&e_sft, &e_pg, &e_ppo];
    if let Some((g_sft, g_pg, g_ppo)) = &greedy {
        answer_sets.extend([g_sft, g_pg, g_ppo]);
    }
    let rm_on_eval = audit_reward_model(&out.join("reward"), &answer_sets, &pool)?;
    eprintln!(
        "reward model on the held-out answers: agrees with the checker on {} of {} pairs, on {} of {} pairs that differ in correctness only",
        pct(rm_on_eval.accuracy),
        rm_on_eval.pairs,
        pct(rm_on_eval.correctness_accuracy),
        rm_on_eval.correctness_pairs
    );
    let ppo_vs_sft = head_to_head(&e_ppo.answers, &e_sft.answers)?;
    let pg_vs_sft = head_to_head(&e_pg.answers, &e_sft.answers)?;
    let ppo_vs_pg = head_to_head(&e_ppo.answers, &e_pg.answers)?;
    let eval_seconds = eval_started.elapsed().as_secs_f64();
    stages.push(StageLine { name: "evaluation".into(), folder: ".".into(), wall_time_s: eval_seconds, charts: vec![], note: String::new() });

    // Figures from each stage's own summary.json.
    let summary_of = |stage: &str| read_json(&out.join(stage).join("summary.json")).unwrap_or(Value::Null);
    let (s_pre, s_sft, s_rm, s_pg, s_ppo) = (summary_of("pretrain"), summary_of("sft"), summary_of("reward"), summary_of("pg"), summary_of("ppo"));
    let rm_accuracy = s_rm["extra"]["held_out_accuracy"].as_f64();
    let kl = |v: &Value| v["final_kl"].as_f64();
    for st in &mut stages {
        st.charts = charts_in(out, &st.folder);
        st.note = match st.folder.as_str() {
            "pretrain" => format!("val loss {}", fmt(s_pre["final_val_loss"].as_f64())),
            "sft" => format!(
                "val loss on responses {}; checker on {} held-out prompts: correct {} before, {} after",
                fmt(s_sft["final_val_loss"].as_f64()),
                s_sft["extra"]["eval_after"]["prompts"],
                pct(s_sft["extra"]["eval_before"]["correct"].as_f64()),
                pct(s_sft["extra"]["eval_after"]["correct"].as_f64())
            ),
            "rankings.jsonl" => format!("{} prompts × K = {} answers ranked by the scripted labeler", rank.prompts, rank.k),
            "reward" => format!(
                "held-out pairwise accuracy {}; on the evaluation's answers it agrees with the checker on {} of pairs, {} of pairs that differ in correctness only",
                pct(rm_accuracy),
                pct(rm_on_eval.accuracy),
                pct(rm_on_eval.correctness_accuracy)
            ),
            "pg" | "ppo" => {
                let v = if st.folder == "pg" { &s_pg } else { &s_ppo };
                format!("reward {} → {}, KL to SFT {}", fmt(v["first_reward_mean"].as_f64()), fmt(v["final_reward_mean"].as_f64()), fmt(kl(v)))
            }
            f if f.starts_with("rankings_") => format!("{} prompts × K = {} answers of the previous round's PPO policy, ranked", rank.prompts, rank.k),
            f if f.starts_with("reward_round") => format!(
                "held-out pairwise accuracy {} (trained on the rankings so far)",
                pct(summary_of(f)["extra"]["held_out_accuracy"].as_f64())
            ),
            f if f.starts_with("ppo_round") => {
                let v = summary_of(f);
                format!(
                    "reward {} → {}, KL to SFT {}; its answers are the next round's to rank",
                    fmt(v["first_reward_mean"].as_f64()),
                    fmt(v["final_reward_mean"].as_f64()),
                    fmt(kl(&v))
                )
            }
            _ => format!("{} prompts answered by SFT, PG and PPO", prompts.len()),
        };
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let h2h: Vec<(String, HeadToHead)> = vec![("PPO vs SFT".into(), ppo_vs_sft), ("PG vs SFT".into(), pg_vs_sft), ("PPO vs PG".into(), ppo_vs_pg)];
    let evals = [
        NamedEval { name: "SFT", eval: &e_sft, kl_to_sft: None },
        NamedEval { name: "PG", eval: &e_pg, kl_to_sft: kl(&s_pg) },
        NamedEval { name: "PPO", eval: &e_ppo, kl_to_sft: kl(&s_ppo) },
    ];
    let mut page = markdown(&command, &stages, &evals, &h2h, args.table_rows);
    page.push_str(&format!(
        "\nMain evaluation decoding: {}, at most {} new tokens, {} per prompt; the standard error of a correct fraction is about {:.1} points. KL to SFT: the last training iteration's `Σ_t log π − log π_SFT` per answer on its rollouts.\n\n",
        if args.eval_temperature > 0.0 { format!("sampling at temperature {} (as in the rollouts)", args.eval_temperature) } else { "greedy".to_string() },
        args.eval_max_new_tokens,
        if e_sft.answers.len() > prompts.len() { format!("{} answers", e_sft.answers.len() / prompts.len().max(1)) } else { "one answer".to_string() },
        100.0 * e_sft.correct_std_error()
    ));
    let gain_ppo = correct_gain(&e_ppo.answers, &e_sft.answers)?;
    let gain_pg = correct_gain(&e_pg.answers, &e_sft.answers)?;
    page.push_str(&format!(
        "Correct fraction gained over SFT, paired by prompt (± one standard error): PPO {:+.1} ± {:.1} points, PG {:+.1} ± {:.1} points.\n\n",
        100.0 * gain_ppo.gain,
        100.0 * gain_ppo.std_error,
        100.0 * gain_pg.gain,
        100.0 * gain_pg.std_error
    ));
    page.push_str(&family_table(&evals));
    let mut greedy_json = Value::Null;
    if let Some((g_sft, g_pg, g_ppo)) = &greedy {
        let g_h2h = [head_to_head(&g_ppo.answers, &g_sft.answers)?, head_to_head(&g_pg.answers, &g_sft.answers)?, head_to_head(&g_ppo.answers, &g_pg.answers)?];
        let g_evals = [
            NamedEval { name: "SFT", eval: g_sft, kl_to_sft: None },
            NamedEval { name: "PG", eval: g_pg, kl_to_sft: kl(&s_pg) },
            NamedEval { name: "PPO", eval: g_ppo, kl_to_sft: kl(&s_ppo) },
        ];
        let names = ["PPO vs SFT", "PG vs SFT", "PPO vs PG"];
        let named: Vec<(String, HeadToHead)> = names.iter().zip(g_h2h).map(|(n, h)| (n.to_string(), h)).collect();
        page.push_str(&results_tables("The same prompts, greedy decoding", &g_evals, &named));
        page.push_str("Greedy answers are in `eval_*_greedy.jsonl`.\n");
        greedy_json = json!({
            "win_rate_ppo_vs_sft": g_h2h[0].win_rate(),
            "win_rate_pg_vs_sft": g_h2h[1].win_rate(),
            "win_rate_ppo_vs_pg": g_h2h[2].win_rate(),
            "head_to_head": { "ppo_vs_sft": g_h2h[0], "pg_vs_sft": g_h2h[1], "ppo_vs_pg": g_h2h[2] },
            "correct_sft": g_sft.summary.correct,
            "correct_pg": g_pg.summary.correct,
            "correct_ppo": g_ppo.summary.correct,
            "mean_score_sft": g_sft.summary.mean_score,
            "mean_score_pg": g_pg.summary.mean_score,
            "mean_score_ppo": g_ppo.summary.mean_score,
        });
    }
    std::fs::write(out.join("report.md"), page).map_err(|e| format!("{}: cannot write: {e}", out.join("report.md").display()))?;

    let stage_times: serde_json::Map<String, Value> = stages
        .iter()
        .map(|s| {
            (stage_key(&s.folder).to_string(), json!(s.wall_time_s))
        })
        .collect();
    let summary = json!({
        "win_rate_ppo_vs_sft": ppo_vs_sft.win_rate(),
        "win_rate_pg_vs_sft": pg_vs_sft.win_rate(),
        "win_rate_ppo_vs_pg": ppo_vs_pg.win_rate(),
        "head_to_head": { "ppo_vs_sft": ppo_vs_sft, "pg_vs_sft": pg_vs_sft, "ppo_vs_pg": ppo_vs_pg },
        "correct_sft": e_sft.summary.correct,
        "correct_pg": e_pg.summary.correct,
        "correct_ppo": e_ppo.summary.correct,
        "mean_score_sft": e_sft.summary.mean_score,
        "mean_score_pg": e_pg.summary.mean_score,
        "mean_score_ppo": e_ppo.summary.mean_score,
        "kl_ppo_to_sft": kl(&s_ppo),
        "kl_pg_to_sft": kl(&s_pg),
        "reward_model_held_out_accuracy": rm_accuracy,
        "reward_model_on_eval_answers": rm_on_eval,
        "correct_gain_ppo_vs_sft": gain_ppo,
        "correct_gain_pg_vs_sft": gain_pg,
        "correct_by_family": {
            "sft": correct_by_family_json(&e_sft.answers),
            "pg": correct_by_family_json(&e_pg.answers),
            "ppo": correct_by_family_json(&e_ppo.answers),
        },
        "eval_prompts": prompts.len(),
        "eval_answers_per_prompt": e_sft.answers.len() / prompts.len().max(1),
        "eval_temperature": args.eval_temperature,
        "greedy": greedy_json,
        "stage_wall_time_s": stage_times,
        "total_stage_time_s": stages.iter().map(|s| s.wall_time_s).sum::<f64>(),
        "wall_time_s": wall.elapsed().as_secs_f64(),
        "quick": args.quick,
    });
    std::fs::write(out.join("summary.json"), serde_json::to_string_pretty(&summary)? + "\n")?;
    eprintln!("\nreport: {}", out.join("report.md").display());
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// The checker's correct fraction per task family, one column per model (Markdown).
fn family_table(evals: &[NamedEval]) -> String {
    use rlhf::evaluate::correct_by_family;
    let columns: Vec<Vec<(rlhf::world::Family, usize, usize)>> = evals.iter().map(|e| correct_by_family(&e.eval.answers)).collect();
    let names: Vec<&str> = evals.iter().map(|e| e.name).collect();
    let mut s = format!("### Correct by task family\n\n| family | {} |\n| --- |{}\n", names.join(" | "), " --- |".repeat(names.len()));
    for family in rlhf::world::Family::ALL {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| c.iter().find(|(f, _, _)| *f == family).map(|(_, k, n)| format!("{:.1}% of {n}", 100.0 * *k as f64 / *n as f64)).unwrap_or_else(|| "-".into()))
            .collect();
        s.push_str(&format!("| {} | {} |\n", family.name(), cells.join(" | ")));
    }
    s.push('\n');
    s
}

/// The rankings file and reward-model folder of round `round` of `rounds`: `rankings.jsonl` first, then
/// `rankings_round2.jsonl`...; the last round's reward model is `reward/`, earlier ones `reward_round1/`...
fn round_names(round: usize, rounds: usize) -> (String, String) {
    let rankings = if round == 1 { "rankings.jsonl".to_string() } else { format!("rankings_round{round}.jsonl") };
    let reward = if round == rounds { "reward".to_string() } else { format!("reward_round{round}") };
    (rankings, reward)
}

/// Scores every evaluation answer with the reward model of `dir` and compares its orders with the checker's
/// prompt by prompt ([`reward_agreement`]).
fn audit_reward_model(dir: &Path, sets: &[&WorldEval], pool: &rayon::ThreadPool) -> Result<RewardAgreement, RunError> {
    let scorer = RewardScorer::load(dir)?;
    let answers: Vec<&GradedAnswer> = sets.iter().flat_map(|e| &e.answers).collect();
    let items: Vec<(Conversation, String)> = answers.iter().map(|a| (Conversation::from_prompt(&a.prompt), a.answer.clone())).collect();
    let scores = pool.install(|| scorer.score(&items, 32))?;
    let mut by_prompt: std::collections::BTreeMap<&str, Vec<(GradedAnswer, f32)>> = Default::default();
    for (a, r) in answers.iter().zip(scores) {
        by_prompt.entry(a.prompt.as_str()).or_default().push(((*a).clone(), r));
    }
    Ok(reward_agreement(&by_prompt.into_values().collect::<Vec<_>>()))
}

/// The key of a stage (by its folder) in `summary.json`'s `stage_wall_time_s`.
fn stage_key(folder: &str) -> String {
    match folder {
        "rankings.jsonl" => "rank".into(),
        f if f.starts_with("rankings_") => format!("rank_{}", f.trim_start_matches("rankings_").trim_end_matches(".jsonl")),
        "." => "evaluation".into(),
        f => f.into(),
    }
}

/// The SVG charts a stage's folder holds, as paths relative to the pipeline folder.
fn charts_in(out: &Path, folder: &str) -> Vec<String> {
    let mut charts: Vec<String> = std::fs::read_dir(out.join(folder))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.ends_with(".svg")).map(|n| format!("{folder}/{n}")).collect())
        .unwrap_or_default();
    charts.sort();
    charts
}

fn fmt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", 100.0 * v)).unwrap_or_else(|| "-".into())
}
