//! The ranking loop: for each prompt not yet in the rankings file (as many times as the list holds it),
//! sample K answers from the SFT model (KV cache, batched), ask the labeler, and append the ranking at
//! once.
//!
//! **Resume.** Prompts go in fixed chunks of [`CollectOptions::chunk_prompts`] (in order of length, so a
//! chunk's answers are not cut short by one long prompt among short ones); chunk `c` is sampled with
//! seed `mix(seed, c)`, so its answers depend only on the seed, the prompt list and the chunk, never on
//! where an earlier run stopped. A resumed run skips the chunks whose prompts are all ranked, re-samples
//! a partly ranked chunk (the same answers again) and asks only about its unranked prompts: after any
//! interruption the file ends up exactly as an uninterrupted run writes it.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use models::gpt::Gpt;
use serde::Serialize;

use super::dataset::{import_file, DatasetFormat};
use super::record::{LabeledRanking, RankingsLog};
use super::{HumanLabeler, Labeler, RankRequest, ScriptedWorldLabeler, Verdict};
use crate::data::{ChatTokenizer, Conversation, Role};
use crate::run::{interrupt, RunError};
use crate::sample::{answer_k, SampleOptions};
use crate::world::rng::mix;
use crate::world::{Split, World};

/// How to sample the answers to rank.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectOptions {
    /// Answers per prompt (K, 2 to 9).
    pub k: usize,
    /// Prompts sampled together (K rows each).
    pub chunk_prompts: usize,
    /// Longest answer in tokens (lowered to what the model's context leaves after the longest prompt).
    pub max_new_tokens: usize,
    /// Sampling temperature (1.0: the model's own distribution, diverse answers to rank).
    pub temperature: f32,
    /// Seed of the sampling.
    pub seed: u64,
    /// Stop after this many new rankings in this run (as an interruption would).
    pub stop_after: Option<usize>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        // K = 6: at the same sampling cost as 1.5 times as many prompts x 4 answers, K = 6 gives 15 pairs
        // a prompt instead of 6 (2.5 times the pairs), for the same reward-model training cost (the
        // answers, not the pairs, are what the trunk runs on). See `RankOptions::default`.
        CollectOptions { k: 6, chunk_prompts: 8, max_new_tokens: 48, temperature: 1.0, seed: 0, stop_after: None }
    }
}

/// What a ranking session did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CollectReport {
    /// Prompts in the session.
    pub prompts: usize,
    /// Already ranked before this run (skipped).
    pub already_ranked: usize,
    /// Ranked in this run.
    pub ranked: usize,
    /// Skipped by the labeler in this run.
    pub skipped: usize,
    /// Prompts too long to leave room for an answer in the model's context (left out).
    pub too_long: usize,
    /// The run stopped before the end (quit, Ctrl-C or `stop_after`).
    pub stopped: bool,
    /// Answers cut off at `max_new_tokens` (no end-of-turn).
    pub answers_cut_off: usize,
    /// The longest answer length allowed (chunks of long prompts get less: what the context leaves).
    pub max_new_tokens: usize,
    /// Seconds spent sampling and labeling.
    pub sampling_s: f64,
    /// Seconds spent in the labeler.
    pub labeling_s: f64,
    /// Rankings in the file now.
    pub total_in_file: usize,
}

/// The resume key of a conversation (as [`LabeledRanking::key`] computes it for its record).
pub fn conversation_key(c: &Conversation) -> String {
    match c.messages.as_slice() {
        [m] if m.role == Role::User => m.content.clone(),
        all => serde_json::to_string(all).expect("messages serialise"),
    }
}

/// Samples K answers to each prompt not yet in `log` and has `labeler` rank them (see the module
/// documentation). `on_progress(done, total)` is called after each prompt.
pub fn collect_rankings(
    model: &Gpt,
    tok: &ChatTokenizer,
    prompts: &[Conversation],
    labeler: &mut dyn Labeler,
    log: &mut RankingsLog,
    options: &CollectOptions,
    on_progress: &mut dyn FnMut(usize, usize),
) -> Result<CollectReport, RunError> {
    if !(2..=9).contains(&options.k) {
        return Err(format!("--k {}: rank between 2 and 9 answers per prompt (InstructGPT: 4 to 9)", options.k).into());
    }
    let block = model.config.block_size;
    const MIN_ANSWER: usize = 8;
    let mut report = CollectReport { prompts: prompts.len(), ..Default::default() };
    // Prompts that leave fewer than MIN_ANSWER tokens of context are left out. The rest are sampled in
    // chunks of similar length (a stable sort by length), so one long prompt does not shorten the answers
    // of a whole chunk of short ones: each chunk's answers get what its longest prompt leaves.
    let mut usable: Vec<(usize, Conversation)> = Vec::with_capacity(prompts.len());
    for p in prompts {
        let len = tok.render_prompt(p, usize::MAX).map_err(|e| format!("prompt {:?}: {e}", conversation_key(p)))?.len();
        if len + MIN_ANSWER > block {
            report.too_long += 1;
        } else {
            usable.push((len, p.clone()));
        }
    }
    usable.sort_by_key(|(len, _)| *len);
    // A prompt drawn n times is ranked n times (dropping repeats would bend the task mix towards the
    // families with the most distinct texts); on resume, its first `count_of` occurrences are done.
    let mut occurrence: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let ranked_before: Vec<bool> = usable
        .iter()
        .map(|(_, p)| {
            let key = conversation_key(p);
            let seen = occurrence.entry(key.clone()).or_insert(0);
            *seen += 1;
            *seen <= log.count_of(&key)
        })
        .collect();
    let total = usable.len();
    let name = labeler.name();
    let mut done = 0;
    let chunk_size = options.chunk_prompts.max(1);
    'chunks: for (c, chunk) in usable.chunks(chunk_size).enumerate() {
        let longest = chunk.iter().map(|(len, _)| *len).max().unwrap_or(0);
        let max_new = options.max_new_tokens.min(block - longest);
        report.max_new_tokens = report.max_new_tokens.max(max_new);
        let chunk: Vec<Conversation> = chunk.iter().map(|(_, p)| p.clone()).collect();
        let todo: Vec<usize> = (0..chunk.len()).filter(|&i| !ranked_before[c * chunk_size + i]).collect();
        report.already_ranked += chunk.len() - todo.len();
        done += chunk.len() - todo.len();
        if todo.is_empty() {
            continue;
        }
        let started = Instant::now();
        let sample = SampleOptions {
            max_new_tokens: max_new,
            temperature: options.temperature,
            top_k: None,
            top_p: None,
            batch_size: chunk.len() * options.k,
            seed: mix(options.seed, c as u64),
        };
        let answers = answer_k(model, tok, &chunk, options.k, &sample)?;
        report.sampling_s += started.elapsed().as_secs_f64();
        for i in todo {
            let rows = &answers[i * options.k..(i + 1) * options.k];
            report.answers_cut_off += rows.iter().filter(|a| !a.finished).count();
            let responses: Vec<String> = rows.iter().map(|a| a.text.trim().to_string()).collect();
            let conversation = &chunk[i];
            let prompt = &conversation.messages.last().expect("a valid prompt").content;
            let history = (conversation.messages.len() > 1).then_some(conversation.messages.as_slice());
            let request = RankRequest { prompt, messages: history, responses: &responses, position: done + 1, total };
            let started = Instant::now();
            let verdict = labeler.rank(&request)?;
            report.labeling_s += started.elapsed().as_secs_f64();
            match verdict {
                Verdict::Ranked(ranking) => {
                    let record = LabeledRanking::for_conversation(conversation, responses, &ranking, &name)?;
                    log.append(&record)?;
                    report.ranked += 1;
                }
                Verdict::Skip => report.skipped += 1,
                Verdict::Quit => {
                    report.stopped = true;
                    break 'chunks;
                }
            }
            done += 1;
            on_progress(done, total);
            if interrupt::requested() || options.stop_after.is_some_and(|n| report.ranked >= n) {
                report.stopped = done < total;
                break 'chunks;
            }
        }
    }
    report.total_in_file = log.records().len();
    Ok(report)
}

/// Who ranks, for [`run_rank`].
#[derive(Clone, Debug, PartialEq)]
pub enum LabelerChoice {
    /// The world's checker with this noise rate and seed.
    Scripted { noise: f64, seed: u64 },
    /// A person at this terminal (stdin/stdout), named in the records.
    Human { name: String },
    /// Rankings imported from a preference file (no sampling).
    Dataset { path: PathBuf, format: Option<DatasetFormat> },
}

/// Where the prompts come from.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptSource {
    /// The built-in world's reward split, drawn with this world seed.
    World { seed: u64 },
    /// A JSONL file of `{"prompt": "..."}` or `{"messages": [...]}` lines.
    File(PathBuf),
}

/// Everything `rlhf rank` does, callable from the pipeline. The defaults are the pipeline's: the world's
/// reward prompts, the noiseless scripted labeler, 3,000 prompts with K = 6 answers each.
#[derive(Clone, Debug, PartialEq)]
pub struct RankOptions {
    /// The SFT model (a model folder or a run folder); not needed to import a dataset.
    pub policy: Option<PathBuf>,
    /// The rankings file (appended to; resumed).
    pub out: PathBuf,
    /// Who ranks.
    pub labeler: LabelerChoice,
    /// The prompts.
    pub prompts: PromptSource,
    /// How many prompts (the first N of the source; for a dataset, of its rankings).
    pub num_prompts: usize,
    /// Sampling.
    pub collect: CollectOptions,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            policy: None,
            out: PathBuf::from("rankings.jsonl"),
            labeler: LabelerChoice::Scripted { noise: 0.0, seed: 0 },
            prompts: PromptSource::World { seed: 1337 },
            // 18,000 answers to sample and to train the reward model on (one epoch). With the 2,000-step SFT
            // model of the default pipeline, 667 prompts x K = 6 over 2 epochs reached 81.6% held-out
            // pairwise accuracy; 3,000 prompts x K = 6 over 1 epoch reached 86.8% (85.0% after its first
            // 1,000 prompts). The model memorises the prompts it sees (95% training accuracy either way), so
            // more prompts, not more passes, is what raises held-out accuracy. Sampling 3,000 x 6 takes ~64 s
            // of one core. (With a weaker 500-step SFT model, 667 x K = 6 had been enough: 85.8/86.6/87.4%
            // over three seeds, against 83.8/84.2/84.7% for 1,000 x K = 4 at the same sampling cost.)
            num_prompts: 3000,
            collect: CollectOptions::default(),
        }
    }
}

/// Reads prompts from a JSONL file: `{"prompt": "..."}` or `{"messages": [...]}` ending with a user turn.
pub fn load_prompts(path: &Path) -> Result<Vec<Conversation>, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |e: String| format!("{}:{}: {e}", path.display(), i + 1);
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let c = if let Some(p) = value.get("prompt").and_then(|p| p.as_str()) {
            Conversation::from_prompt(p)
        } else if let Some(m) = value.get("messages") {
            Conversation::new(serde_json::from_value(m.clone()).map_err(|e| at(format!("\"messages\": {e}")))?)
        } else {
            return Err(at("expected {\"prompt\": \"...\"} or {\"messages\": [...]}".into()).into());
        };
        c.validate().map_err(at)?;
        if c.messages.last().map(|m| m.role) != Some(Role::User) {
            return Err(at("the prompt must end with a user turn".into()).into());
        }
        out.push(c);
    }
    Ok(out)
}

/// Runs a ranking session as [`RankOptions`] says and returns its report.
pub fn run_rank(options: &RankOptions) -> Result<CollectReport, RunError> {
    let mut log = RankingsLog::open(&options.out)?;
    if let Some((line, bytes)) = log.torn_line() {
        eprintln!("{}: cut off a torn last line ({line}, {bytes} bytes) left by an interrupted run", options.out.display());
    }
    if let LabelerChoice::Dataset { path, format } = &options.labeler {
        return import_into(&mut log, path, *format, options.num_prompts);
    }
    let policy = options.policy.as_deref().ok_or("--policy: the SFT model folder whose answers are ranked")?;
    let (model, tok, _) = crate::reward::base::load_chat_model(policy)?;
    let prompts: Vec<Conversation> = match &options.prompts {
        PromptSource::World { seed } => {
            World::new(*seed).prompts(Split::Reward, options.num_prompts).iter().map(|p| Conversation::from_prompt(&p.text)).collect()
        }
        PromptSource::File(path) => load_prompts(path)?.into_iter().take(options.num_prompts).collect(),
    };
    let mut progress = |done: usize, total: usize| {
        if done.is_multiple_of(25) || done == total {
            eprintln!("ranked {done}/{total}");
        }
    };
    match &options.labeler {
        LabelerChoice::Scripted { noise, seed } => {
            if !(0.0..=1.0).contains(noise) {
                return Err(format!("--noise {noise}: a probability in [0, 1]").into());
            }
            interrupt::install();
            let mut labeler = ScriptedWorldLabeler::new(*noise, *seed);
            collect_rankings(&model, &tok, &prompts, &mut labeler, &mut log, &options.collect, &mut progress)
        }
        LabelerChoice::Human { name } => {
            // No Ctrl-C handler: a person's Ctrl-C ends the session at once, and every ranking is saved.
            let terminal = std::io::stdout().is_terminal();
            let mut labeler = HumanLabeler::new(name, std::io::stdin().lock(), std::io::stdout(), terminal);
            collect_rankings(&model, &tok, &prompts, &mut labeler, &mut log, &options.collect, &mut |_, _| {})
        }
        LabelerChoice::Dataset { .. } => unreachable!("handled above"),
    }
}

/// Appends the first `limit` rankings of a preference file that the log does not hold yet.
fn import_into(log: &mut RankingsLog, path: &Path, format: Option<DatasetFormat>, limit: usize) -> Result<CollectReport, RunError> {
    let imported = import_file(path, format)?;
    let mut report = CollectReport { skipped: imported.skipped.len(), ..Default::default() };
    let present: std::collections::HashSet<(String, Vec<String>)> =
        log.records().iter().map(|r| (r.key(), r.responses.clone())).collect();
    for r in imported.records.into_iter().take(limit) {
        report.prompts += 1;
        if present.contains(&(r.key(), r.responses.clone())) {
            report.already_ranked += 1;
            continue;
        }
        log.append(&r)?;
        report.ranked += 1;
    }
    if let Some((line, why)) = imported.skipped.first() {
        eprintln!("{}: {} items left out, e.g. line {line}: {why}", path.display(), imported.skipped.len());
    }
    report.total_in_file = log.records().len();
    Ok(report)
}
