//! Text generation: greedy decoding or sampling (temperature, top-k, top-p) from a seeded generator,
//! stop tokens and a length limit, over a batch of prompts of different lengths.
//!
//! Prompts are left-padded to the longest; each row's position ids count its own real tokens and padding
//! keys are masked, so a row's tokens are those it would get alone. With [`GenerateOptions::use_cache`]
//! each step feeds only the new token through a [`KvCache`]; without it each step re-runs the whole
//! sequence (the reference the cache is tested against). Everything runs under `autograd::no_grad`.
use autograd::no_grad;
use engine::rng::Rng;
use engine::{Error, Result, Tensor};

use super::kv_cache::KvCache;
use super::model::Gpt;

/// How to pick tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Most tokens to add to each row (also bounded by the block size minus the longest prompt).
    pub max_new_tokens: usize,
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f32,
    /// Sample only among the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities add up to at least `p` (nucleus).
    pub top_p: Option<f32>,
    /// A row stops when it produces one of these (the stop token is not part of the output).
    pub stop_tokens: Vec<u32>,
    /// Seed of the sampling generator.
    pub seed: u64,
    /// Decode incrementally with a KV cache (true) or re-run the full sequence each step.
    pub use_cache: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 64,
            temperature: 1.0,
            top_k: None,
            top_p: None,
            stop_tokens: Vec::new(),
            seed: 0,
            use_cache: true,
        }
    }
}

/// Picks the next token from one row of logits: argmax when `temperature <= 0`, else a draw from the
/// tempered softmax restricted by top-k and top-p. Ties go to the lower id.
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{sample_token, GenerateOptions};
/// let logits = [0.0f32, 5.0, 1.0, 4.9];
/// let greedy = GenerateOptions { temperature: 0.0, ..Default::default() };
/// assert_eq!(sample_token(&logits, &greedy, &mut Rng::new(0)), 1);
/// let top2 = GenerateOptions { top_k: Some(2), ..Default::default() };
/// let mut rng = Rng::new(7);
/// assert!((0..50).all(|_| matches!(sample_token(&logits, &top2, &mut rng), 1 | 3)));
/// ```
pub fn sample_token(logits: &[f32], options: &GenerateOptions, rng: &mut Rng) -> u32 {
    let argmax = || {
        let mut best = 0;
        for (i, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = i;
            }
        }
        best as u32
    };
    if options.temperature <= 0.0 || logits.len() <= 1 {
        return argmax();
    }
    // Candidates sorted by logit, highest first (stable: ties keep the lower id first).
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if let Some(k) = options.top_k {
        order.truncate(k.max(1));
    }
    let t = options.temperature as f64;
    let top = logits[order[0]] as f64;
    let mut probs: Vec<f64> = order.iter().map(|&i| ((logits[i] as f64 - top) / t).exp()).collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if let Some(p) = options.top_p {
        let mut cumulative = 0.0;
        let mut keep = probs.len();
        for (i, &q) in probs.iter().enumerate() {
            cumulative += q;
            if cumulative >= p as f64 {
                keep = i + 1;
                break;
            }
        }
        probs.truncate(keep);
        order.truncate(keep);
    }
    let total: f64 = probs.iter().sum();
    let mut u = rng.next_f64() * total;
    for (i, &q) in probs.iter().enumerate() {
        if u < q {
            return order[i] as u32;
        }
        u -= q;
    }
    order[probs.len() - 1] as u32
}

/// Generates a continuation of every prompt; `on_token(row, token)` is called as each token is chosen
/// (streaming). Returns the new tokens of each row (stop tokens excluded).
///
/// ```
/// use engine::rng::Rng;
/// use models::gpt::{generate, GenerateOptions, Gpt, GptConfig};
/// let mut config = GptConfig::preset("char-tiny")?;
/// config.n_layer = 1;
/// let model = Gpt::new(config, &mut Rng::new(0))?;
/// let options = GenerateOptions { max_new_tokens: 5, temperature: 0.0, ..Default::default() };
/// let out = generate(&model, &[vec![1, 2, 3], vec![4]], &options, &mut |_, _| {})?;
/// assert_eq!(out.len(), 2);
/// assert!(out.iter().all(|row| row.len() == 5));
/// # Ok::<(), engine::Error>(())
/// ```
pub fn generate(
    model: &Gpt,
    prompts: &[Vec<u32>],
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<Vec<Vec<u32>>> {
    Ok(generate_rows(model, prompts, options, on_token)?.into_iter().map(|row| row.tokens).collect())
}

/// One row's continuation from [`generate_rows`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedRow {
    /// The new tokens (the stop token excluded).
    pub tokens: Vec<u32>,
    /// The stop token that ended the row, or `None` when it ran out of length.
    pub stopped_by: Option<u32>,
}

/// As [`generate`], also telling for each row whether (and by which stop token) it ended: RL needs to know
/// an answer that finished from one cut off by the length limit.
pub fn generate_rows(
    model: &Gpt,
    prompts: &[Vec<u32>],
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<Vec<GeneratedRow>> {
    const OP: &str = "generate";
    let _guard = no_grad();
    let b = prompts.len();
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let block = model.config.block_size;
    if b == 0 || prompts.iter().any(Vec::is_empty) {
        return Err(Error::op(OP, "every prompt needs at least one token"));
    }
    if longest >= block {
        return Err(Error::op(OP, format!("the longest prompt has {longest} tokens; the block size {block} leaves no room")));
    }
    if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= model.config.vocab_size) {
        return Err(Error::op(OP, format!("token {bad} is outside the vocabulary of {}", model.config.vocab_size)));
    }
    let max_new = options.max_new_tokens.min(block - longest);
    // Left-padded rows: ids and keep flags (1 = real token), each [B, len] row-major.
    let mut ids: Vec<Vec<i64>> = Vec::with_capacity(b);
    let mut keep: Vec<Vec<u8>> = Vec::with_capacity(b);
    for p in prompts {
        let pad = longest - p.len();
        ids.push(std::iter::repeat_n(0i64, pad).chain(p.iter().map(|&t| t as i64)).collect());
        keep.push(std::iter::repeat_n(0u8, pad).chain(std::iter::repeat_n(1u8, p.len())).collect());
    }
    let mut rng = Rng::new(options.seed);
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); b];
    let mut done = vec![false; b];
    let mut stopped_by: Vec<Option<u32>> = vec![None; b];
    let mut cache = if options.use_cache { Some(KvCache::new(&model.config, b, longest + max_new)?) } else { None };
    let vocab = model.config.vocab_size;
    for step in 0..max_new {
        // Logits of each row's last position, [B, vocab].
        let last: Vec<f32> = match cache.as_mut() {
            Some(cache) => {
                let (new_ids, new_keep): (Vec<i64>, Vec<u8>) = if step == 0 {
                    (ids.concat(), keep.concat())
                } else {
                    (ids.iter().map(|r| r[r.len() - 1]).collect(), vec![1; b])
                };
                let tn = new_ids.len() / b;
                let logits = model.forward_cached(&Tensor::from_vec(new_ids, &[b, tn])?, &new_keep, cache)?;
                logits.select(1, tn - 1)?.contiguous()?.to_vec::<f32>()?
            }
            None => {
                let len = ids[0].len();
                let positions: Vec<i64> = keep
                    .iter()
                    .flat_map(|row| {
                        row.iter().scan(0i64, |count, &k| {
                            let p = *count;
                            *count += k as i64;
                            Some(p)
                        })
                    })
                    .collect();
                let all_real = keep.iter().flatten().all(|&k| k != 0);
                let padding = Tensor::from_vec(keep.concat(), &[b, len])?;
                let logits = model.forward_padded(
                    &Tensor::from_vec(ids.concat(), &[b, len])?,
                    if all_real { None } else { Some(&padding) },
                    Some(&Tensor::from_vec(positions, &[b, len])?),
                )?;
                logits.tensor().select(1, len - 1)?.contiguous()?.to_vec::<f32>()?
            }
        };
        for row in 0..b {
            let token = if done[row] { 0 } else { sample_token(&last[row * vocab..(row + 1) * vocab], options, &mut rng) };
            if !done[row] {
                if options.stop_tokens.contains(&token) {
                    done[row] = true;
                    stopped_by[row] = Some(token);
                } else {
                    out[row].push(token);
                    on_token(row, token);
                }
            }
            ids[row].push(token as i64);
            keep[row].push(1);
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    Ok(out.into_iter().zip(stopped_by).map(|(tokens, stopped_by)| GeneratedRow { tokens, stopped_by }).collect())
}
