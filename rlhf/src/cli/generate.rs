//! `rlhf generate`: continue prompts with a GPT, streaming the tokens as they come.
//!
//! ```text
//! rlhf generate --model runs/shakespeare --prompt "ROMEO:" --max-new-tokens 200 --temperature 0.8 --top-k 40
//! rlhf generate --model GPT2_DIR --prompt "Hello" --prompt "The meaning of life is" --top-p 0.9 --seed 1
//! ```
//! `--model` is a Hugging Face GPT-2 folder (`config.json`, `model.safetensors`, tokenizer files) or a run
//! folder of `rlhf pretrain` (its `model/`). One prompt streams to stdout; several are decoded as a batch
//! (left-padded, KV cache) and printed one per line as JSON strings.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use models::gpt::{generate, load_hf_dir, load_tokenizer_from_dir, GenerateOptions, Gpt};
use models::tokenizer::{AnyTokenizer, Tokenizer};

use rlhf::run::RunError;

/// Options of `rlhf generate`.
#[derive(Args, Clone, Debug)]
pub struct GenerateArgs {
    /// A GPT-2 checkpoint folder (config.json + model.safetensors) or a run folder of `rlhf pretrain`.
    #[arg(long)]
    pub model: PathBuf,
    /// Tokenizer spec overriding the folder's (`gpt2:DIR` or a tokenizer JSON).
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// A prompt; repeat for a batch.
    #[arg(long, required = true)]
    pub prompt: Vec<String>,
    /// Most new tokens per prompt.
    #[arg(long, default_value_t = 200)]
    pub max_new_tokens: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Sample among the k most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens covering this probability only.
    #[arg(long)]
    pub top_p: Option<f32>,
    /// A text whose token ends a row (e.g. "<|endoftext|>"); repeatable.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Re-run the whole sequence each step instead of using the KV cache (slower; for checking).
    #[arg(long)]
    pub no_cache: bool,
    /// Where to run: cpu, or cuda / cuda:N (needs a build with `--features cuda` and an NVIDIA driver).
    #[arg(long, default_value = "cpu")]
    pub device: engine::Device,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub use rlhf::run::resolve_model_dir;

/// Loads the model and its tokenizer (`spec` overrides the folder's tokenizer).
pub fn load_model_and_tokenizer(dir: &Path, spec: Option<&str>) -> Result<(Gpt, AnyTokenizer), RunError> {
    let dir = resolve_model_dir(dir)?;
    let model = load_hf_dir(&dir)?;
    let tok = match spec {
        Some(spec) => AnyTokenizer::from_spec(spec).map_err(|e| e.to_string())?,
        None => load_tokenizer_from_dir(&dir)?
            .ok_or_else(|| format!("{}: no tokenizer files (vocab.json + merges.txt, or rlhf_tokenizer.json); pass --tokenizer", dir.display()))?,
    };
    if tok.vocab_size() > model.config.vocab_size {
        return Err(format!("the tokenizer has {} ids but the model only {}", tok.vocab_size(), model.config.vocab_size).into());
    }
    Ok((model, tok))
}

/// The ids of stop texts: each must be a single token (a special token or one character/piece).
pub fn stop_token_ids(tok: &AnyTokenizer, stops: &[String]) -> Result<Vec<u32>, RunError> {
    stops
        .iter()
        .map(|s| {
            if let Some(id) = tok.special_token_id(s) {
                return Ok(id);
            }
            match tok.encode_for_model(s, true).map_err(|e| e.to_string())?.as_slice() {
                [id] => Ok(*id),
                ids => Err(format!("--stop {s:?} is {} tokens, not one", ids.len()).into()),
            }
        })
        .collect()
}

/// Runs `rlhf generate`.
pub fn run(args: &GenerateArgs) -> Result<(), RunError> {
    args.device.check_available()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| run_inner(args))
}

fn run_inner(args: &GenerateArgs) -> Result<(), RunError> {
    let (model, tok) = load_model_and_tokenizer(&args.model, args.tokenizer.as_deref())?;
    let prompts: Vec<Vec<u32>> = args
        .prompt
        .iter()
        .map(|p| tok.encode_for_model(p, true).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let options = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        stop_tokens: stop_token_ids(&tok, &args.stop)?,
        seed: args.seed,
        use_cache: !args.no_cache,
    };
    let started = Instant::now();
    let stdout = std::io::stdout();
    let streaming = prompts.len() == 1;
    let mut produced = 0usize;
    let mut pending: Vec<u32> = Vec::new();
    if streaming {
        print!("{}", args.prompt[0]);
        stdout.lock().flush()?;
    }
    let out = generate(&model, &prompts, &options, &mut |_, token| {
        produced += 1;
        if streaming {
            // Decode what forms whole characters (a BPE token can be part of a UTF-8 sequence).
            pending.push(token);
            if let Ok(text) = tok.decode(&pending) {
                if !text.contains('\u{FFFD}') {
                    print!("{text}");
                    let _ = stdout.lock().flush();
                    pending.clear();
                }
            }
        }
    })?;
    if streaming {
        if !pending.is_empty() {
            print!("{}", tok.decode(&pending).map_err(|e| e.to_string())?);
        }
        println!();
    } else {
        for (prompt, row) in args.prompt.iter().zip(&out) {
            let text = format!("{prompt}{}", tok.decode(row).map_err(|e| e.to_string())?);
            println!("{}", serde_json::to_string(&text)?);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{produced} tokens in {seconds:.2}s ({:.1} tokens/s, batch {})", produced as f64 / seconds, prompts.len());
    Ok(())
}
