//! `rlhf sft`: supervised fine-tuning of a pretrained GPT on demonstrations.
//!
//! ```text
//! rlhf sft --base runs/pretrain --out runs/sft                  # the built-in world's demonstrations
//! rlhf sft --base runs/pretrain --data chats.jsonl --out runs/sft --steps 1000 --lr 3e-4
//! rlhf sft --base runs/pretrain --out runs/sft --resume         # continue from runs/sft/checkpoint
//! ```
//! `--data` takes JSONL with `{"prompt","response"}` or `{"messages":[...]}` lines, or Self-Instruct seed
//! tasks; every bad line is reported with its file and line number and the run stops before training (and
//! before touching the run folder). A seeded slice is held out for the validation loss on responses.
//! Before training and at the end, the model answers held-out prompts of the built-in world (greedy) and
//! the world's checker grades them; both are printed and written to `summary.json` under `extra`, and every
//! answer to `eval_before.jsonl` / `eval_after.jsonl`. The run folder is `rlhf pretrain`'s (see
//! [`rlhf::run`]): metrics, chart, summary, exact-resume checkpoint, `model/` with the tokenizer.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState, CHECKPOINT_JSON};
use autograd::nn::Module;
use clap::Args;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt};
use models::tokenizer::{AnyTokenizer, Tokenizer};
use serde_json::{json, Value};

use rlhf::data::ChatTokenizer;
use rlhf::evaluate::{eval_options, eval_prompts, evaluate_world, WorldEval};
use rlhf::run::{interrupt, peak_memory_bytes, MetricRecord, Progress, RunDir, RunError, Summary};
use rlhf::sample::SampleOptions;
use rlhf::sft::{response_loss, split_train_val, RenderedSet, SftConfig, SftFormat, SftSource, SftTrainer};

/// Options of `rlhf sft`.
#[derive(Args, Clone, Debug)]
pub struct SftArgs {
    /// The pretrained model: a model folder (config.json + model.safetensors + tokenizer) or a run folder.
    #[arg(long)]
    pub base: PathBuf,
    /// SFT data: JSONL ({"prompt","response"} or {"messages":[...]}) or Self-Instruct seed tasks. Default:
    /// the built-in world's SFT demonstrations.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Format of --data: auto, jsonl or self-instruct.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// How many built-in world demonstrations to use when --data is not given.
    #[arg(long, default_value_t = 3000)]
    pub demos: usize,
    /// Seed of the built-in world (its demonstrations and held-out evaluation prompts).
    #[arg(long, default_value_t = 1337)]
    pub world_seed: u64,
    /// The run folder (metrics, chart, summary, checkpoint, model).
    #[arg(long, default_value = "runs/sft")]
    pub out: PathBuf,
    /// Optimizer steps in the whole run (the cosine decays to --min-lr at this step).
    #[arg(long, default_value_t = 1200)]
    pub steps: u64,
    /// Conversations per micro-batch.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Final learning rate of the cosine decay.
    #[arg(long, default_value_t = 1e-4)]
    pub min_lr: f32,
    /// Linear warmup steps.
    #[arg(long, default_value_t = 50)]
    pub warmup: u64,
    /// AdamW weight decay of the matrices.
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f32,
    /// AdamW beta2.
    #[arg(long, default_value_t = 0.99)]
    pub beta2: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f32,
    /// Dropout probability during training (default: the base model's).
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Fraction of the conversations held out for the validation loss.
    #[arg(long, default_value_t = 0.05)]
    pub val_fraction: f64,
    /// Evaluate the losses every N steps (and at the end).
    #[arg(long, default_value_t = 200)]
    pub eval_every: u64,
    /// Held-out world prompts answered and graded before and after training (0: skip).
    #[arg(long, default_value_t = 200)]
    pub eval_prompts: usize,
    /// Longest answer, in tokens, in that evaluation.
    #[arg(long, default_value_t = 48)]
    pub eval_max_new_tokens: usize,
    /// Checkpoint every N steps (default: at each evaluation); always at the end and on Ctrl-C.
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Seed of the validation split, the data order and dropout.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// Continue from the run folder's checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop (with a checkpoint) after this step, as Ctrl-C would; the schedule still spans --steps.
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Where to run: cpu, or cuda / cuda:N (needs a build with `--features cuda` and an NVIDIA driver).
    #[arg(long, default_value = "cpu")]
    pub device: engine::Device,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl SftArgs {
    fn config(&self) -> SftConfig {
        SftConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            lr: self.lr,
            min_lr: self.min_lr,
            warmup: self.warmup,
            weight_decay: self.weight_decay,
            beta2: self.beta2,
            grad_clip: self.grad_clip,
            seed: self.seed,
        }
    }

    fn source(&self) -> Result<SftSource, RunError> {
        Ok(match &self.data {
            Some(path) => SftSource::File { path: path.clone(), format: SftFormat::parse(&self.format)? },
            None => SftSource::World { seed: self.world_seed, n: self.demos },
        })
    }
}

/// Runs `rlhf sft`.
pub fn run(args: &SftArgs) -> Result<(), RunError> {
    args.device.check_available()?;
    validate(args)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| train(args))
}

fn validate(args: &SftArgs) -> Result<(), RunError> {
    let problem = if args.steps == 0 || args.batch_size == 0 || args.grad_accum == 0 || args.eval_every == 0 {
        "--steps, --batch-size, --grad-accum and --eval-every must be positive"
    } else if !(args.val_fraction > 0.0 && args.val_fraction < 1.0) {
        "--val-fraction must be in (0, 1)"
    } else if !(args.lr > 0.0 && args.min_lr >= 0.0 && args.min_lr <= args.lr) {
        "--lr must be positive and --min-lr in [0, lr]"
    } else if args.dropout.is_some_and(|p| !(0.0..1.0).contains(&p)) {
        "--dropout must be in [0, 1)"
    } else if args.data.is_none() && args.demos < 2 {
        "--demos must be at least 2 (some train, some validate)"
    } else if args.eval_prompts > 0 && args.eval_max_new_tokens == 0 {
        "--eval-max-new-tokens must be positive"
    } else {
        return Ok(());
    };
    Err(problem.into())
}

/// The base model, its tokenizer and the chat tokenizer over it; checks the model has ids for the specials.
pub fn load_chat_model(dir: &Path) -> Result<(Gpt, AnyTokenizer, ChatTokenizer), RunError> {
    let (model, tok) = super::generate::load_model_and_tokenizer(dir, None)?;
    let chat = ChatTokenizer::new(tok.clone());
    if chat.vocab_size() > model.config.vocab_size {
        return Err(format!(
            "{}: the model has {} token ids, but its tokenizer ({} ids) with the chat special tokens \
             (<|system|>, <|user|>, <|assistant|>, <|end|>, <|pad|>) needs {}; pretrain a model with room for them \
             (`rlhf pretrain` on the built-in world does) or with a tokenizer that has them",
            dir.display(),
            model.config.vocab_size,
            tok.vocab_size(),
            chat.vocab_size()
        )
        .into());
    }
    Ok((model, tok, chat))
}

/// Copies the base folder's tokenizer files into the new model folder (GPT-2's as they are), or saves ours.
fn save_model(run: &RunDir, model: &Gpt, base_dir: &Path, tok: &AnyTokenizer) -> Result<(), RunError> {
    let model_dir = run.model_dir();
    save_hf_dir(model, &model_dir)?;
    let mut copied = false;
    for name in ["vocab.json", "merges.txt", "encoder.json", "vocab.bpe"] {
        if base_dir.join(name).exists() {
            std::fs::copy(base_dir.join(name), model_dir.join(name)).map_err(|e| format!("{}: cannot copy: {e}", base_dir.join(name).display()))?;
            copied = true;
        }
    }
    if !copied || base_dir.join(models::gpt::hf::TOKENIZER_FILE).exists() {
        save_tokenizer_to_dir(tok, &model_dir)?;
    }
    Ok(())
}

/// Answers and grades held-out world prompts; writes every answer to `FILE` in the run folder.
fn world_eval(args: &SftArgs, model: &Gpt, chat: &ChatTokenizer, run: &RunDir, file: &str) -> Result<Option<WorldEval>, RunError> {
    if args.eval_prompts == 0 {
        return Ok(None);
    }
    let options = SampleOptions { max_new_tokens: args.eval_max_new_tokens, seed: args.seed, ..eval_options() };
    let eval = evaluate_world(model, chat, &eval_prompts(args.world_seed, args.eval_prompts), &options)?;
    let path = run.root().join(file);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| format!("{}: cannot write: {e}", path.display()))?);
    for a in &eval.answers {
        writeln!(out, "{}", serde_json::to_string(&a.to_json())?)?;
    }
    out.flush()?;
    Ok(Some(eval))
}

fn train(args: &SftArgs) -> Result<(), RunError> {
    let wall = Instant::now();
    let resuming = args.resume && args.out.join("checkpoint").join(CHECKPOINT_JSON).exists();
    if args.resume && !resuming {
        return Err(format!("--resume: no checkpoint in {}", args.out.join("checkpoint").display()).into());
    }
    let base_dir = super::generate::resolve_model_dir(&args.base)?;
    let (mut base, tok, chat) = load_chat_model(&base_dir)?;
    if let Some(p) = args.dropout {
        base.config.dropout = p;
    }
    let block = base.config.block_size;

    // All the data is read and checked before the run folder is touched: a bad line loses nothing.
    let source = args.source()?;
    let conversations = source.load()?;
    let (train_convs, val_convs) = split_train_val(conversations, args.val_fraction, args.seed);
    let train_set = RenderedSet::build(&chat, &train_convs, block);
    let val_set = RenderedSet::build(&chat, &val_convs, block);
    for (name, set) in [("train", &train_set), ("validation", &val_set)] {
        if set.skipped() > 0 {
            eprintln!("sft: {name} set {}", set.describe_skipped());
        }
        if name == "train" && set.too_long * 4 > set.total {
            eprintln!("sft: more than a quarter of the examples do not fit a context of {block} tokens: a base model with a longer one (`rlhf pretrain --block-size`) would learn from them");
        }
        if set.truncated > 0 {
            eprintln!("sft: {name} set: {} conversations lost old turns to fit the context of {block} tokens", set.truncated);
        }
    }
    if train_set.examples.is_empty() || val_set.examples.is_empty() {
        return Err(format!(
            "{}: no usable {} examples for a model with a context of {block} tokens (see the lines above)",
            source.describe(),
            if train_set.examples.is_empty() { "training" } else { "validation" }
        )
        .into());
    }
    let data_json = json!({
        "source": source.describe(),
        "train_examples": train_set.examples.len(),
        "val_examples": val_set.examples.len(),
        "skipped": train_set.skipped() + val_set.skipped(),
        "digest": train_set.digest(),
    });

    let mut run = RunDir::open(&args.out, !resuming)?;
    let config = args.config();
    let model_config = base.config.clone();
    let mut trainer = SftTrainer::new(base, config.clone(), train_set.examples.len(), chat.pad_id());
    let mut start_step = 0;
    let mut eval_before: Option<Value> = None;
    if resuming {
        let manifest_path = run.checkpoint_dir().join(CHECKPOINT_JSON);
        let manifest: Value = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)
            .map_err(|e| format!("{}: malformed: {e}", manifest_path.display()))?;
        let saved = &manifest["train"]["config"];
        if saved["model"] != model_config.to_hf_json() {
            return Err(format!("--resume: the checkpoint's model {} differs from the base {}", saved["model"], model_config.to_hf_json()).into());
        }
        if saved["data"]["digest"] != data_json["digest"] {
            return Err(format!("--resume: the checkpoint trained on other data ({}) than now ({})", saved["data"], data_json).into());
        }
        let state = load_checkpoint(run.checkpoint_dir(), &trainer.model, &mut trainer.opt)?;
        start_step = state.step;
        trainer.rng = engine::rng::Rng::from_state(state.rng_state.ok_or("--resume: the checkpoint has no RNG state")?)?;
        eval_before = saved.get("eval_before").filter(|v| !v.is_null()).cloned();
        eprintln!("resuming {} from step {start_step}", args.out.display());
    }
    eprintln!(
        "sft: {} parameters (block {block}, vocab {}), {} training and {} validation conversations from {}, {} thread(s)",
        trainer.model.num_parameters(),
        model_config.vocab_size,
        train_set.examples.len(),
        val_set.examples.len(),
        source.describe(),
        rayon::current_num_threads()
    );
    if !resuming {
        if let Some(before) = world_eval(args, &trainer.model, &chat, &run, "eval_before.jsonl")? {
            eprintln!("checker on held-out world prompts before SFT: {}", before.describe());
            eval_before = Some(before.to_json());
        }
    }

    let checkpoint_every = args.checkpoint_every.unwrap_or(args.eval_every).max(1);
    let interrupt_handled = interrupt::install();
    let progress = Progress::new(args.steps, start_step);
    let (mut train_time, mut steps_run, mut tokens_run) = (0.0f64, 0u64, 0usize);
    let (mut last_loss, mut last_val) = (None, None);
    let mut interrupted = false;
    let eval_rows = val_set.examples.len().min(256);
    let train_state = |step: u64, rng: &engine::rng::Rng| TrainState {
        step,
        rng_state: Some(rng.state()),
        config: json!({
            "stage": "sft",
            "model": model_config.to_hf_json(),
            "base": base_dir.display().to_string(),
            "data": data_json,
            "seed": args.seed,
            "eval_before": eval_before,
        }),
    };
    for step in start_step..args.steps {
        let started = Instant::now();
        let stats = trainer.step(step, &train_set.examples)?;
        let seconds = started.elapsed().as_secs_f64();
        train_time += seconds;
        steps_run += 1;
        tokens_run += stats.real_tokens;
        let done = step + 1;
        last_loss = Some(stats.loss);
        let tokens_per_s = stats.real_tokens as f64 / seconds;
        run.metrics.append(&MetricRecord::Train {
            step: done,
            loss: stats.loss,
            lr: stats.lr,
            grad_norm: stats.grad_norm,
            tokens_per_s,
            elapsed_s: wall.elapsed().as_secs_f64(),
        })?;
        progress.update(done, stats.loss, tokens_per_s);

        if done % args.eval_every == 0 || done == args.steps {
            // The same rows every time: the first of the (shuffled) training set, and the whole
            // validation set; both losses are on response tokens only.
            let train_loss = response_loss(&trainer.model, &train_set.examples[..eval_rows.min(train_set.examples.len())], args.batch_size, chat.pad_id())?;
            let val_loss = response_loss(&trainer.model, &val_set.examples, args.batch_size, chat.pad_id())?;
            let (train_loss, val_loss) = (train_loss.unwrap_or(f32::NAN), val_loss.unwrap_or(f32::NAN));
            last_val = Some(val_loss);
            run.metrics.append(&MetricRecord::Eval { step: done, train_loss, val_loss })?;
            progress.println(format!("step {done}: train loss {train_loss:.4}, val loss on responses {val_loss:.4}"));
        }
        let stop = interrupt::requested() || args.stop_after == Some(done);
        if done % checkpoint_every == 0 || done == args.steps || stop {
            save_checkpoint(run.checkpoint_dir(), &trainer.model, &trainer.opt, &train_state(done, &trainer.rng))?;
            save_model(&run, &trainer.model, &base_dir, &tok)?;
        }
        if stop {
            interrupted = done < args.steps;
            progress.println(format!("stopped after step {done}; checkpoint saved in {}", run.checkpoint_dir().display()));
            break;
        }
    }
    progress.finish();
    if !interrupt_handled {
        eprintln!("note: Ctrl-C handler unavailable; an interrupt will not save a checkpoint");
    }
    if start_step >= args.steps {
        eprintln!("sft: the checkpoint is already at step {start_step} of {}", args.steps);
    }

    let mut extra = json!({ "data": data_json, "eval_before": eval_before.clone(), "eval_after": Value::Null });
    let finished = start_step + steps_run >= args.steps;
    if finished {
        if let Some(after) = world_eval(args, &trainer.model, &chat, &run, "eval_after.jsonl")? {
            eprintln!("checker on held-out world prompts after SFT:  {}", after.describe());
            let mut scores = std::collections::BTreeMap::new();
            for (key, value) in [("before", &eval_before), ("after", &Some(after.to_json()))] {
                if let Some(v) = value {
                    scores.insert(format!("world_correct_{key}"), v["correct"].as_f64().unwrap_or(f64::NAN));
                    scores.insert(format!("world_score_{key}"), v["mean_score"].as_f64().unwrap_or(f64::NAN));
                }
            }
            run.metrics.append(&MetricRecord::Scores { step: start_step + steps_run, scores })?;
            extra["eval_after"] = after.to_json();
        }
    }

    let summary = Summary {
        stage: "sft".into(),
        steps: start_step + steps_run,
        steps_this_run: steps_run,
        tokens_per_s: if train_time > 0.0 { tokens_run as f64 / train_time } else { 0.0 },
        final_train_loss: last_loss,
        final_val_loss: last_val,
        wall_time_s: wall.elapsed().as_secs_f64(),
        peak_memory_bytes: peak_memory_bytes(),
        interrupted,
    };
    run.finish_with_extra(&summary, &extra)?;
    let mut printed = serde_json::to_value(&summary)?;
    printed["extra"] = extra;
    println!("{}", serde_json::to_string_pretty(&printed)?);
    Ok(())
}
