//! GPT and BERT side by side: the same text, the same characters, the same kind of transformer, two
//! different attention masks and two different objectives.
//!
//! ```text
//! cargo run --release -p models --example gpt_vs_bert -- [--text FILE] [--steps N] [--seed S]
//! cargo run --release -p models --example gpt_vs_bert -- --text ../shared/data/tinyshakespeare.txt
//! ```
//!
//! Without `--text` it trains on a short paragraph built into this file, so it runs with no downloads.
//!
//! # What to look for
//!
//! Both models are built the same way: each character becomes a vector, a stack of transformer blocks
//! lets every position mix in information from other positions (attention), and a head turns each
//! position's final vector into a score for every character. What differs is *which other positions a
//! position may look at* (the attention mask) and *what it is asked to predict* (the objective). The two
//! choices go together:
//!
//! - **GPT: causal mask, next-token prediction.** Position `t` may attend to positions `0..=t` only (the
//!   grid below is lower-triangular). Every position is asked for the *next* character, `t + 1`. The mask
//!   is what keeps this honest: if position `t` could see `t + 1`, the answer would be on the page and the
//!   model would learn to copy it. In exchange every position of every window is a training signal, and
//!   the trained model can *write*: predict a character, append it, predict the next, and so on.
//!
//! - **BERT: bidirectional mask, masked-token prediction.** Every position may attend to every real
//!   position, left and right (the grid is full; only `[PAD]` keys would be blocked). Predicting the next
//!   character would now be copying, so the objective hides the answers instead: 15% of the characters are
//!   chosen, 80% of those are replaced by `[MASK]`, 10% by a random character, 10% left as they are, and
//!   the model must recover the originals. (The random and unchanged 10%s stop it from trusting that any
//!   visible character is correct, and from learning something only for `[MASK]`, which never appears
//!   once the model is put to use.) Only the chosen 15% carry a loss, so BERT gets fewer signals per window
//!   and learns more slowly per step; what it learns is each token *in its whole context*, which is what
//!   filling a blank, classifying a sentence, embedding it or scoring it (a reward model) needs. It has no
//!   natural way to write text left to right.
//!
//! The two losses printed at the end are both mean cross-entropies in nats per predicted character, but
//! of different questions: GPT's is "the next character, from the left only" at every position; BERT's is
//! "a hidden character, from both sides" at the chosen positions only. Both start near `ln(vocabulary)`
//! (a uniform guess); compare each with its own start, not with each other.
//!
//! Watch BERT's training loss: it drops quickly to about the unigram level (always guessing from how
//! common each character is) and sits there for several hundred steps before falling again, while GPT's
//! falls steadily. GPT gets a bigram model almost for free: its own position already holds the current
//! character, which says a lot about the next. BERT's masked position holds only `[MASK]`, so before it can
//! beat the unigram guess it must learn, through the position embeddings, to attend to its neighbours.
//! At the default 800 steps on the built-in text BERT has only just left that plateau and its blanks are
//! still poor guesses (GPT, which by then has memorised the paragraph, "fills" them better from the left
//! alone); with `--steps 2000` BERT's masked loss falls below 1 and it fills them confidently.
//!
//! The demonstrations make the difference concrete: GPT continues a prompt; BERT fills a blank, and for
//! the same blank GPT's guess from the left side alone is printed next to BERT's.
use std::time::Instant;

use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, AdamW, AdamWOptions, Optimizer};
use autograd::{no_grad, AttentionMask, Parameter, Var};
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::bert::{mask_tokens, mlm_loss, windows_with_cls_sep, BertActivation, BertConfig, BertForMaskedLM, MaskingOptions};
use models::gpt::{generate, GenerateOptions, Gpt, GptConfig};
use models::tokenizer::CharTokenizer;

/// The built-in text: Hamlet's soliloquy (Act 3, Scene 1), public domain.
pub const BUILT_IN_TEXT: &str = "To be, or not to be, that is the question:
Whether 'tis nobler in the mind to suffer
The slings and arrows of outrageous fortune,
Or to take arms against a sea of troubles
And by opposing end them. To die, to sleep;
No more; and by a sleep to say we end
The heart-ache and the thousand natural shocks
That flesh is heir to: 'tis a consummation
Devoutly to be wish'd. To die, to sleep;
To sleep, perchance to dream. Ay, there's the rub:
For in that sleep of death what dreams may come,
When we have shuffled off this mortal coil,
Must give us pause. There's the respect
That makes calamity of so long life.
";

/// Everything the comparison needs; [`Settings::new`] gives the example's defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The training text.
    pub text: String,
    /// Optimizer steps for each model.
    pub steps: usize,
    /// Seeds the initialisations, the batches, the masking and the sampling.
    pub seed: u64,
    /// Windows per batch.
    pub batch_size: usize,
    /// Characters per window: GPT's block size; BERT reads `[CLS]` + window + `[SEP]`.
    pub window: usize,
    /// Transformer blocks in each model.
    pub n_layer: usize,
    /// Attention heads per block.
    pub n_head: usize,
    /// Width of the residual stream (the MLP is 4x this).
    pub n_embd: usize,
    /// AdamW learning rate (constant; gradients clipped to norm 1).
    pub lr: f32,
    /// Batches in the fixed evaluation set the start and end losses are measured on.
    pub eval_batches: usize,
}

impl Settings {
    /// The example's defaults on `text`: 800 steps, batches of 32 windows of 32 characters, 2 blocks of
    /// width 64 with 4 heads.
    pub fn new(text: impl Into<String>) -> Settings {
        Settings {
            text: text.into(),
            steps: 800,
            seed: 1337,
            batch_size: 32,
            window: 32,
            n_layer: 2,
            n_head: 4,
            n_embd: 64,
            lr: 3e-3,
            eval_batches: 8,
        }
    }
}

/// Mean cross-entropy (nats) on the fixed evaluation set before training and after the last step.
#[derive(Clone, Copy, Debug)]
pub struct LossPair {
    pub start: f32,
    pub end: f32,
}

/// What [`compare`] measured.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub gpt: LossPair,
    pub bert: LossPair,
    /// Number of distinct characters (GPT's vocabulary; BERT adds `[PAD] [CLS] [SEP] [MASK]`).
    pub chars: usize,
    /// Training time of each model, seconds.
    pub gpt_seconds: f64,
    pub bert_seconds: f64,
}

/// The character vocabulary, with BERT's special tokens appended after the characters.
struct Vocab {
    tokenizer: CharTokenizer,
    pad: u32,
    cls: u32,
    sep: u32,
    mask: u32,
}

impl Vocab {
    fn new(text: &str) -> Result<Vocab> {
        let tokenizer = CharTokenizer::from_corpus(text).map_err(|e| Error::op("gpt_vs_bert", e.to_string()))?;
        let n = tokenizer.vocab_size() as u32;
        Ok(Vocab { tokenizer, pad: n, cls: n + 1, sep: n + 2, mask: n + 3 })
    }

    fn chars(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    fn bert_vocab(&self) -> usize {
        self.chars() + 4
    }

    fn specials(&self) -> Vec<u32> {
        vec![self.pad, self.cls, self.sep, self.mask]
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text).map_err(|e| Error::op("gpt_vs_bert", e.to_string()))
    }

    fn char_of(&self, id: u32) -> char {
        self.tokenizer.chars().get(id as usize).copied().unwrap_or('?')
    }
}

/// Which positions each query may attend to, from the same [`AttentionMask`] the models use:
/// `grid[query][key]` is true when the key is visible.
pub fn visibility(mask: &AttentionMask, len: usize) -> Result<Vec<Vec<bool>>> {
    let blocked = match mask.blocked(&[1], len, len)? {
        Some(b) => b.contiguous()?.to_vec::<u8>()?,
        None => vec![0; len * len], // nothing blocked
    };
    Ok((0..len).map(|q| (0..len).map(|k| blocked[q * len + k] == 0).collect()).collect())
}

/// Two visibility grids side by side as ASCII (`x` = may attend, `.` = blocked), rows = queries,
/// columns = keys, labelled by the characters of `label`.
pub fn draw_masks(label: &[char], left: (&str, &[Vec<bool>]), right: (&str, &[Vec<bool>])) -> Vec<String> {
    let show = |c: char| if c == ' ' { '_' } else { c };
    let header: String = label.iter().map(|&c| format!(" {}", show(c))).collect();
    let width = 4 + header.len() + 6;
    let mut lines = vec![
        format!("{:<width$}{}", left.0, right.0),
        format!("{:<width$}{}", format!("    {header}"), format!("    {header}")),
    ];
    for (q, &c) in label.iter().enumerate() {
        let row = |grid: &[Vec<bool>]| -> String { grid[q].iter().map(|&v| if v { " x" } else { " ." }).collect() };
        let left_row = format!("  {} {}", show(c), row(left.1));
        lines.push(format!("{left_row:<width$}  {} {}", show(c), row(right.1)));
    }
    lines
}

/// Trains a GPT and a BERT on `settings.text` and reports through `log`, one line at a time: the two
/// attention masks, training progress, a continuation and a filled blank, and the losses.
pub fn compare(settings: &Settings, log: &mut dyn FnMut(&str)) -> Result<Comparison> {
    let s = settings;
    if s.steps == 0 || s.batch_size == 0 || s.eval_batches == 0 || s.window < 8 {
        return Err(Error::op("gpt_vs_bert", "steps, batch_size and eval_batches must be positive and window at least 8"));
    }
    let vocab = Vocab::new(&s.text)?;
    let tokens = vocab.encode(&s.text)?;
    if tokens.len() < s.window + 2 {
        return Err(Error::op("gpt_vs_bert", format!("the text has {} characters; it needs more than {}", tokens.len(), s.window + 1)));
    }
    // Hold out the last 10% for the evaluation set when that 10% spans at least 10 windows; a short text
    // (the built-in one) is both trained and evaluated on, so its losses measure memorisation.
    let held_out = tokens.len() / 10 >= 10 * (s.window + 1);
    let (train, eval) = if held_out { tokens.split_at(tokens.len() * 9 / 10) } else { (&tokens[..], &tokens[..]) };
    let root = Rng::new(s.seed);
    let eval_starts: Vec<Vec<usize>> = {
        let mut rng = root.split(1);
        (0..s.eval_batches).map(|_| random_starts(eval.len(), s.window + 1, s.batch_size, &mut rng)).collect::<Result<_>>()?
    };
    log(&format!(
        "{} characters, {} distinct; {} evaluation windows of {} from {}",
        tokens.len(),
        vocab.chars(),
        s.eval_batches * s.batch_size,
        s.window,
        if held_out { "the held-out last 10%" } else { "the training text itself (too short to hold any out)" }
    ));

    // (1) The masks, from the same AttentionMask values the two models' attention uses.
    let demo: Vec<char> = s.text.chars().take(6).collect();
    let causal = visibility(&AttentionMask::causal(), demo.len())?;
    let bidirectional = visibility(&AttentionMask { causal: false, key_padding: None }, demo.len())?;
    log("");
    log("== Attention masks: row = the token attending, column = a token it may look at (x) or not (.) ==");
    for line in draw_masks(&demo, ("GPT: causal", &causal), ("BERT: bidirectional", &bidirectional)) {
        log(&line);
    }
    log("GPT's position t sees 0..=t and predicts t+1; BERT's sees everything and predicts what was hidden.");

    // GPT: next-character prediction at every position.
    let gpt_config = GptConfig {
        vocab_size: vocab.chars(),
        block_size: s.window,
        n_layer: s.n_layer,
        n_head: s.n_head,
        n_embd: s.n_embd,
        dropout: 0.0,
        bias: true,
        layer_norm_eps: 1e-5,
    };
    let gpt = Gpt::new(gpt_config, &mut root.split(2))?;
    let gpt_loss = |stream: &[u32], starts: &[usize]| -> Result<Var> {
        let (ids, targets) = next_char_batch(stream, starts, s.window)?;
        gpt.forward(&ids, Some(&targets))?.loss.ok_or_else(|| Error::op("gpt_vs_bert", "the GPT returned no loss"))
    };
    let gpt_eval = || mean_loss(eval_starts.iter().map(|starts| gpt_loss(eval, starts)));
    log("");
    log(&format!("== Training GPT: {} steps of {} windows x {} characters ==", s.steps, s.batch_size, s.window));
    let gpt_start = gpt_eval()?;
    let started = Instant::now();
    let mut data_rng = root.split(3);
    train_loop("GPT", &gpt, s, log, |_| gpt_loss(train, &random_starts(train.len(), s.window + 1, s.batch_size, &mut data_rng)?))?;
    let gpt_seconds = started.elapsed().as_secs_f64();
    let gpt_end = gpt_eval()?;

    // BERT: masked-character prediction (15%; 80% [MASK], 10% random, 10% unchanged).
    let bert_config = BertConfig {
        vocab_size: vocab.bert_vocab(),
        hidden_size: s.n_embd,
        num_hidden_layers: s.n_layer,
        num_attention_heads: s.n_head,
        intermediate_size: 4 * s.n_embd,
        hidden_act: BertActivation::GeluErf,
        max_position_embeddings: s.window + 2,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        initializer_range: 0.02,
        pad_token_id: vocab.pad,
    };
    let bert = BertForMaskedLM::new(&bert_config, &mut root.split(4))?;
    let masking = MaskingOptions::bert(vocab.mask, vocab.bert_vocab(), vocab.specials());
    let bert_loss = |stream: &[u32], starts: &[usize], rng: &mut Rng| -> Result<Var> {
        let windows = windows_with_cls_sep(stream, starts, s.window, vocab.cls, vocab.sep)?;
        let batch = mask_tokens(&windows, None, &masking, rng)?;
        mlm_loss(&bert.forward(&batch.input_ids, None, None)?, &batch.labels)
    };
    // The evaluation set hides the same characters every time (one fixed masking stream).
    let bert_eval = || {
        let mut rng = root.split(5);
        mean_loss(eval_starts.iter().map(|starts| bert_loss(eval, starts, &mut rng)))
    };
    log("");
    log(&format!("== Training BERT: {} steps of {} windows x ([CLS] + {} characters + [SEP]) ==", s.steps, s.batch_size, s.window));
    let bert_start = bert_eval()?;
    let started = Instant::now();
    let mut data_rng = root.split(6);
    train_loop("BERT", &bert, s, log, |_| {
        let starts = random_starts(train.len(), s.window, s.batch_size, &mut data_rng)?;
        bert_loss(train, &starts, &mut data_rng)
    })?;
    let bert_seconds = started.elapsed().as_secs_f64();
    let bert_end = bert_eval()?;

    // (2) What each is good at, on the first window of the evaluation text.
    let window = &eval[..s.window];
    show_continuation(&gpt, &vocab, window, s.seed, log)?;
    show_fill_blank(&gpt, &bert, &vocab, window, log)?;

    // (3) The losses.
    let uniform = (vocab.chars() as f32).ln();
    log("");
    log("== Loss: mean cross-entropy in nats per predicted character, on the fixed evaluation set ==");
    log(&format!("{:<44}{:>8}{:>8}{:>9}", "", "start", "end", "seconds"));
    log(&format!("{:<44}{:>8.3}{:>8.3}{:>9.1}", "GPT   next character, every position", gpt_start, gpt_end, gpt_seconds));
    log(&format!("{:<44}{:>8.3}{:>8.3}{:>9.1}", "BERT  hidden characters (15% chosen)", bert_start, bert_end, bert_seconds));
    let (v, bert_v) = (vocab.chars(), vocab.bert_vocab());
    log(&format!("(a uniform guess scores ln {v} = {uniform:.3} for GPT, ln {bert_v} = {:.3} for BERT with its 4 special tokens)", (bert_v as f32).ln()));

    Ok(Comparison {
        gpt: LossPair { start: gpt_start, end: gpt_end },
        bert: LossPair { start: bert_start, end: bert_end },
        chars: vocab.chars(),
        gpt_seconds,
        bert_seconds,
    })
}

/// `count` window starts, uniform over the positions where `span` tokens of a stream of `len` fit.
fn random_starts(len: usize, span: usize, count: usize, rng: &mut Rng) -> Result<Vec<usize>> {
    (0..count).map(|_| rng.gen_range(len - span + 1)).collect()
}

/// GPT's inputs and targets: for each start, `ids = stream[s..s + window]`, `targets` shifted by one.
fn next_char_batch(stream: &[u32], starts: &[usize], window: usize) -> Result<(Tensor, Tensor)> {
    let rows = |shift: usize| -> Vec<i64> {
        starts.iter().flat_map(|&s| stream[s + shift..s + shift + window].iter().map(|&t| t as i64)).collect()
    };
    Ok((Tensor::from_vec(rows(0), &[starts.len(), window])?, Tensor::from_vec(rows(1), &[starts.len(), window])?))
}

/// The mean of a few losses, computed without recording gradients.
fn mean_loss(losses: impl Iterator<Item = Result<Var>>) -> Result<f32> {
    let _no_grad = no_grad();
    let mut total = 0.0;
    let mut count = 0;
    for loss in losses {
        total += loss?.item()?;
        count += 1;
    }
    Ok(total / count.max(1) as f32)
}

/// AdamW (weight decay 0.01 on matrices, betas 0.9 / 0.95) at a constant rate with gradient clipping;
/// logs the mean training loss five times.
fn train_loop(
    name: &str,
    model: &dyn Module,
    s: &Settings,
    log: &mut dyn FnMut(&str),
    mut batch_loss: impl FnMut(usize) -> Result<Var>,
) -> Result<()> {
    let mut optimizer = AdamW::for_module(model, 0.01, AdamWOptions { lr: s.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    let params: Vec<Parameter> = optimizer.named_parameters().into_iter().map(|(_, p)| p).collect();
    let every = s.steps.div_ceil(5);
    let (mut sum, mut n) = (0.0, 0);
    for step in 1..=s.steps {
        let loss = batch_loss(step)?;
        sum += loss.item()?;
        n += 1;
        optimizer.zero_grad();
        loss.backward()?;
        clip_grad_norm(&params, 1.0)?;
        optimizer.step()?;
        if step % every == 0 || step == s.steps {
            log(&format!("{name:<5} step {step:>5}/{}  training loss {:.3}", s.steps, sum / n as f32));
            (sum, n) = (0.0, 0);
        }
    }
    Ok(())
}

/// GPT's job: continue a prompt, greedily and by sampling, next to the real continuation.
fn show_continuation(gpt: &Gpt, vocab: &Vocab, window: &[u32], seed: u64, log: &mut dyn FnMut(&str)) -> Result<()> {
    let prompt = &window[..window.len() / 4];
    let text = |ids: &[u32]| -> String { ids.iter().map(|&id| vocab.char_of(id)).collect() };
    let greedy = GenerateOptions { max_new_tokens: window.len(), temperature: 0.0, ..Default::default() };
    let sampled = GenerateOptions { temperature: 0.8, seed, ..greedy.clone() };
    let greedy = generate(gpt, &[prompt.to_vec()], &greedy, &mut |_, _| {})?.remove(0);
    let sampled = generate(gpt, &[prompt.to_vec()], &sampled, &mut |_, _| {})?.remove(0);
    log("");
    log("== GPT continues a prompt (it reads left to right, so it can write) ==");
    log(&format!("prompt              {:?}", text(prompt)));
    log(&format!("the text goes on    {:?}", text(&window[prompt.len()..])));
    log(&format!("GPT, greedy         {:?}", text(&greedy)));
    log(&format!("GPT, sampled T=0.8  {:?}", text(&sampled)));
    Ok(())
}

/// BERT's job: fill a blank from both sides, for three blanks of the window (one at a time). GPT's guess
/// for the same blank from the left side alone is shown beneath each.
fn show_fill_blank(gpt: &Gpt, bert: &BertForMaskedLM, vocab: &Vocab, window: &[u32], log: &mut dyn FnMut(&str)) -> Result<()> {
    let _no_grad = no_grad();
    let text = |ids: &[u32]| -> String { ids.iter().map(|&id| vocab.char_of(id)).collect() };
    let top3 = |logits: &[f32]| -> String {
        top_k(logits, vocab.chars(), 3).iter().map(|(id, p)| format!("{:?} {p:.2}", vocab.char_of(*id))).collect::<Vec<_>>().join("   ")
    };
    log("");
    log("== BERT fills a blank (it reads both sides at once); GPT can only guess from the left ==");
    // The first letter after 1/6, 1/2 and 5/6 of the window: little, some and much left context.
    let n = window.len();
    for from in [n / 6, n / 2, 5 * n / 6] {
        let Some(blank) = (from.max(1)..n).find(|&i| vocab.char_of(window[i]).is_alphabetic()) else { continue };
        let mut ids: Vec<i64> = std::iter::once(vocab.cls).chain(window.iter().copied()).chain([vocab.sep]).map(i64::from).collect();
        ids[blank + 1] = vocab.mask as i64; // + 1: [CLS] comes first
        let len = ids.len();
        let bert_logits = bert.forward(&Tensor::from_vec(ids, &[1, len])?, None, None)?.into_tensor();
        let bert_logits = bert_logits.select(1, blank + 1)?.contiguous()?.to_vec::<f32>()?;
        let left = Tensor::from_vec(window[..blank].iter().map(|&t| i64::from(t)).collect::<Vec<_>>(), &[1, blank])?;
        let gpt_logits = gpt.forward(&left, None)?.logits.into_tensor().select(1, blank - 1)?.contiguous()?.to_vec::<f32>()?;
        let shown: String = text(window).chars().enumerate().map(|(i, c)| if i == blank { '_' } else { c }).collect();
        log(&format!("{shown:?}   answer {:?}", vocab.char_of(window[blank])));
        log(&format!("    BERT, both sides   {}", top3(&bert_logits)));
        log(&format!("    GPT, left only     {}", top3(&gpt_logits)));
    }
    Ok(())
}

/// The `k` most likely of the first `n` ids (the characters; BERT's special tokens come after) with their
/// softmax probabilities over all of `logits`.
fn top_k(logits: &[f32], n: usize, k: usize) -> Vec<(u32, f32)> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = logits.iter().map(|&z| (z - max).exp()).sum();
    let mut ranked: Vec<(u32, f32)> = logits[..n].iter().enumerate().map(|(i, &z)| (i as u32, (z - max).exp() / total)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked
}

const USAGE: &str = "usage: gpt_vs_bert [--text FILE] [--steps N] [--seed S]";

fn parse_args() -> std::result::Result<Settings, String> {
    let mut settings = Settings::new(BUILT_IN_TEXT);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--text" => settings.text = std::fs::read_to_string(&value).map_err(|e| format!("{value}: {e}"))?,
            "--steps" => settings.steps = value.parse().map_err(|e| format!("--steps {value}: {e}"))?,
            "--seed" => settings.seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?,
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    Ok(settings)
}

fn main() {
    let settings = match parse_args() {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(e) = compare(&settings, &mut |line| println!("{line}")) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
