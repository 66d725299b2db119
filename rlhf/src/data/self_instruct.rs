//! The Self-Instruct seed tasks (`sft/self_instruct_seed_tasks.jsonl`): one conversation per instance,
//! prompt = the instruction, then a blank line and the input when there is one; response = the output.
use super::conversation::Conversation;
use super::error::{jsonl_lines, read_to_string, DataError, LineErrors};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Task {
    instruction: String,
    instances: Vec<Instance>,
}

#[derive(Deserialize)]
struct Instance {
    #[serde(default)]
    input: String,
    output: String,
}

/// The prompt of an instruction and its (possibly empty) input.
///
/// ```
/// assert_eq!(rlhf::data::self_instruct_prompt("Sort these.", "3 1 2"), "Sort these.\n\n3 1 2");
/// assert_eq!(rlhf::data::self_instruct_prompt("Tell a joke.", " "), "Tell a joke.");
/// ```
pub fn self_instruct_prompt(instruction: &str, input: &str) -> String {
    if input.trim().is_empty() {
        instruction.trim().to_string()
    } else {
        format!("{}\n\n{}", instruction.trim(), input.trim())
    }
}

/// Loads the seed tasks as SFT conversations; every bad line is reported with its number.
pub fn load_self_instruct(path: impl AsRef<Path>) -> Result<Vec<Conversation>, DataError> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    for (n, line) in jsonl_lines(&text) {
        match serde_json::from_str::<Task>(line) {
            Ok(task) if task.instances.is_empty() => errors.push(path, n, "no instances"),
            Ok(task) => {
                for inst in &task.instances {
                    let c = Conversation::from_prompt_response(&self_instruct_prompt(&task.instruction, &inst.input), inst.output.trim());
                    match c.validate_for_training() {
                        Ok(()) => out.push(c),
                        Err(e) => errors.push(path, n, e),
                    }
                }
            }
            Err(e) => errors.push(path, n, format!("expected a seed task {{\"instruction\", \"instances\": [{{\"input\", \"output\"}}]}}: {e}")),
        }
    }
    errors.finish(out)
}
