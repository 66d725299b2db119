//! `rlhf tokenize`: train, encode, decode and count with our tokenizers.
//!
//! ```text
//! rlhf tokenize train --kind bpe --vocab-size 4096 --out shakespeare_bpe.json tinyshakespeare.txt
//! rlhf tokenize encode --tokenizer gpt2:DIR FILE        # one JSON array of the whole file's ids
//! rlhf tokenize encode --tokenizer shakespeare_bpe.json FILE
//! rlhf tokenize encode --tokenizer wordpiece:DIR FILE   # [CLS] ... [SEP], as BERT models are fed
//! rlhf tokenize decode --tokenizer gpt2:DIR IDS.json    # JSON array in, text out
//! rlhf tokenize count  --tokenizer gpt2:DIR FILE...     # token count per file
//! ```
//! A FILE of `-` (or none) is standard input. Errors go to stderr with exit code 1.
use clap::{Args, Subcommand, ValueEnum};
use models::tokenizer::{read_text_file, text_from_bytes, AnyTokenizer, BpeTrainer, CharTokenizer, Tokenizer};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

type CliResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Args)]
pub struct TokenizeArgs {
    #[command(subcommand)]
    command: TokenizeCommand,
}

#[derive(Subcommand)]
enum TokenizeCommand {
    /// Train a vocabulary on corpus files and save it as JSON.
    Train(TrainArgs),
    /// Print the ids of a file's whole text as one JSON array.
    Encode(EncodeArgs),
    /// Read a JSON array of ids and print the text.
    Decode(DecodeArgs),
    /// Print the number of tokens of each file.
    Count(CountArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// One id per distinct character of the corpus.
    Char,
    /// Byte-level BPE with GPT-2 pre-tokenization.
    Bpe,
}

#[derive(Args)]
struct TrainArgs {
    /// What to train.
    #[arg(long, value_enum)]
    kind: Kind,
    /// Size of the BPE vocabulary: 256 bytes + merges + 6 special tokens (<|endoftext|>, <|system|>,
    /// <|user|>, <|assistant|>, <|end|>, <|pad|>). Ignored for --kind char.
    #[arg(long, default_value_t = 4096)]
    vocab_size: usize,
    /// Where to write the tokenizer (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Corpus files (UTF-8).
    #[arg(required = true)]
    corpus: Vec<PathBuf>,
}

#[derive(Args)]
struct TokenizerChoice {
    /// gpt2:DIR (encoder.json|vocab.json + vocab.bpe|merges.txt), wordpiece:DIR (vocab.txt), or a JSON
    /// file written by `rlhf tokenize train`.
    #[arg(long)]
    tokenizer: String,
}

#[derive(Args)]
struct EncodeArgs {
    #[command(flatten)]
    choice: TokenizerChoice,
    /// Map special tokens written in the text (such as <|endoftext|>) to their ids; by default they are
    /// ordinary text. (WordPiece always recognises [CLS] [SEP] [MASK] [PAD] [UNK], as BERT does.)
    #[arg(long)]
    allow_special: bool,
    /// Text file; `-` or nothing for standard input.
    file: Option<PathBuf>,
}

#[derive(Args)]
struct DecodeArgs {
    #[command(flatten)]
    choice: TokenizerChoice,
    /// File holding a JSON array of ids; `-` or nothing for standard input.
    file: Option<PathBuf>,
}

#[derive(Args)]
struct CountArgs {
    #[command(flatten)]
    choice: TokenizerChoice,
    /// See `encode --allow-special`.
    #[arg(long)]
    allow_special: bool,
    /// Text files; `-` or nothing for standard input.
    files: Vec<PathBuf>,
}

pub fn run(args: &TokenizeArgs) -> CliResult {
    match &args.command {
        TokenizeCommand::Train(a) => train(a),
        TokenizeCommand::Encode(a) => encode(a),
        TokenizeCommand::Decode(a) => decode(a),
        TokenizeCommand::Count(a) => count(a),
    }
}

fn is_stdin(file: Option<&Path>) -> bool {
    !matches!(file, Some(p) if p.as_os_str() != "-")
}

/// Reads a text file (or stdin); invalid UTF-8 is an error with its byte offset.
fn read_text(file: Option<&Path>) -> Result<String, Box<dyn std::error::Error>> {
    if is_stdin(file) {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok(text_from_bytes(bytes, "<stdin>")?);
    }
    Ok(read_text_file(file.expect("not stdin"))?)
}

fn train(args: &TrainArgs) -> CliResult {
    let start = Instant::now();
    let texts = args
        .corpus
        .iter()
        .map(read_text_file)
        .collect::<Result<Vec<String>, _>>()?;
    let bytes: usize = texts.iter().map(String::len).sum();
    let tokenizer = match args.kind {
        Kind::Char => AnyTokenizer::Char(CharTokenizer::from_corpus(&texts.concat())?),
        Kind::Bpe => {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let counts = models::tokenizer::bpe_train::count_words(&refs);
            AnyTokenizer::Bpe(BpeTrainer::new(args.vocab_size).train_on_word_counts(counts)?)
        }
    };
    tokenizer.save(&args.out)?;
    eprintln!(
        "trained a {} vocabulary of {} ids on {} file(s), {bytes} bytes, in {:.2} s; wrote {}",
        match args.kind {
            Kind::Char => "character",
            Kind::Bpe => "BPE",
        },
        tokenizer.vocab_size(),
        texts.len(),
        start.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

fn encode(args: &EncodeArgs) -> CliResult {
    let tokenizer = AnyTokenizer::from_spec(&args.choice.tokenizer)?;
    let text = read_text(args.file.as_deref())?;
    let ids = tokenizer.encode_for_model(&text, args.allow_special)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer(&mut out, &ids)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn decode(args: &DecodeArgs) -> CliResult {
    let tokenizer = AnyTokenizer::from_spec(&args.choice.tokenizer)?;
    let source = args.file.as_deref().filter(|_| !is_stdin(args.file.as_deref()));
    let name = source.map_or("<stdin>".to_string(), |p| p.display().to_string());
    let json = read_text(args.file.as_deref())?;
    let ids: Vec<u32> =
        serde_json::from_str(&json).map_err(|e| format!("{name}: expected a JSON array of token ids: {e}"))?;
    let text = tokenizer.decode(&ids)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn count(args: &CountArgs) -> CliResult {
    let tokenizer = AnyTokenizer::from_spec(&args.choice.tokenizer)?;
    let files: Vec<Option<&Path>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files.iter().map(|p| Some(p.as_path())).collect()
    };
    let mut total = 0;
    for file in &files {
        let text = read_text(*file)?;
        let n = tokenizer.encode_for_model(&text, args.allow_special)?.len();
        total += n;
        let name = if is_stdin(*file) {
            "-".to_string()
        } else {
            file.expect("a path").display().to_string()
        };
        println!("{n}\t{name}");
    }
    if files.len() > 1 {
        println!("{total}\ttotal");
    }
    Ok(())
}
