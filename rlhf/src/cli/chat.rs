//! `rlhf chat`: a multi-turn conversation with a chat model in the terminal.
//!
//! ```text
//! rlhf chat --checkpoint runs/sft                     # a run folder or a model folder
//! rlhf chat --checkpoint runs/sft --temperature 0 --system "Answer briefly."
//! printf 'What is 2 plus 3?\n/reset\nHi\n' | rlhf chat --checkpoint runs/sft   # scripted
//! ```
//! Each line read from stdin is a user turn, or a command: `/reset` (forget the conversation, keep the
//! system prompt), `/system TEXT` (set the system prompt; `/system` alone removes it), `/help`, `/quit`.
//! The whole history is rendered with the chat template every turn and the answer is streamed token by
//! token. When the history no longer fits the model's context, the oldest exchanges are dropped (for good)
//! and the user is told. Answers go to stdout, one per turn followed by a newline; everything else (the
//! banner, notices, `--verbose` context figures) goes to stderr. Colour and the `you>` prompt appear only
//! on a terminal, so piped output is plain text.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use models::gpt::{generate_rows, GenerateOptions, Gpt};
use models::tokenizer::special;

use rlhf::data::{ChatError, ChatTokenizer, Conversation, Message, Role};
use rlhf::run::RunError;

/// Options of `rlhf chat`.
#[derive(Args, Clone, Debug)]
pub struct ChatArgs {
    /// The chat model: a run folder of `rlhf sft` (or any training stage) or a model folder.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// A system prompt to start with (`/system TEXT` changes it).
    #[arg(long)]
    pub system: Option<String>,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Sample among the k most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens covering this probability only.
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Longest answer in tokens (at most half the model's context is kept for the answer; the rest holds
    /// the history).
    #[arg(long, default_value_t = 48)]
    pub max_new_tokens: usize,
    /// Seed of the sampler (turn `i` samples with `seed + i`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// After each answer, print the context used and the history length to stderr.
    #[arg(long)]
    pub verbose: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `rlhf chat`.
pub fn run(args: &ChatArgs) -> Result<(), RunError> {
    if args.max_new_tokens == 0 {
        return Err("--max-new-tokens must be positive".into());
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| chat(args))
}

/// The conversation state: the system prompt and the exchanges since the last `/reset`.
struct Session {
    system: Option<String>,
    turns: Vec<Message>,
}

impl Session {
    fn conversation(&self) -> Conversation {
        let system = self.system.iter().map(|s| Message::new(Role::System, s.clone()));
        Conversation::new(system.chain(self.turns.iter().cloned()).collect())
    }
}

/// What one line asks for.
enum Line<'a> {
    Say(&'a str),
    Reset,
    System(Option<&'a str>),
    Help,
    Quit,
    Unknown(&'a str),
}

fn parse_line(line: &str) -> Line<'_> {
    let Some(command) = line.strip_prefix('/') else {
        return Line::Say(line);
    };
    let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    match name {
        "reset" => Line::Reset,
        "system" => Line::System(Some(rest.trim()).filter(|s| !s.is_empty())),
        "help" => Line::Help,
        "quit" | "exit" => Line::Quit,
        _ => Line::Unknown(name),
    }
}

const HELP: &str = "commands: /reset (forget the conversation), /system TEXT (set the system prompt; /system alone removes it), /help, /quit";

fn chat(args: &ChatArgs) -> Result<(), RunError> {
    let dir = super::generate::resolve_model_dir(&args.checkpoint)?;
    let (model, _, tok) = super::sft::load_chat_model(&dir)?;
    let block = model.config.block_size;
    // Keep at least half the context for the history, the rest for the answer.
    let answer_room = args.max_new_tokens.min(block / 2).max(1);
    let prompt_room = block - answer_room;
    let interactive = std::io::stdin().is_terminal();
    let colour = std::io::stdout().is_terminal();
    if interactive {
        eprintln!("chatting with {} ({} parameters, context {block} tokens). {HELP}; Ctrl-D ends.", dir.display(), autograd::nn::Module::num_parameters(&model));
    }
    let mut session = Session { system: args.system.clone(), turns: Vec::new() };
    let mut turn_index = 0u64;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("you> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Line::Quit => break,
            Line::Help => eprintln!("{HELP}"),
            Line::Unknown(name) => eprintln!("unknown command /{name}; {HELP}"),
            Line::Reset => {
                session.turns.clear();
                eprintln!("(conversation reset{})", if session.system.is_some() { "; the system prompt is kept" } else { "" });
            }
            Line::System(text) => {
                session.system = text.map(str::to_string);
                match text {
                    Some(t) => eprintln!("(system prompt set: {t:?})"),
                    None => eprintln!("(system prompt removed)"),
                }
            }
            Line::Say(text) => {
                session.turns.push(Message::new(Role::User, text));
                let seed = args.seed.wrapping_add(turn_index);
                turn_index += 1;
                respond(args, &model, &tok, &mut session, prompt_room, answer_room, seed, colour)?;
            }
        }
    }
    Ok(())
}

/// Renders the history (dropping the oldest exchanges that no longer fit), streams the answer to stdout
/// and keeps it in the history.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn respond(
    args: &ChatArgs,
    model: &Gpt,
    tok: &ChatTokenizer,
    session: &mut Session,
    prompt_room: usize,
    answer_room: usize,
    seed: u64,
    colour: bool,
) -> Result<(), RunError> {
    // The template's truncation of the history to `prompt_room - 1` tokens, then `<|assistant|>`: exactly
    // what `render_prompt` builds, with the counts of what was dropped.
    let rendered = match tok.render_truncated(&session.conversation(), prompt_room - 1) {
        Ok(r) => r,
        Err(ChatError::TooLong { needed, .. }) => {
            session.turns.pop();
            eprintln!("(that message needs {needed} tokens, more than the {} the context leaves for it; not sent)", prompt_room - 1);
            return Ok(());
        }
        Err(e) => {
            session.turns.pop();
            eprintln!("(cannot send that message: {e})");
            return Ok(());
        }
    };
    let dropped_turns = rendered.dropped_messages - usize::from(rendered.dropped_system);
    if dropped_turns > 0 {
        session.turns.drain(..dropped_turns);
        eprintln!("(context full: dropped the {dropped_turns} oldest message(s) of the conversation)");
    }
    if rendered.dropped_system {
        eprintln!("(context full: the system prompt was left out of this turn)");
    }
    let mut ids = rendered.ids;
    ids.push(tok.role_id(Role::Assistant));

    // Any special token ends the answer: <|end|>, or a role marker the model should not write.
    let stop_tokens: Vec<u32> = special::DEFAULT_BPE_SPECIALS.iter().filter_map(|s| tok.special_id(s)).collect();
    let options = GenerateOptions {
        max_new_tokens: answer_room,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        stop_tokens,
        seed,
        use_cache: true,
    };
    let stdout = std::io::stdout();
    if colour {
        print!("\x1b[36m");
    }
    // Stream what decodes to whole characters (a BPE token can be part of a UTF-8 sequence).
    let mut pending: Vec<u32> = Vec::new();
    let rows = generate_rows(model, &[ids.clone()], &options, &mut |_, token| {
        pending.push(token);
        if let Ok(text) = tok.decode(&pending) {
            if !text.contains('\u{FFFD}') {
                print!("{text}");
                let _ = stdout.lock().flush();
                pending.clear();
            }
        }
    })?;
    if !pending.is_empty() {
        print!("{}", String::from_utf8_lossy(tok.decode(&pending).unwrap_or_default().as_bytes()));
    }
    if colour {
        print!("\x1b[0m");
    }
    println!();
    stdout.lock().flush()?;
    let row = &rows[0];
    let answer = tok.decode(&row.tokens).map_err(|e| e.to_string())?;
    if row.stopped_by.is_none() {
        eprintln!("(answer cut off at {} tokens)", row.tokens.len());
    }
    if answer.trim().is_empty() {
        session.turns.pop();
        eprintln!("(the model gave an empty answer; that exchange is not kept)");
    } else {
        session.turns.push(Message::new(Role::Assistant, answer));
    }
    if args.verbose {
        eprintln!(
            "[context: {} prompt + {} answer tokens of {}; {} message(s) in the history{}]",
            ids.len(),
            row.tokens.len() + usize::from(row.stopped_by.is_some()),
            model.config.block_size,
            session.turns.len(),
            if session.system.is_some() { " and a system prompt" } else { "" }
        );
    }
    Ok(())
}
