//! `rlhf pretrain`: next-token pretraining of a GPT on a text file.
//!
//! ```text
//! rlhf pretrain --data ../shared/data/tinyshakespeare.txt --out runs/shakespeare \
//!     --preset char-tiny --steps 2000 --batch-size 12 --lr 1e-3 --min-lr 1e-4
//! rlhf pretrain --data corpus.txt --tokenizer gpt2:GPT2_DIR --preset gpt2 ...
//! rlhf pretrain --out runs/shakespeare --data ... --resume    # continue from runs/shakespeare/checkpoint
//! ```
//! The corpus is tokenised once into the run folder's `tokens.bin` (memory-mapped); the first
//! `1 - val_fraction` of it trains, the rest validates. Each step draws `batch_size x grad_accum` windows
//! at random offsets from a seeded generator; AdamW with linear warmup and cosine decay, clipping by the
//! global norm. Every step and evaluation is appended to `metrics.jsonl`; checkpoints resume exactly (the
//! same weights, bit for bit, as an uninterrupted run); Ctrl-C saves one before exiting. See
//! [`rlhf::run`] for the folder's layout.
use std::path::{Path, PathBuf};
use std::time::Instant;

use autograd::checkpoint::{save_checkpoint, TrainState, CHECKPOINT_JSON};
use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer};
use autograd::no_grad;
use clap::Args;
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{load_tokenizer_from_dir, save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use models::tokenizer::{AnyTokenizer, CharTokenizer, Tokenizer};
use serde_json::json;

use rlhf::run::tokens::{token_paths, TokenFile, TokenFileInfo};
use rlhf::run::{interrupt, peak_memory_bytes, MetricRecord, Progress, RunDir, RunError, Summary, TrainStep};

/// Options of `rlhf pretrain`.
#[derive(Args, Clone, Debug)]
pub struct PretrainArgs {
    /// The training text (UTF-8). Default: the built-in world's pretraining corpus (written to the run
    /// folder as `corpus.txt`, with the world's character vocabulary and the chat special tokens).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Characters of built-in world corpus to write when --data is not given.
    #[arg(long, default_value_t = 400_000)]
    pub world_chars: usize,
    /// `gpt` (next-token prediction) or `bert` (masked-LM pretraining of an encoder).
    #[arg(long, default_value = "gpt")]
    pub model: String,
    /// The run folder (metrics, chart, summary, checkpoint, model).
    #[arg(long, default_value = "runs/pretrain")]
    pub out: PathBuf,
    /// `char` (a character vocabulary built from the data), `world` (the built-in world's characters),
    /// `gpt2:DIR` (GPT-2's vocab.json + merges.txt), or a tokenizer JSON saved by `rlhf tokenize train`.
    /// Default: `world` without --data, else `char`.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Model preset: char-tiny, char-small or gpt2 (the vocabulary size always comes from the tokenizer).
    #[arg(long, default_value = "char-tiny")]
    pub preset: String,
    /// Start from the weights and sizes of a model folder (a Hugging Face GPT-2 folder or a run folder):
    /// fine-tuning. The size options are then not allowed; without --tokenizer the folder's tokenizer is used.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Override the preset's number of layers.
    #[arg(long)]
    pub n_layer: Option<usize>,
    /// Override the preset's number of heads.
    #[arg(long)]
    pub n_head: Option<usize>,
    /// Override the preset's width.
    #[arg(long)]
    pub n_embd: Option<usize>,
    /// Override the preset's context length (default with the built-in world: 128).
    #[arg(long)]
    pub block_size: Option<usize>,
    /// Dropout probability (training only).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Optimizer steps in the whole run (the cosine decays to --min-lr at this step).
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// Sequences per micro-batch.
    #[arg(long, default_value_t = 12)]
    pub batch_size: usize,
    /// Micro-batches per optimizer step (gradient accumulation).
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Peak learning rate (after warmup).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Final learning rate of the cosine decay.
    #[arg(long, default_value_t = 1e-4)]
    pub min_lr: f32,
    /// Linear warmup steps.
    #[arg(long, default_value_t = 100)]
    pub warmup: u64,
    /// AdamW weight decay of the matrices (biases, norms and embeddings do not decay).
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f32,
    /// AdamW beta2.
    #[arg(long, default_value_t = 0.99)]
    pub beta2: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f32,
    /// Evaluate every N steps (and at the end).
    #[arg(long, default_value_t = 250)]
    pub eval_every: u64,
    /// Batches per evaluation, on each split.
    #[arg(long, default_value_t = 20)]
    pub eval_batches: usize,
    /// Fraction of the tokens held out for validation (the end of the file).
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Checkpoint every N steps (default: at each evaluation); always at the end and on Ctrl-C.
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Seed of the initialisation, the batches and dropout.
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

/// The context length of a model pretrained on the built-in world when `--block-size` is not given.
pub const WORLD_BLOCK_SIZE: usize = 128;

/// Runs `rlhf pretrain`.
pub fn run(args: &PretrainArgs) -> Result<(), RunError> {
    args.device.check_available()?;
    match args.model.as_str() {
        "gpt" => {}
        "bert" => return super::pretrain_bert::run(args),
        other => return Err(format!("--model {other}: expected gpt or bert").into()),
    }
    validate(args)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| train(args))
}

pub(super) fn validate(args: &PretrainArgs) -> Result<(), RunError> {
    let problem = if args.steps == 0 || args.batch_size == 0 || args.grad_accum == 0 || args.eval_every == 0 {
        "--steps, --batch-size, --grad-accum and --eval-every must be positive"
    } else if !(0.0..1.0).contains(&args.val_fraction) || args.val_fraction == 0.0 {
        "--val-fraction must be in (0, 1)"
    } else if !(args.lr > 0.0 && args.min_lr >= 0.0 && args.min_lr <= args.lr) {
        "--lr must be positive and --min-lr in [0, lr]"
    } else if args.eval_batches == 0 {
        "--eval-batches must be positive"
    } else {
        return Ok(());
    };
    Err(problem.into())
}

/// The tokenizer spec the run uses: `--tokenizer`, or with `--init-from` and no `--tokenizer`, the folder's
/// own (`init:DIR`).
fn tokenizer_spec(args: &PretrainArgs) -> Result<String, RunError> {
    match (&args.init_from, &args.tokenizer) {
        (Some(dir), None) => Ok(format!("init:{}", super::generate::resolve_model_dir(dir)?.display())),
        (_, Some(spec)) => Ok(spec.clone()),
        (None, None) if args.data.is_none() => Ok("world".into()),
        (None, None) => Ok("char".into()),
    }
}

/// The model's configuration from the preset, the overrides and the tokenizer's vocabulary; with
/// `--init-from`, the folder's model and weights.
fn model_config(args: &PretrainArgs, vocab_size: usize) -> Result<(GptConfig, Option<Gpt>), RunError> {
    if let Some(dir) = &args.init_from {
        if args.n_layer.is_some() || args.n_head.is_some() || args.n_embd.is_some() || args.block_size.is_some() {
            return Err("--init-from takes the model's sizes from the folder: drop --n-layer/--n-head/--n-embd/--block-size".into());
        }
        let init = models::gpt::load_hf_dir(super::generate::resolve_model_dir(dir)?)?;
        if vocab_size > init.config.vocab_size {
            return Err(format!("the tokenizer has {vocab_size} ids but the --init-from model only {}", init.config.vocab_size).into());
        }
        let mut c = init.config.clone();
        c.dropout = args.dropout;
        c.validate()?;
        return Ok((c, Some(init)));
    }
    let mut c = GptConfig::preset(&args.preset)?;
    c.vocab_size = vocab_size;
    c.n_layer = args.n_layer.unwrap_or(c.n_layer);
    c.n_head = args.n_head.unwrap_or(c.n_head);
    c.n_embd = args.n_embd.unwrap_or(c.n_embd);
    // World prompts with their answers need up to ~130 characters: 64 would cut most SFT demonstrations.
    let world_block = if args.data.is_none() && args.tokenizer.is_none() { Some(WORLD_BLOCK_SIZE) } else { None };
    c.block_size = args.block_size.or(world_block).unwrap_or(c.block_size);
    c.dropout = args.dropout;
    c.validate()?;
    Ok((c, None))
}

/// The tokenizer of the run: the one saved in the run folder when resuming or re-using its token file,
/// else built from the spec (`char` reads the corpus).
fn tokenizer_for(args: &PretrainArgs, run: &RunDir, text: impl FnOnce() -> Result<String, RunError>) -> Result<AnyTokenizer, RunError> {
    let saved = run.root().join(models::gpt::hf::TOKENIZER_FILE);
    if saved.exists() {
        return Ok(AnyTokenizer::load(&saved).map_err(|e| e.to_string())?);
    }
    let spec = tokenizer_spec(args)?;
    let tok = if let Some(dir) = spec.strip_prefix("init:") {
        load_tokenizer_from_dir(dir)?.ok_or_else(|| format!("{dir}: no tokenizer files; pass --tokenizer"))?
    } else if spec == "world" {
        AnyTokenizer::Char(CharTokenizer::from_corpus(&rlhf::world::charset()).map_err(|e| e.to_string())?)
    } else if spec == "char" {
        AnyTokenizer::Char(CharTokenizer::from_corpus(&text()?).map_err(|e| e.to_string())?)
    } else {
        AnyTokenizer::from_spec(&spec).map_err(|e| e.to_string())?
    };
    Ok(tok)
}

/// Tokenises the corpus into the run folder unless a matching token file is already there.
fn prepare_tokens(args: &PretrainArgs, data: &Path, run: &RunDir) -> Result<(TokenFile, AnyTokenizer), RunError> {
    let (bin, json) = token_paths(run.root());
    let want = TokenFileInfo::describe(data, &tokenizer_spec(args)?)?;
    let read_text = || -> Result<String, RunError> { Ok(models::tokenizer::read_text_file(data).map_err(|e| e.to_string())?) };
    if bin.exists() && json.exists() {
        if let Ok(existing) = TokenFile::open(&bin, &json) {
            if existing.info.same_source(&want) {
                let tok = tokenizer_for(args, run, read_text)?;
                return Ok((existing, tok));
            }
        }
        // A different corpus or tokenizer: the saved vocabulary belongs to the old one.
        let _ = std::fs::remove_file(run.root().join(models::gpt::hf::TOKENIZER_FILE));
    }
    let text = read_text()?;
    let tok = tokenizer_for(args, run, || Ok(text.clone()))?;
    let started = Instant::now();
    let ids = tok.encode_for_model(&text, false).map_err(|e| e.to_string())?;
    eprintln!("tokenised {} ({} bytes) into {} tokens in {:.2}s", data.display(), text.len(), ids.len(), started.elapsed().as_secs_f64());
    let info = TokenFileInfo { vocab_size: tok.vocab_size(), ..want };
    if !matches!(tok, AnyTokenizer::WordPiece(_)) {
        tok.save(run.root().join(models::gpt::hf::TOKENIZER_FILE)).map_err(|e| e.to_string())?;
    }
    Ok((TokenFile::write(&bin, &json, &ids, info)?, tok))
}

/// Writes the built-in world's pretraining corpus (seeded by `--seed`) to `corpus.txt` in the run folder,
/// unless the same text is already there (a resumed run).
pub(super) fn write_world_corpus(args: &PretrainArgs, run: &RunDir) -> Result<PathBuf, RunError> {
    let path = run.root().join("corpus.txt");
    let text = rlhf::world::World::new(args.seed).pretraining_corpus(args.world_chars);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        engine::io::write_atomically(&path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
    }
    Ok(path)
}

/// Draws `b` windows of `t + 1` tokens from `[start, end)` of the token file: ids and next-token targets.
fn batch(tokens: &TokenFile, start: usize, end: usize, b: usize, t: usize, rng: &mut Rng) -> Result<(Tensor, Tensor), RunError> {
    let mut ids = Vec::with_capacity(b * t);
    let mut targets = Vec::with_capacity(b * t);
    for _ in 0..b {
        let offset = start + rng.gen_range(end - start - t)?;
        for i in 0..t {
            ids.push(tokens.get(offset + i) as i64);
            targets.push(tokens.get(offset + i + 1) as i64);
        }
    }
    Ok((Tensor::from_vec(ids, &[b, t])?, Tensor::from_vec(targets, &[b, t])?))
}

/// Mean loss over `n` batches of a split, drawn from a fixed generator (the same windows every evaluation).
fn evaluate(model: &Gpt, tokens: &TokenFile, range: (usize, usize), args: &PretrainArgs, seed: u64) -> Result<f32, RunError> {
    let _guard = no_grad();
    let mut rng = Rng::new(seed);
    let t = model.config.block_size;
    let mut total = 0.0f64;
    for _ in 0..args.eval_batches {
        let (ids, targets) = batch(tokens, range.0, range.1, args.batch_size, t, &mut rng)?;
        total += model.forward(&ids, Some(&targets))?.loss.expect("targets were given").item()? as f64;
    }
    Ok((total / args.eval_batches as f64) as f32)
}

/// Saves the resumable checkpoint and the HF-layout model folder (with the tokenizer).
fn save_all(run: &RunDir, model: &Gpt, opt: &AdamW, state: &TrainState, tok: &AnyTokenizer, spec: &str) -> Result<(), RunError> {
    save_checkpoint(run.checkpoint_dir(), model, opt, state)?;
    let model_dir = run.model_dir();
    save_hf_dir(model, &model_dir)?;
    if let Some(dir) = spec.strip_prefix("gpt2:") {
        copy_gpt2_tokenizer(Path::new(dir), &model_dir)?;
        return Ok(());
    }
    if let Some(dir) = spec.strip_prefix("init:") {
        copy_gpt2_tokenizer(Path::new(dir), &model_dir)?;
    }
    if !matches!(tok, AnyTokenizer::WordPiece(_)) {
        save_tokenizer_to_dir(tok, &model_dir)?;
    }
    Ok(())
}

/// Copies GPT-2's tokenizer files into a model folder, as HF folders carry them.
fn copy_gpt2_tokenizer(from: &Path, to: &Path) -> Result<(), RunError> {
    for name in ["vocab.json", "merges.txt", "encoder.json", "vocab.bpe"] {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).map_err(|e| format!("{}: cannot copy: {e}", from.join(name).display()))?;
        }
    }
    Ok(())
}

fn train(args: &PretrainArgs) -> Result<(), RunError> {
    let wall = Instant::now();
    let resuming = args.resume && args.out.join("checkpoint").join(CHECKPOINT_JSON).exists();
    if args.resume && !resuming {
        return Err(format!("--resume: no checkpoint in {}", args.out.join("checkpoint").display()).into());
    }
    let mut run = RunDir::open(&args.out, !resuming)?;
    let data = match &args.data {
        Some(path) => path.clone(),
        None => write_world_corpus(args, &run)?,
    };
    let (tokens, tok) = prepare_tokens(args, &data, &run)?;
    let spec = tokenizer_spec(args)?;
    // The world's models are chat models from the start: room for the chat special tokens.
    let vocab_size = if spec == "world" { rlhf::data::ChatTokenizer::new(tok.clone()).vocab_size() } else { tok.vocab_size() };
    let (config, init) = model_config(args, vocab_size)?;
    let t = config.block_size;
    let n = tokens.len();
    let split = ((n as f64) * (1.0 - args.val_fraction)) as usize;
    if split < t + 2 || n - split < t + 2 {
        return Err(format!(
            "{}: {n} tokens leave {split} for training and {} for validation; each split needs more than the block size {t} + 1",
            data.display(),
            n - split
        )
        .into());
    }

    let model = Gpt::new(config.clone(), &mut Rng::new(args.seed))?;
    if let Some(init) = &init {
        model.load_state_dict(&init.state_dict())?;
    }
    let options = AdamWOptions { lr: args.lr, beta1: 0.9, beta2: args.beta2, eps: 1e-8 };
    let mut opt = AdamW::for_module(&model, args.weight_decay, options);
    let mut rng = Rng::new(args.seed).split(1);
    let mut start_step = 0;
    if resuming {
        (start_step, rng) = rlhf::run::resume_checkpoint(&run, &model, &mut opt, &config.to_hf_json())?;
        eprintln!("resuming {} from step {start_step}", args.out.display());
    }
    eprintln!(
        "pretrain: {} parameters ({} layers, {} heads, {} wide, block {t}, vocab {}), {n} tokens ({split} train), {} thread(s)",
        model.num_parameters(),
        config.n_layer,
        config.n_head,
        config.n_embd,
        config.vocab_size,
        rayon::current_num_threads()
    );

    let schedule = LrSchedule::WarmupCosine { max_lr: args.lr, min_lr: args.min_lr, warmup_steps: args.warmup, decay_steps: args.steps };
    let params = model.parameters();
    let checkpoint_every = args.checkpoint_every.unwrap_or(args.eval_every).max(1);
    let tokens_per_step = (args.batch_size * args.grad_accum * t) as f64;
    let interrupt_handled = interrupt::install();
    let progress = Progress::new(args.steps, start_step);
    let (mut train_time, mut steps_run) = (0.0f64, 0u64);
    let (mut last_loss, mut last_val) = (None, None);
    let mut interrupted = false;
    let train_state = |step: u64, rng: &Rng| TrainState {
        step,
        rng_state: Some(rng.state()),
        config: json!({ "stage": "pretrain", "model": config.to_hf_json(), "tokenizer": spec, "seed": args.seed }),
    };

    for step in start_step..args.steps {
        let started = Instant::now();
        let lr = schedule.lr_at(step);
        opt.set_lr(lr);
        opt.zero_grad();
        let mut loss_sum = 0.0f64;
        for _ in 0..args.grad_accum {
            let (ids, targets) = batch(&tokens, 0, split, args.batch_size, t, &mut rng)?;
            let loss = model.forward_train(&ids, Some(&targets), &mut rng)?.loss.expect("targets were given");
            loss_sum += loss.item()? as f64;
            loss.mul_scalar(1.0 / args.grad_accum as f32)?.backward()?;
        }
        let norm = if args.grad_clip > 0.0 { clip_grad_norm(&params, args.grad_clip)? } else { grad_norm(&params)? };
        opt.step()?;
        let seconds = started.elapsed().as_secs_f64();
        train_time += seconds;
        steps_run += 1;
        let done = step + 1;
        let loss = (loss_sum / args.grad_accum as f64) as f32;
        let elapsed_s = wall.elapsed().as_secs_f64();
        run.log_train_step(&TrainStep { step: done, loss, lr, grad_norm: norm, tokens: tokens_per_step, seconds, elapsed_s }, Some(&progress))?;
        last_loss = Some(loss);

        if done % args.eval_every == 0 || done == args.steps {
            let eval_seed = args.seed.wrapping_add(0x5eed);
            let train_loss = evaluate(&model, &tokens, (0, split), args, eval_seed)?;
            let val_loss = evaluate(&model, &tokens, (split, n), args, eval_seed)?;
            last_val = Some(val_loss);
            run.metrics.append(&MetricRecord::Eval { step: done, train_loss, val_loss })?;
            progress.println(format!("step {done}: train loss {train_loss:.4}, val loss {val_loss:.4}"));
        }
        let stop = interrupt::requested() || args.stop_after == Some(done);
        if done % checkpoint_every == 0 || done == args.steps || stop {
            save_all(&run, &model, &opt, &train_state(done, &rng), &tok, &spec)?;
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

    let summary = Summary {
        stage: "pretrain".into(),
        steps: start_step + steps_run,
        steps_this_run: steps_run,
        tokens_per_s: if train_time > 0.0 { tokens_per_step * steps_run as f64 / train_time } else { 0.0 },
        final_train_loss: last_loss,
        final_val_loss: last_val,
        wall_time_s: wall.elapsed().as_secs_f64(),
        peak_memory_bytes: peak_memory_bytes(),
        interrupted,
    };
    run.finish(&summary)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
