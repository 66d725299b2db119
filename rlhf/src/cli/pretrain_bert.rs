//! `rlhf pretrain --model bert`: masked-LM pretraining of a BERT encoder on a text file.
//!
//! ```text
//! rlhf pretrain --model bert --data ../shared/data/tinyshakespeare.txt --out runs/bert-shakespeare \
//!     --steps 1000 --batch-size 16 --lr 1e-3
//! rlhf fill-mask --checkpoint runs/bert-shakespeare/model "To be, or not to b[MASK]"
//! ```
//! The same run folder as GPT pretraining (see [`rlhf::run`]): `metrics.jsonl`, `loss.svg`,
//! `summary.json`, `checkpoint/` (exact resume: the same weights bit for bit as an uninterrupted run),
//! `model/` (a Hugging Face `BertForMaskedLM` folder with `vocab.txt`, which `rlhf fill-mask` and
//! `transformers` load), Ctrl-C saving a checkpoint first.
//!
//! Data: the corpus is tokenised once into `tokens.bin` with a WordPiece vocabulary: `char` builds a
//! character-level one from the data ([`models::bert::char_vocab`]: the BERT specials, each character and
//! its `##` continuation), `world` from the built-in world's characters, `wordpiece:DIR` reads a BERT
//! `vocab.txt`, and a character tokenizer JSON saved by `rlhf tokenize` gives its characters. Each example
//! is `[CLS]` + a window of `block_size - 2` tokens at a random offset + `[SEP]`; 15% of the window's tokens
//! are chosen (80% `[MASK]`, 10% random, 10% kept) and the loss is the cross-entropy on the chosen ones.
//!
//! Evaluation: masked-LM loss and masked-token accuracy on fixed batches of each split (the same windows and
//! masks every time), beside the unigram baseline: the accuracy of always answering the most frequent
//! token among the validation batches' masked targets.
//!
//! Sizes: `--n-layer` (default 4), `--n-head` (4), `--n-embd` (128; the feed-forward is 4x wide),
//! `--block-size` (128, `[CLS]` and `[SEP]` included); `--preset` and `--init-from` are GPT's.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use autograd::checkpoint::{save_checkpoint, TrainState, CHECKPOINT_JSON};
use autograd::nn::Module;
use autograd::no_grad;
use autograd::optim::{clip_grad_norm, grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer};
use engine::rng::Rng;
use engine::Tensor;
use models::bert::char_vocab::{char_wordpiece, save_wordpiece};
use models::bert::{
    load_wordpiece, mask_tokens, masked_accuracy, mlm_loss, windows_with_cls_sep, BertActivation, BertConfig,
    BertForMaskedLM, Dropout, MaskingOptions, IGNORE_INDEX,
};
use models::tokenizer::{AnyTokenizer, WordPiece};
use serde_json::json;

use super::pretrain::PretrainArgs;
use rlhf::run::tokens::{token_paths, TokenFile, TokenFileInfo};
use rlhf::run::{interrupt, peak_memory_bytes, MetricRecord, Progress, RunDir, RunError, Summary, TrainStep};

/// The default sizes of a small BERT: 4 layers, 4 heads, 128 wide, block 128.
const DEFAULT_SIZES: (usize, usize, usize, usize) = (4, 4, 128, 128);

/// The run's vocabulary, kept in the run folder so a resume tokenises the same way.
const RUN_VOCAB_DIR: &str = "bert_vocab";

/// Runs `rlhf pretrain --model bert`.
pub fn run(args: &PretrainArgs) -> Result<(), RunError> {
    super::pretrain::validate(args)?;
    if args.init_from.is_some() {
        return Err("--init-from is for --model gpt; --model bert trains from scratch".into());
    }
    if args.preset != "char-tiny" {
        return Err("--preset names GPT sizes; for --model bert use --n-layer/--n-head/--n-embd/--block-size".into());
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| train(args))
}

/// The tokenizer spec: `--tokenizer`, else `world` without `--data`, else `char`.
fn tokenizer_spec(args: &PretrainArgs) -> String {
    match (&args.tokenizer, &args.data) {
        (Some(spec), _) => spec.clone(),
        (None, None) => "world".into(),
        (None, Some(_)) => "char".into(),
    }
}

/// The WordPiece vocabulary a spec names (`char` reads the corpus through `text`).
fn wordpiece_for(spec: &str, text: impl FnOnce() -> Result<String, RunError>) -> Result<WordPiece, RunError> {
    if spec == "char" {
        return Ok(char_wordpiece(&text()?)?);
    }
    if spec == "world" {
        return Ok(char_wordpiece(&rlhf::world::charset())?);
    }
    if let Some(dir) = spec.strip_prefix("wordpiece:") {
        return Ok(load_wordpiece(dir)?);
    }
    if spec.starts_with("gpt2:") {
        return Err(format!("--tokenizer {spec}: BERT needs a WordPiece vocabulary (char, world, wordpiece:DIR)").into());
    }
    match AnyTokenizer::load(spec).map_err(|e| e.to_string())? {
        AnyTokenizer::Char(c) => Ok(char_wordpiece(&c.chars().iter().collect::<String>())?),
        _ => Err(format!("--tokenizer {spec}: a BPE vocabulary cannot be a BERT WordPiece vocabulary; use char, world or wordpiece:DIR").into()),
    }
}

/// Tokenises the corpus into the run folder unless a matching token file is already there; the vocabulary
/// is saved in the run folder beside it.
fn prepare_tokens(spec: &str, data: &Path, run: &RunDir) -> Result<(TokenFile, WordPiece), RunError> {
    let (bin, json) = token_paths(run.root());
    let vocab_dir = run.root().join(RUN_VOCAB_DIR);
    // The token file records what made it; "bert:" keeps a GPT run's tokens in the same folder apart.
    let want = TokenFileInfo::describe(data, &format!("bert:{spec}"))?;
    let read_text = || -> Result<String, RunError> { Ok(models::tokenizer::read_text_file(data).map_err(|e| e.to_string())?) };
    if bin.exists() && json.exists() && vocab_dir.join("vocab.txt").exists() {
        if let Ok(existing) = TokenFile::open(&bin, &json) {
            if existing.info.same_source(&want) {
                return Ok((existing, load_wordpiece(&vocab_dir)?));
            }
        }
    }
    let text = read_text()?;
    let wp = wordpiece_for(spec, || Ok(text.clone()))?;
    let started = Instant::now();
    let ids = wp.encode_ordinary(&text);
    eprintln!("tokenised {} ({} bytes) into {} tokens in {:.2}s", data.display(), text.len(), ids.len(), started.elapsed().as_secs_f64());
    let unknown = ids.iter().filter(|&&id| Some(id) == wp.token_id("[UNK]")).count();
    if unknown * 100 > ids.len() {
        eprintln!("warning: {unknown} of {} tokens are [UNK]", ids.len());
    }
    save_wordpiece(&wp, &vocab_dir)?;
    let info = TokenFileInfo { vocab_size: wp.vocab_size(), ..want };
    Ok((TokenFile::write(&bin, &json, &ids, info)?, wp))
}

/// The ids of the BERT specials in a vocabulary.
struct Specials {
    cls: u32,
    sep: u32,
    mask: u32,
    pad: u32,
    all: Vec<u32>,
}

impl Specials {
    fn of(wp: &WordPiece) -> Result<Specials, RunError> {
        let id = |name: &str| wp.token_id(name).ok_or_else(|| format!("the vocabulary has no {name} token"));
        let (pad, unk, cls, sep, mask) = (id("[PAD]")?, id("[UNK]")?, id("[CLS]")?, id("[SEP]")?, id("[MASK]")?);
        Ok(Specials { cls, sep, mask, pad, all: vec![pad, unk, cls, sep, mask] })
    }
}

/// The model's configuration from the size options and the vocabulary.
fn model_config(args: &PretrainArgs, vocab_size: usize, pad: u32) -> Result<BertConfig, RunError> {
    let (layers, heads, width, block) = DEFAULT_SIZES;
    let block = args.block_size.unwrap_or(block);
    if block < 3 {
        return Err(format!("--block-size {block}: a BERT window needs [CLS], at least one token and [SEP]").into());
    }
    let hidden = args.n_embd.unwrap_or(width);
    let config = BertConfig {
        vocab_size,
        hidden_size: hidden,
        num_hidden_layers: args.n_layer.unwrap_or(layers),
        num_attention_heads: args.n_head.unwrap_or(heads),
        intermediate_size: 4 * hidden,
        hidden_act: BertActivation::GeluErf,
        max_position_embeddings: block,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        initializer_range: 0.02,
        pad_token_id: pad,
    };
    config.validate()?;
    Ok(config)
}

/// The config as the JSON the checkpoint records (compared on resume).
fn config_json(config: &BertConfig) -> serde_json::Value {
    serde_json::from_str(&config.to_json_string("BertForMaskedLM")).unwrap_or_default()
}

/// Draws `b` examples (`[CLS]` + window + `[SEP]`) from `[start, end)` of the token file and masks them.
fn batch(
    tokens: &TokenFile,
    range: (usize, usize),
    b: usize,
    block: usize,
    specials: &Specials,
    masking: &MaskingOptions,
    rng: &mut Rng,
) -> Result<(Tensor, Tensor), RunError> {
    let window = block - 2;
    let mut stream = Vec::with_capacity(b * window);
    for _ in 0..b {
        let offset = range.0 + rng.gen_range(range.1 - range.0 - window)?;
        stream.extend((offset..offset + window).map(|i| tokens.get(i)));
    }
    let starts: Vec<usize> = (0..b).map(|i| i * window).collect();
    let ids = windows_with_cls_sep(&stream, &starts, window, specials.cls, specials.sep)?;
    let masked = mask_tokens(&ids, None, masking, rng)?;
    Ok((masked.input_ids, masked.labels))
}

/// What one evaluation of a split measured.
struct SplitEval {
    loss: f32,
    accuracy: f32,
    /// The accuracy of always answering the most frequent masked target of these batches.
    unigram_accuracy: f32,
}

/// Masked-LM loss (mean over every chosen token), accuracy and the unigram baseline over `eval_batches`
/// batches drawn from a fixed generator: the same windows and masks every evaluation.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    model: &BertForMaskedLM,
    tokens: &TokenFile,
    range: (usize, usize),
    args: &PretrainArgs,
    specials: &Specials,
    masking: &MaskingOptions,
    seed: u64,
) -> Result<SplitEval, RunError> {
    let _guard = no_grad();
    let mut rng = Rng::new(seed);
    let block = model.bert.config.max_position_embeddings;
    let (mut loss_sum, mut correct, mut chosen) = (0.0f64, 0usize, 0usize);
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for _ in 0..args.eval_batches {
        let (ids, labels) = batch(tokens, range, args.batch_size, block, specials, masking, &mut rng)?;
        let logits = model.forward(&ids, None, None)?;
        let (c, n) = masked_accuracy(logits.tensor(), &labels)?;
        if n > 0 {
            loss_sum += mlm_loss(&logits, &labels)?.item()? as f64 * n as f64;
        }
        correct += c;
        chosen += n;
        for label in labels.to_vec::<i64>()?.into_iter().filter(|&l| l != IGNORE_INDEX) {
            *counts.entry(label).or_default() += 1;
        }
    }
    if chosen == 0 {
        return Err("evaluation chose no token to mask; raise --eval-batches or --block-size".into());
    }
    let most = counts.values().copied().max().unwrap_or(0);
    Ok(SplitEval {
        loss: (loss_sum / chosen as f64) as f32,
        accuracy: correct as f32 / chosen as f32,
        unigram_accuracy: most as f32 / chosen as f32,
    })
}

/// Saves the resumable checkpoint and the Hugging Face `BertForMaskedLM` folder with its vocabulary.
fn save_all(run: &RunDir, model: &BertForMaskedLM, opt: &AdamW, state: &TrainState, wp: &WordPiece) -> Result<(), RunError> {
    save_checkpoint(run.checkpoint_dir(), model, opt, state)?;
    let dir = run.model_dir();
    model.save_pretrained(&dir)?;
    save_wordpiece(wp, &dir)?;
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
        None => super::pretrain::write_world_corpus(args, &run)?,
    };
    let spec = tokenizer_spec(args);
    let (tokens, wp) = prepare_tokens(&spec, &data, &run)?;
    let specials = Specials::of(&wp)?;
    let config = model_config(args, wp.vocab_size(), specials.pad)?;
    let block = config.max_position_embeddings;
    let window = block - 2;
    let n = tokens.len();
    let split = ((n as f64) * (1.0 - args.val_fraction)) as usize;
    if split < window + 1 || n - split < window + 1 {
        return Err(format!(
            "{}: {n} tokens leave {split} for training and {} for validation; each split needs more than the window {window} (block size {block} - 2)",
            data.display(),
            n - split
        )
        .into());
    }
    let masking = MaskingOptions::bert(specials.mask, config.vocab_size, specials.all.clone());

    let model = BertForMaskedLM::new(&config, &mut Rng::new(args.seed))?;
    let options = AdamWOptions { lr: args.lr, beta1: 0.9, beta2: args.beta2, eps: 1e-8 };
    let mut opt = AdamW::for_module(&model, args.weight_decay, options);
    let mut rng = Rng::new(args.seed).split(1);
    let mut start_step = 0;
    if resuming {
        (start_step, rng) = rlhf::run::resume_checkpoint(&run, &model, &mut opt, &config_json(&config))?;
        eprintln!("resuming {} from step {start_step}", args.out.display());
    }
    eprintln!(
        "pretrain (BERT, masked LM): {} parameters ({} layers, {} heads, {} wide, block {block}, vocab {}), {n} tokens ({split} train), {} thread(s)",
        model.num_parameters(),
        config.num_hidden_layers,
        config.num_attention_heads,
        config.hidden_size,
        config.vocab_size,
        rayon::current_num_threads()
    );

    let schedule = LrSchedule::WarmupCosine { max_lr: args.lr, min_lr: args.min_lr, warmup_steps: args.warmup, decay_steps: args.steps };
    let params = model.parameters();
    let checkpoint_every = args.checkpoint_every.unwrap_or(args.eval_every).max(1);
    let tokens_per_step = (args.batch_size * args.grad_accum * block) as f64;
    let interrupt_handled = interrupt::install();
    let progress = Progress::new(args.steps, start_step);
    let (mut train_time, mut steps_run) = (0.0f64, 0u64);
    let (mut last_loss, mut last_eval) = (None, None);
    let mut interrupted = false;
    let train_state = |step: u64, rng: &Rng| TrainState {
        step,
        rng_state: Some(rng.state()),
        config: json!({ "stage": "pretrain-bert", "model": config_json(&config), "tokenizer": spec, "seed": args.seed }),
    };

    for step in start_step..args.steps {
        let started = Instant::now();
        let lr = schedule.lr_at(step);
        opt.set_lr(lr);
        opt.zero_grad();
        let mut loss_sum = 0.0f64;
        for _ in 0..args.grad_accum {
            let (ids, labels) = batch(&tokens, (0, split), args.batch_size, block, &specials, &masking, &mut rng)?;
            // Dropout draws from a generator seeded by the run's, so a resumed run drops the same units.
            let mut dropout = (args.dropout > 0.0).then(|| Dropout::new(args.dropout, rng.next_u64()));
            let (_, logits) = model.forward_train(&ids, None, None, dropout.as_mut())?;
            let loss = mlm_loss(&logits, &labels)?;
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
            let train_eval = evaluate(&model, &tokens, (0, split), args, &specials, &masking, eval_seed)?;
            let val = evaluate(&model, &tokens, (split, n), args, &specials, &masking, eval_seed)?;
            run.metrics.append(&MetricRecord::Eval { step: done, train_loss: train_eval.loss, val_loss: val.loss })?;
            let scores = BTreeMap::from([
                ("train_masked_accuracy".to_string(), train_eval.accuracy as f64),
                ("val_masked_accuracy".to_string(), val.accuracy as f64),
                ("val_unigram_baseline_accuracy".to_string(), val.unigram_accuracy as f64),
            ]);
            run.metrics.append(&MetricRecord::Scores { step: done, scores })?;
            progress.println(format!(
                "step {done}: train loss {:.4}, val loss {:.4}, val masked accuracy {:.3} (unigram baseline {:.3})",
                train_eval.loss, val.loss, val.accuracy, val.unigram_accuracy
            ));
            last_eval = Some(val);
        }
        let stop = interrupt::requested() || args.stop_after == Some(done);
        if done % checkpoint_every == 0 || done == args.steps || stop {
            save_all(&run, &model, &opt, &train_state(done, &rng), &wp)?;
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
        stage: "pretrain-bert".into(),
        steps: start_step + steps_run,
        steps_this_run: steps_run,
        tokens_per_s: if train_time > 0.0 { tokens_per_step * steps_run as f64 / train_time } else { 0.0 },
        final_train_loss: last_loss,
        final_val_loss: last_eval.as_ref().map(|e| e.loss),
        wall_time_s: wall.elapsed().as_secs_f64(),
        peak_memory_bytes: peak_memory_bytes(),
        interrupted,
    };
    run.finish(&summary)?;
    // summary.json gets the masked-LM figures beside the common ones.
    let mut value = serde_json::to_value(&summary)?;
    if let (Some(e), Some(object)) = (&last_eval, value.as_object_mut()) {
        object.insert("final_val_masked_accuracy".into(), json!(e.accuracy));
        object.insert("val_unigram_baseline_accuracy".into(), json!(e.unigram_accuracy));
    }
    let text = serde_json::to_string_pretty(&value)?;
    let path = run.root().join("summary.json");
    std::fs::write(&path, text.clone() + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    println!("{text}");
    Ok(())
}
