//! End to end across engine and autograd: a small character-level GPT (built from autograd's modules)
//! trained with AdamW, a warmup + cosine schedule and clipping memorises a short text; evaluation under
//! `no_grad` records nothing; a checkpoint's model file is a plain safetensors file whose tensor names are
//! the module's dotted parameter names.
#[path = "../../autograd/examples/common/gpt.rs"]
#[allow(dead_code)]
mod gpt;

use autograd::checkpoint::{save_checkpoint, JsonValue, TrainState};
use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer};
use autograd::no_grad;
use engine::io::safetensors;
use engine::rng::Rng;
use engine::{Result, Tensor};
use gpt::{Gpt, GptConfig};

const TEXT: &str = "to be or not to be, that is the question. ";

#[test]
fn a_small_gpt_memorises_a_sentence() -> Result<()> {
    let mut vocab: Vec<char> = TEXT.chars().collect();
    vocab.sort_unstable();
    vocab.dedup();
    let ids: Vec<i64> = TEXT.chars().map(|c| vocab.iter().position(|&v| v == c).unwrap() as i64).collect();
    let t = 16;
    let config = GptConfig { vocab_size: vocab.len(), block_size: t, n_layer: 2, n_head: 2, n_embd: 32 };
    let model = Gpt::new(config, &mut Rng::new(0))?;
    let mut opt = AdamW::for_module(&model, 0.01, AdamWOptions { lr: 0.0, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    let schedule = LrSchedule::WarmupCosine { max_lr: 1e-2, min_lr: 1e-3, warmup_steps: 10, decay_steps: 150 };
    // Every window of the text, as one batch.
    let windows = ids.len() - t;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for s in 0..windows {
        x.extend_from_slice(&ids[s..s + t]);
        y.extend_from_slice(&ids[s + 1..s + t + 1]);
    }
    let (x, y) = (Tensor::from_vec(x, &[windows, t])?, Tensor::from_vec(y, &[windows, t])?);
    let mut first = 0.0;
    for step in 0..150 {
        opt.set_lr(schedule.lr_at(step));
        opt.zero_grad();
        let loss = model.loss(&x, &y, None)?;
        if step == 0 {
            first = loss.item()?;
        }
        loss.backward()?;
        clip_grad_norm(&model.parameters(), 1.0)?;
        opt.step()?;
    }
    let _guard = no_grad();
    let last = model.loss(&x, &y, None)?;
    assert!(!last.requires_grad());
    let last = last.item()?;
    // Uniform guessing over the vocabulary costs ln(V) ~ 2.8; memorised text costs little.
    assert!(first > 2.5 && last < 0.5, "loss {first} -> {last}");

    // The checkpoint's model file holds exactly the named parameters.
    let dir = std::env::temp_dir().join(format!("autograd-cross-crate-{}", std::process::id()));
    save_checkpoint(&dir, &model, &opt, &TrainState { step: 150, rng_state: None, config: JsonValue::Null })?;
    let model_file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("model-"))
        .unwrap();
    let saved = safetensors::load(&model_file)?;
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(saved.keys().cloned().collect::<Vec<_>>().len(), names.len());
    for (name, p) in model.named_parameters() {
        assert_eq!(saved[&name].to_vec::<f32>()?, p.value().to_vec::<f32>()?, "{name}");
    }
    assert!(saved.contains_key("h.1.attn.c_attn.weight"));
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}
