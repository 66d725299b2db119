//! Training the reward model (`rlhf reward train`, and the pipeline's step) on either trunk, told apart by
//! the base folder's `config.json` ([`super::kind::model_kind`]): the GPT trunk starts from the SFT model
//! with its LM head removed ([`super::reward_model_from_policy`]) and a fresh scalar head reads the
//! `<|end|>` of each answer; the BERT trunk starts from a BERT encoder (`rlhf pretrain --model bert`) and
//! reads `[CLS] prompt [SEP] answer [SEP]` at `[CLS]` ([`super::bert_trunk`]). The loss is InstructGPT's
//! over all C(K,2) pairs of a prompt, with the prompt's K answers in one batch and each run through the
//! model once ([`super::pack_kwise`]). Tied pairs are skipped. What differs between the trunks (loading,
//! encoding, saving) sits behind [`super::kind::RewardBase`]; the loop below is the same for both.
//!
//! Batches hold `batch_prompts` whole prompts; epoch `e` visits the training prompts in the order of a
//! shuffle seeded by `(seed, e)`, so a resumed run needs only the step to continue exactly. A held-out
//! part of the rankings (by prompt, [`super::examples::split_held_out`]) gives the held-out loss and
//! pairwise accuracy at each evaluation. At the end the head's bias is moved so the SFT model's answers
//! (the rankings' responses) score 0 on average, and the report adds Elo ratings of kinds of answer from
//! the held-out rankings beside the model's scores, and the cost of K-wise batching against pairs.
//!
//! The run folder is the one every stage writes ([`crate::run`]): `metrics.jsonl` (train steps, eval
//! losses, and `scores` records with the held-out accuracy), `loss.svg`, `accuracy.svg`, `summary.json` (the figures under
//! `"extra"`), `checkpoint/` (exact resume), and `model/`, a `GPT2ForSequenceClassification`-layout
//! folder ([`super::save_reward_dir`]) or a `BertForSequenceClassification` one
//! ([`super::bert_folder::save_bert_reward_dir`]), with the tokenizer files.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState, CHECKPOINT_JSON};
use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, decay_groups, grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer, ParamGroup};
use engine::rng::Rng;
use serde::Serialize;
use serde_json::json;

use super::batching::{pack_kwise, KwiseExample, Padding};
use super::bert_base::BertBase;
use super::examples::split_held_out;
use super::loss::Ranking;
use super::gpt_base::GptBase;
use super::kind::{model_kind, ModelKind, RewardBase};
use super::normalize::normalization_bias;
use super::report::{
    elo_beside_reward, evaluate_scores, forward_passes, per_prompt_kendall, time_epoch_both_ways, world_answer_kind, BatchingCost,
    EloBesideReward, RankingEval, WORLD_KINDS,
};
use super::score::score_examples;
use super::trunk::RewardModel;
use crate::labeling::{load_labeled, LabeledRanking};
use crate::run::{interrupt, peak_memory_bytes, MetricRecord, Progress, RunDir, RunError, Summary, TrainStep};

/// Settings of a reward-model training run. [`Default`] gives the pipeline's: one epoch over the world
/// rankings `rlhf rank` collects by default (3,000 prompts x K = 6, 18,000 answers), about two minutes
/// of two cores.
#[derive(Clone, Debug, PartialEq)]
pub struct RewardTrainOptions {
    /// The model (model folder or run folder) whose trunk starts the reward model: the SFT model (GPT), or
    /// a BERT encoder (`config.json` says `"model_type": "bert"`).
    pub base: PathBuf,
    /// Rankings files (`rlhf rank` output, or imported datasets).
    pub rankings: Vec<PathBuf>,
    /// The run folder.
    pub out: PathBuf,
    /// Use only the first N rankings (of all files, in order).
    pub max_rankings: Option<usize>,
    /// Passes over the training rankings.
    pub epochs: usize,
    /// Prompts per batch (each with all its K answers).
    pub batch_prompts: usize,
    /// Peak learning rate.
    pub lr: f32,
    /// Final learning rate of the cosine decay.
    pub min_lr: f32,
    /// Linear warmup steps.
    pub warmup: u64,
    /// AdamW weight decay of the matrices.
    pub weight_decay: f32,
    /// Clip the global gradient norm to this (0: off).
    pub grad_clip: f32,
    /// Fraction of the rankings held out (by prompt) for the held-out accuracy.
    pub val_fraction: f64,
    /// Evaluate every N steps (and at the end).
    pub eval_every: u64,
    /// Checkpoint every N steps (default: at each evaluation); always at the end and on Ctrl-C.
    pub checkpoint_every: Option<u64>,
    /// Seed of the head's initialisation and the batch order.
    pub seed: u64,
    /// Keep only the first N transformer blocks of the base trunk (a smaller reward model).
    pub trunk_layers: Option<usize>,
    /// Train only the last N blocks (with the final norm, BERT's pooler, and the head); the embeddings and
    /// the blocks below stay as the base model left them. `None`: train everything.
    pub train_layers: Option<usize>,
    /// Add the answer-likelihood feature (GPT trunks: [`super::RewardModel::with_likelihood_feature`]),
    /// starting at weight 1 and learned at [`LIKELIHOOD_LR_SCALE`] times the learning rate.
    pub likelihood_feature: bool,
    /// Where the likelihood feature reads from: a frozen copy of the base (`true`,
    /// [`super::RewardModel::with_frozen_likelihood_source`]) or the trunk being trained (`false`).
    pub likelihood_frozen: bool,
    /// Longest row (prompt + answer) in tokens; default and maximum: the model's context.
    pub max_len: Option<usize>,
    /// Rewrite texts in the world's characters ([`super::examples::fold_to_world_chars`]) instead of
    /// leaving out the rankings a character vocabulary cannot encode (real data on a world model).
    pub fold_chars: bool,
    /// Prompts of the epoch timed K-wise and pair by pair at the end (0: skip the timing).
    pub timed_prompts: usize,
    /// Continue from the run folder's checkpoint.
    pub resume: bool,
    /// Stop (with a checkpoint) after this step, as Ctrl-C would.
    pub stop_after: Option<u64>,
    /// Draw the progress bar and print the report to stderr.
    pub verbose: bool,
}

impl Default for RewardTrainOptions {
    fn default() -> Self {
        RewardTrainOptions {
            base: PathBuf::from("runs/sft"),
            rankings: vec![PathBuf::from("rankings.jsonl")],
            out: PathBuf::from("runs/reward"),
            max_rankings: None,
            // One epoch: the trunk memorises the prompts it has seen (95% training accuracy after one
            // pass), so held-out accuracy comes from more prompts, not more passes (3,000 x K = 6: 86.8%
            // after one epoch; 667 x K = 6: 81.6% after two). Measured earlier (1,000 x K = 4): lr 1e-4
            // instead of 3e-4, weight decay 0.1, or training only the last 2 blocks (--train-layers 2) all
            // stayed within half a point; more pairs per answer (K = 6 in `rlhf rank`) helped.
            epochs: 1,
            batch_prompts: 8,
            lr: 3e-4,
            min_lr: 3e-5,
            warmup: 10,
            weight_decay: 0.0,
            grad_clip: 1.0,
            val_fraction: 0.15,
            eval_every: 50,
            checkpoint_every: None,
            seed: 1337,
            trunk_layers: None,
            train_layers: None,
            likelihood_feature: false,
            likelihood_frozen: false,
            max_len: None,
            fold_chars: false,
            timed_prompts: 16,
            resume: false,
            stop_after: None,
            verbose: true,
        }
    }
}

/// The learning-rate multiplier of the answer-likelihood feature's weight.
pub const LIKELIHOOD_LR_SCALE: f32 = 10.0;

/// The reward stage's own figures (`summary.json`'s `"extra"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RewardFigures {
    /// Pairwise accuracy on the held-out rankings, after training.
    pub held_out_accuracy: f64,
    /// The same before training (the fresh head), when this run started at step 0.
    pub held_out_accuracy_before: Option<f64>,
    /// Ranking loss on the held-out rankings.
    pub held_out_loss: f64,
    /// Held-out (better, worse) pairs.
    pub held_out_pairs: usize,
    /// Held-out prompts.
    pub held_out_prompts: usize,
    /// Pairwise accuracy on (up to 64 of) the training rankings.
    pub train_accuracy: f64,
    /// Training prompts.
    pub train_prompts: usize,
    /// Training pairs per epoch.
    pub train_pairs: usize,
    /// The rankings files read, in order.
    pub rankings_files: Vec<String>,
    /// Rankings read from the files.
    pub rankings_read: usize,
    /// Rankings left out because the tokenizer cannot encode them (e.g. characters outside a character vocabulary).
    pub skipped_unencodable: usize,
    /// Why the first of them was left out.
    pub skipped_unencodable_example: Option<String>,
    /// Rankings left out because all their answers are tied.
    pub skipped_all_tied: usize,
    /// Pairs of answers skipped because the labeler tied them.
    pub tied_pairs_skipped: usize,
    /// Seconds of training steps in this run (evaluations excluded).
    pub training_time_s: f64,
    /// Epochs of the schedule.
    pub epochs: usize,
    /// The bias added to the head so the SFT answers (the rankings' responses) score 0 on average.
    pub normalization_bias: f32,
    /// How many answers that mean was taken over.
    pub normalized_answers: usize,
    /// Mean per-prompt Kendall tau between the labeler's order and the model's scores (held out).
    pub per_prompt_kendall: Option<f64>,
    /// Elo ratings of kinds of answer from the held-out rankings beside the model's mean score per kind
    /// (world prompts only).
    pub elo: Option<EloBesideReward>,
    /// K-wise batching against pairs: sequences per epoch and the timed small case.
    pub batching: Option<BatchingCost>,
    /// The model folder.
    pub model_dir: String,
}

/// What [`train_reward_model`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct RewardTrainReport {
    /// The run summary (as in `summary.json`).
    pub summary: Summary,
    /// The reward figures (`summary.json`'s `"extra"`).
    pub figures: RewardFigures,
}

const PADDING: Padding = Padding::Right;
const TRAIN_EVAL_PROMPTS: usize = 64;

fn validate(o: &RewardTrainOptions) -> Result<(), RunError> {
    let problem = if o.epochs == 0 || o.batch_prompts == 0 || o.eval_every == 0 {
        "--epochs, --batch-prompts and --eval-every must be positive"
    } else if !(o.val_fraction > 0.0 && o.val_fraction < 1.0) {
        "--val-fraction must be in (0, 1)"
    } else if !(o.lr > 0.0 && o.min_lr >= 0.0 && o.min_lr <= o.lr) {
        "--lr must be positive and --min-lr in [0, lr]"
    } else if o.rankings.is_empty() {
        "--rankings: give at least one rankings file"
    } else if o.trunk_layers == Some(0) {
        "--trunk-layers must be at least 1"
    } else if o.train_layers == Some(0) {
        "--train-layers must be at least 1"
    } else {
        return Ok(());
    };
    Err(problem.into())
}

/// Trains a reward model as `options` say (the caller sets the thread pool) and returns its report.
pub fn train_reward_model(options: &RewardTrainOptions) -> Result<RewardTrainReport, RunError> {
    validate(options)?;
    let wall = Instant::now();
    let resuming = options.resume && options.out.join("checkpoint").join(CHECKPOINT_JSON).exists();
    if options.resume && !resuming {
        return Err(format!("--resume: no checkpoint in {}", options.out.join("checkpoint").display()).into());
    }
    let run = RunDir::open(&options.out, !resuming)?;
    match model_kind(&options.base)? {
        ModelKind::Gpt => train_from(GptBase::load(&options.base)?, run, resuming, wall, options),
        ModelKind::Bert => train_from(BertBase::load(&options.base)?, run, resuming, wall, options),
    }
}

/// The training run on a loaded base of either kind (see the module docs).
fn train_from<B: RewardBase>(
    mut base: B,
    mut run: RunDir,
    resuming: bool,
    wall: Instant,
    options: &RewardTrainOptions,
) -> Result<RewardTrainReport, RunError> {
    let block = base.context();
    let max_len = options.max_len.unwrap_or(block).min(block);

    let mut records: Vec<LabeledRanking> = Vec::new();
    for path in &options.rankings {
        records.extend(load_labeled(path)?);
    }
    if let Some(n) = options.max_rankings {
        records.truncate(n);
    }
    if options.fold_chars {
        records = records.iter().map(super::examples::fold_record).collect();
    }
    let encoded = base.encode(&records, max_len);
    if encoded.examples.len() < 2 {
        return Err(format!(
            "{} usable rankings of {} read ({} not encodable, {} all tied): need at least 2 (one to train, one held out)",
            encoded.examples.len(),
            records.len(),
            encoded.unencodable.len(),
            encoded.all_tied
        )
        .into());
    }
    let keys: Vec<String> = encoded.source.iter().map(|&i| records[i].key()).collect();
    let (train_idx, held_idx) = split_held_out(&keys, options.val_fraction);
    let pick = |idx: &[usize]| idx.iter().map(|&i| encoded.examples[i].clone()).collect::<Vec<KwiseExample>>();
    let (train, held) = (pick(&train_idx), pick(&held_idx));
    if train.is_empty() || held.is_empty() {
        return Err("every usable ranking has the same prompt: nothing to hold out; rank more prompts".into());
    }
    let train_eval = &train[..train.len().min(TRAIN_EVAL_PROMPTS)];

    let mut model = base.start_model(options.trunk_layers, &mut Rng::new(options.seed))?;
    if options.likelihood_feature {
        model = model.with_likelihood_feature(1.0)?;
        if options.likelihood_frozen {
            model = model.with_frozen_likelihood_source(base.language_model()?)?;
        }
    }
    if let Some(n) = options.train_layers {
        B::freeze_below(&model, n)?;
    }
    let adam = AdamWOptions { lr: options.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    let mut groups = decay_groups(&model, options.weight_decay);
    // One scalar moves by about one learning rate per Adam step: too slow at 3e-4 to reach the few units
    // the likelihood's weight needs in a few hundred steps, so it gets its own, larger rate.
    let (likelihood, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut groups[1].params).into_iter().partition(|(n, _)| n == "score.likelihood");
    groups[1].params = rest;
    if !likelihood.is_empty() {
        groups.push(ParamGroup::new(likelihood, 0.0).with_lr_scale(LIKELIHOOD_LR_SCALE));
    }
    let mut opt = AdamW::new(groups, adam);
    let steps_per_epoch = train.len().div_ceil(options.batch_prompts) as u64;
    let total_steps = steps_per_epoch * options.epochs as u64;
    let fingerprint = data_fingerprint(&train, &held);
    let mut run_config = json!({
        "stage": "reward",
        "model": B::config_json(&model),
        "data": fingerprint,
        "epochs": options.epochs,
        "batch_prompts": options.batch_prompts,
        "seed": options.seed,
        "max_len": max_len,
        "fold_chars": options.fold_chars,
    });
    if let Some(n) = options.train_layers {
        // Only when set, so checkpoints made before the option existed still resume.
        run_config["train_layers"] = json!(n);
    }
    if options.likelihood_feature {
        run_config["likelihood_feature"] = json!(true);
        if options.likelihood_frozen {
            run_config["likelihood_source"] = json!("frozen");
        }
    }
    let mut start_step = 0;
    if resuming {
        let path = run.checkpoint_dir().join(CHECKPOINT_JSON);
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?).map_err(|e| format!("{}: malformed: {e}", path.display()))?;
        let saved = &manifest["train"]["config"];
        if *saved != run_config {
            return Err(format!("--resume: the checkpoint was made with other data or settings ({saved}) than asked for now ({run_config})").into());
        }
        start_step = load_checkpoint(run.checkpoint_dir(), &model, &mut opt)?.step;
        if options.verbose {
            eprintln!("resuming {} from step {start_step}", options.out.display());
        }
    }
    let pad = base.pad_id();
    if options.verbose {
        let (layers, width) = B::layers_and_width(&model);
        eprintln!(
            "reward: {} parameters ({} layers, {} wide, context {max_len}); {} rankings read, {} train / {} held-out prompts \
             ({} left out: {} not encodable, {} all tied); {} steps ({} epochs of {steps_per_epoch}), {} thread(s)",
            model.num_parameters(),
            layers,
            width,
            records.len(),
            train.len(),
            held.len(),
            encoded.unencodable.len() + encoded.all_tied,
            encoded.unencodable.len(),
            encoded.all_tied,
            total_steps,
            options.epochs,
            rayon::current_num_threads()
        );
    }
    let evaluate = |m: &RewardModel<B::Trunk>, examples: &[KwiseExample]| -> Result<RankingEval, RunError> {
        let scores = score_examples(m, examples, pad, PADDING, max_len, 32)?;
        Ok(evaluate_scores(&scores, examples)?)
    };
    let before = if start_step == 0 { Some(evaluate(&model, &held)?.accuracy) } else { None };

    let schedule = LrSchedule::WarmupCosine { max_lr: options.lr, min_lr: options.min_lr, warmup_steps: options.warmup, decay_steps: total_steps };
    let params = model.parameters();
    let checkpoint_every = options.checkpoint_every.unwrap_or(options.eval_every).max(1);
    let interrupt_handled = interrupt::install();
    let progress = options.verbose.then(|| Progress::new(total_steps, start_step));
    let say = |line: String| {
        if let Some(p) = &progress {
            p.println(line);
        }
    };
    let (mut train_time, mut tokens_run, mut steps_run) = (0.0f64, 0usize, 0u64);
    let (mut last_loss, mut last_val) = (None, None);
    let mut interrupted = false;
    let mut last_eval: Option<(RankingEval, RankingEval)> = None;
    let mut order: (u64, Vec<usize>) = (u64::MAX, Vec::new());
    for step in start_step..total_steps {
        let started = Instant::now();
        let epoch = step / steps_per_epoch;
        if order.0 != epoch {
            order = (epoch, epoch_order(train.len(), options.seed, epoch));
        }
        let within = (step % steps_per_epoch) as usize * options.batch_prompts;
        let chosen: Vec<KwiseExample> = order.1[within..(within + options.batch_prompts).min(train.len())].iter().map(|&i| train[i].clone()).collect();
        let batch = pack_kwise(&chosen, pad, PADDING, Some(max_len))?;
        let lr = schedule.lr_at(step);
        opt.set_lr(lr);
        opt.zero_grad();
        let (loss, _) = model.loss(&batch)?;
        let loss_value = loss.item()?;
        loss.backward()?;
        let norm = if options.grad_clip > 0.0 { clip_grad_norm(&params, options.grad_clip)? } else { grad_norm(&params)? };
        opt.step()?;
        let seconds = started.elapsed().as_secs_f64();
        let tokens: usize = batch.lengths.iter().sum();
        train_time += seconds;
        tokens_run += tokens;
        steps_run += 1;
        let done = step + 1;
        let elapsed_s = wall.elapsed().as_secs_f64();
        let logged = TrainStep { step: done, loss: loss_value, lr, grad_norm: norm, tokens: tokens as f64, seconds, elapsed_s };
        run.log_train_step(&logged, progress.as_ref())?;
        last_loss = Some(loss_value);
        let stop = interrupt::requested() || options.stop_after == Some(done);
        if done % options.eval_every == 0 || done == total_steps || stop {
            let (t, h) = (evaluate(&model, train_eval)?, evaluate(&model, &held)?);
            run.metrics.append(&MetricRecord::Eval { step: done, train_loss: t.loss as f32, val_loss: h.loss as f32 })?;
            let scores = BTreeMap::from([("held_out_accuracy".to_string(), h.accuracy), ("train_accuracy".to_string(), t.accuracy)]);
            run.metrics.append(&MetricRecord::Scores { step: done, scores })?;
            say(format!("step {done}: train loss {:.4} acc {:.3} | held-out loss {:.4} acc {:.3}", t.loss, t.accuracy, h.loss, h.accuracy));
            last_val = Some(h.loss as f32);
            last_eval = Some((t, h));
        }
        if done % checkpoint_every == 0 || done == total_steps || stop {
            let state = TrainState { step: done, rng_state: None, config: run_config.clone() };
            save_checkpoint(run.checkpoint_dir(), &model, &opt, &state)?;
        }
        if stop {
            interrupted = done < total_steps;
            say(format!("stopped after step {done}; checkpoint saved in {}", run.checkpoint_dir().display()));
            break;
        }
    }
    if let Some(p) = &progress {
        p.finish();
    }
    if !interrupt_handled && options.verbose {
        eprintln!("note: Ctrl-C handler unavailable; an interrupt will not save a checkpoint");
    }
    let (train_eval_result, held_eval) = match last_eval {
        Some(e) => e,
        None => (evaluate(&model, train_eval)?, evaluate(&model, &held)?), // resumed at the end: nothing ran
    };

    // Normalisation: the rankings' responses are the SFT model's answers; centre their rewards at 0, each
    // answer encoded alone as the scorer will see it.
    let mut singles: Vec<KwiseExample> = Vec::new();
    for &i in &encoded.source {
        let conversation = records[i].conversation();
        for answer in &records[i].responses {
            let (prompt, ids) = base.encode_one(&conversation, answer, max_len)?;
            singles.push(KwiseExample { prompt, answers: vec![ids], ranking: Ranking::from_order(&[0]) });
        }
    }
    let all_scores = score_examples(&model, &singles, pad, PADDING, max_len, 32)?;
    let all: Vec<KwiseExample> = train.iter().chain(&held).cloned().collect();
    let bias = normalization_bias(&all_scores)?;
    model.add_to_bias(bias)?;
    let model_dir = run.model_dir();
    base.save(&model, &model_dir)?;

    // The report on the held-out rankings, with the normalised model.
    let held_scores = score_examples(&model, &held, pad, PADDING, max_len, 32)?;
    let held_records: Vec<&LabeledRanking> = held_idx.iter().map(|&i| &records[encoded.source[i]]).collect();
    let kinds: Vec<Option<usize>> = held_records.iter().flat_map(|r| r.responses.iter().map(|a| world_answer_kind(&r.prompt, a))).collect();
    let elo = elo_beside_reward(&held, &held_scores, &kinds, &WORLD_KINDS)?;
    let kendall = per_prompt_kendall(&held, &held_scores)?;
    let passes = forward_passes(&train);
    let batching = if !interrupted && options.timed_prompts > 0 {
        let timed = &train[..train.len().min(options.timed_prompts)];
        let (k, p) = time_epoch_both_ways(&model, timed, pad, PADDING, max_len, options.batch_prompts)?;
        opt.zero_grad();
        Some(BatchingCost {
            kwise_sequences: passes.kwise,
            pairwise_sequences: passes.pairwise,
            ratio: passes.ratio(),
            timed_prompts: timed.len(),
            kwise_epoch_s: k,
            pairwise_epoch_s: p,
        })
    } else {
        None
    };
    let strict_pairs: usize = all.iter().map(|e| e.answers.len() * (e.answers.len() - 1) / 2).sum();
    let labeled_pairs: usize = all.iter().map(|e| e.ranking.pairs().len()).sum();
    let figures = RewardFigures {
        held_out_accuracy: held_eval.accuracy,
        held_out_accuracy_before: before,
        held_out_loss: held_eval.loss,
        held_out_pairs: held_eval.pairs,
        held_out_prompts: held_eval.prompts,
        train_accuracy: train_eval_result.accuracy,
        train_prompts: train.len(),
        train_pairs: passes.pairwise / 2,
        rankings_files: options.rankings.iter().map(|p| p.display().to_string()).collect(),
        rankings_read: records.len(),
        skipped_unencodable: encoded.unencodable.len(),
        skipped_unencodable_example: encoded.unencodable.first().map(|(i, why)| format!("ranking {}: {why}", i + 1)),
        skipped_all_tied: encoded.all_tied,
        tied_pairs_skipped: strict_pairs - labeled_pairs,
        training_time_s: train_time,
        epochs: options.epochs,
        normalization_bias: bias,
        normalized_answers: all_scores.len(),
        per_prompt_kendall: kendall,
        elo,
        batching,
        model_dir: model_dir.display().to_string(),
    };
    let summary = Summary {
        stage: "reward".into(),
        steps: start_step + steps_run,
        steps_this_run: steps_run,
        tokens_per_s: if train_time > 0.0 { tokens_run as f64 / train_time } else { 0.0 },
        final_train_loss: last_loss,
        final_val_loss: last_val,
        wall_time_s: wall.elapsed().as_secs_f64(),
        peak_memory_bytes: peak_memory_bytes(),
        interrupted,
    };
    run.finish_with_extra(&summary, &serde_json::to_value(&figures)?)?;
    super::chart::write_accuracy_chart(&run.root().join("metrics.jsonl"), &run.root().join("accuracy.svg"))?;
    if options.verbose {
        print_report(&figures);
    }
    Ok(RewardTrainReport { summary, figures })
}

/// The order of the training prompts in epoch `epoch`: a shuffle seeded by the seed and the epoch.
fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).split(1 + epoch).shuffle(&mut order);
    order
}

/// What the checkpoint records of the data, so a resume on other rankings is refused.
fn data_fingerprint(train: &[KwiseExample], held: &[KwiseExample]) -> serde_json::Value {
    let mut h: u64 = 0xcbf29ce484222325;
    for e in train.iter().chain(held) {
        for &id in e.prompt.iter().chain(e.answers.iter().flatten()) {
            h = (h ^ id as u64).wrapping_mul(0x100000001b3);
        }
        for tier in &e.ranking.tiers {
            for &i in tier {
                h = (h ^ (i as u64 + 0x9e37)).wrapping_mul(0x100000001b3);
            }
        }
    }
    json!({ "train": train.len(), "held_out": held.len(), "hash": format!("{h:016x}") })
}

fn print_report(f: &RewardFigures) {
    eprintln!(
        "held-out pairwise accuracy {:.3} ({} pairs over {} prompts; {} before training), train {:.3}; training {:.1} s",
        f.held_out_accuracy,
        f.held_out_pairs,
        f.held_out_prompts,
        f.held_out_accuracy_before.map(|a| format!("{a:.3}")).unwrap_or("-".into()),
        f.train_accuracy,
        f.training_time_s
    );
    if let Some(k) = f.per_prompt_kendall {
        eprintln!("per-prompt agreement of the model's order with the labeler's: Kendall tau {k:.3}");
    }
    if let Some(e) = &f.elo {
        eprintln!("Elo of answer kinds (held-out rankings) beside the reward model's mean score (relative to its prompt's mean):");
        for i in 0..e.players.len() {
            eprintln!("  {:<24} {:>4} answers  Elo {:>6.0}  BT {:>6.0}  reward {:>7.3}", e.players[i], e.answers[i], e.elo[i], e.bradley_terry[i], e.mean_reward[i]);
        }
        eprintln!("  Elo order:    {}", e.elo_order.join(" > "));
        eprintln!("  reward order: {}", e.reward_order.join(" > "));
        eprintln!("  Spearman {:.2}, Kendall {:.2}", e.spearman, e.kendall);
    }
    if let Some(b) = &f.batching {
        eprintln!(
            "K-wise batching: {} sequences per epoch against {} pair by pair ({:.1}x); one epoch of {} prompts: {:.2} s K-wise, {:.2} s pairwise",
            b.kwise_sequences, b.pairwise_sequences, b.ratio, b.timed_prompts, b.kwise_epoch_s, b.pairwise_epoch_s
        );
    }
    eprintln!(
        "normalisation bias {:.4}: the {} answers of the rankings (the SFT model's, when ranked by `rlhf rank`) now score 0 on average; model in {}",
        f.normalization_bias, f.normalized_answers, f.model_dir
    );
}
