//! Checkpoints: resuming continues a run bit for bit; missing, truncated and mismatched checkpoints give
//! errors that name the file and the tensor.
#[path = "../examples/common/gpt.rs"]
#[allow(dead_code)]
mod gpt;

use std::path::{Path, PathBuf};

use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState, CHECKPOINT_JSON};
use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer};
use engine::rng::Rng;
use engine::{Result, Tensor};
use gpt::{Gpt, GptConfig};

const CONFIG: GptConfig = GptConfig { vocab_size: 13, block_size: 8, n_layer: 2, n_head: 2, n_embd: 16 };
const SCHEDULE: LrSchedule = LrSchedule::WarmupCosine { max_lr: 3e-3, min_lr: 3e-4, warmup_steps: 2, decay_steps: 8 };

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autograd-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A fresh run: model from seed 1, optimizer, data RNG from seed 2.
fn fresh() -> Result<(Gpt, AdamW, Rng)> {
    let model = Gpt::new(CONFIG, &mut Rng::new(1))?;
    let opt = AdamW::for_module(&model, 0.1, AdamWOptions { lr: 0.0, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    Ok((model, opt, Rng::new(2)))
}

/// One training step on a batch drawn from `data_rng` (random sequences of a repeating pattern).
fn train_step(model: &Gpt, opt: &mut AdamW, data_rng: &mut Rng, step: u64) -> Result<f32> {
    let (b, t) = (3, CONFIG.block_size);
    let mut ids = Vec::with_capacity(b * (t + 1));
    for _ in 0..b {
        let start = data_rng.gen_range(CONFIG.vocab_size)?;
        ids.extend((0..=t).map(|i| ((start + 3 * i) % CONFIG.vocab_size) as i64));
    }
    let all = Tensor::from_vec(ids, &[b, t + 1])?;
    let (x, y) = (all.narrow(1, 0, t)?.contiguous()?, all.narrow(1, 1, t)?.contiguous()?);
    opt.set_lr(SCHEDULE.lr_at(step));
    opt.zero_grad();
    let loss = model.loss(&x, &y, None)?;
    loss.backward()?;
    clip_grad_norm(&model.parameters(), 1.0)?;
    opt.step()?;
    loss.item()
}

fn bits(model: &Gpt) -> Vec<(String, Vec<u32>)> {
    model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec::<f32>().unwrap().into_iter().map(f32::to_bits).collect()))
        .collect()
}

#[test]
fn resume_continues_bit_for_bit() -> Result<()> {
    const N: u64 = 8;
    // Straight run.
    let (model, mut opt, mut rng) = fresh()?;
    let mut losses = Vec::new();
    for step in 0..N {
        losses.push(train_step(&model, &mut opt, &mut rng, step)?);
    }
    assert!(losses[N as usize - 1] < losses[0], "training should make progress: {losses:?}");
    let straight = bits(&model);

    // Half, checkpoint, drop everything.
    let dir = temp_dir("resume");
    {
        let (model, mut opt, mut rng) = fresh()?;
        for step in 0..N / 2 {
            train_step(&model, &mut opt, &mut rng, step)?;
        }
        let state = TrainState { step: N / 2, rng_state: Some(rng.state()), config: serde_json::json!({ "n_layer": CONFIG.n_layer }) };
        save_checkpoint(&dir, &model, &opt, &state)?;
        // A second save supersedes the first and removes its files.
        save_checkpoint(&dir, &model, &opt, &state)?;
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3, "checkpoint.json + model + optimizer");
    }
    // Fresh objects (different initial weights: the checkpoint must overwrite them all), resume.
    let model = Gpt::new(CONFIG, &mut Rng::new(777))?;
    let mut opt = AdamW::for_module(&model, 0.1, AdamWOptions { lr: 0.0, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    let state = load_checkpoint(&dir, &model, &mut opt)?;
    assert_eq!(state.step, N / 2);
    assert_eq!(state.config["n_layer"], 2);
    let mut rng = Rng::from_state(state.rng_state.unwrap())?;
    for step in state.step..N {
        train_step(&model, &mut opt, &mut rng, step)?;
    }
    let resumed = bits(&model);
    assert_eq!(straight.len(), resumed.len());
    for ((name, a), (_, b)) in straight.iter().zip(&resumed) {
        assert!(a == b, "{name} differs after resuming");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

fn saved_checkpoint(name: &str) -> Result<(PathBuf, Gpt, AdamW)> {
    let dir = temp_dir(name);
    let (model, mut opt, mut rng) = fresh()?;
    train_step(&model, &mut opt, &mut rng, 0)?;
    save_checkpoint(&dir, &model, &opt, &TrainState { step: 1, rng_state: None, config: serde_json::Value::Null })?;
    Ok((dir, model, opt))
}

fn file_starting_with(dir: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap()
}

#[test]
fn a_save_killed_before_its_commit_leaves_the_previous_checkpoint() -> Result<()> {
    let dir = temp_dir("killed");
    let (model, mut opt, mut rng) = fresh()?;
    train_step(&model, &mut opt, &mut rng, 0)?;
    save_checkpoint(&dir, &model, &opt, &TrainState { step: 1, rng_state: Some(rng.state()), config: serde_json::Value::Null })?;
    let committed = bits(&model);
    // The next save dies after writing its tensors and part of its JSON, before the JSON's rename: what a
    // kill at that moment leaves behind.
    train_step(&model, &mut opt, &mut rng, 1)?;
    let values: Vec<(String, Tensor)> = model.state_dict().into_iter().collect();
    let refs: Vec<(&str, &Tensor)> = values.iter().map(|(n, t)| (n.as_str(), t)).collect();
    engine::io::safetensors::save(dir.join("model-00000002-dead.safetensors"), &refs, None)?;
    std::fs::write(dir.join(".checkpoint.json.tmp-1-0"), b"{\"format\": \"autograd-chec").unwrap();
    let fresh_model = Gpt::new(CONFIG, &mut Rng::new(3))?;
    let mut fresh_opt = AdamW::for_module(&fresh_model, 0.1, AdamWOptions::default());
    let state = load_checkpoint(&dir, &fresh_model, &mut fresh_opt)?;
    assert_eq!(state.step, 1);
    assert!(bits(&fresh_model) == committed);
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

#[test]
fn a_checkpoint_before_the_first_step_round_trips() -> Result<()> {
    let dir = temp_dir("step0");
    let (model, opt, _) = fresh()?;
    save_checkpoint(&dir, &model, &opt, &TrainState { step: 0, rng_state: None, config: serde_json::Value::Null })?;
    let other = Gpt::new(CONFIG, &mut Rng::new(5))?;
    let mut other_opt = AdamW::for_module(&other, 0.1, AdamWOptions::default());
    assert_eq!(load_checkpoint(&dir, &other, &mut other_opt)?.step, 0);
    assert!(bits(&other) == bits(&model));
    assert_eq!(other_opt.steps_taken(), 0);
    assert!(other_opt.state_tensors()?.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

#[test]
fn missing_truncated_and_mismatched_checkpoints_are_named() -> Result<()> {
    // Missing JSON.
    let (model, mut opt, _) = fresh()?;
    let err = load_checkpoint(temp_dir("nothing"), &model, &mut opt).unwrap_err().to_string();
    assert!(err.contains(CHECKPOINT_JSON), "{err}");

    // Missing model file.
    let (dir, model, mut opt) = saved_checkpoint("missing")?;
    let model_file = file_starting_with(&dir, "model-");
    std::fs::remove_file(&model_file).unwrap();
    let err = load_checkpoint(&dir, &model, &mut opt).unwrap_err().to_string();
    assert!(err.contains(&*model_file.file_name().unwrap().to_string_lossy()) && err.contains("missing"), "{err}");

    // Truncated optimizer file: named, and nothing was changed.
    let (dir, model, mut opt) = saved_checkpoint("truncated")?;
    let before = bits(&model);
    let optim_file = file_starting_with(&dir, "optimizer-");
    let len = std::fs::metadata(&optim_file).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&optim_file).unwrap().set_len(len / 2).unwrap();
    let err = load_checkpoint(&dir, &model, &mut opt).unwrap_err().to_string();
    assert!(err.contains(&*optim_file.file_name().unwrap().to_string_lossy()) && err.contains("truncated"), "{err}");
    assert!(bits(&model) == before);

    // Mismatched model: a wider model names the file and the tensor.
    let (dir, _, _) = saved_checkpoint("mismatch")?;
    let wide = Gpt::new(GptConfig { n_embd: 8, ..CONFIG }, &mut Rng::new(1))?;
    let mut wide_opt = AdamW::for_module(&wide, 0.1, AdamWOptions::default());
    let err = load_checkpoint(&dir, &wide, &mut wide_opt).unwrap_err().to_string();
    assert!(err.contains("model-") && err.contains("\"wte.weight\"") && err.contains("[13, 16]"), "{err}");

    // A deeper model: the first missing tensor is named.
    let deep = Gpt::new(GptConfig { n_layer: 3, ..CONFIG }, &mut Rng::new(1))?;
    let mut deep_opt = AdamW::for_module(&deep, 0.1, AdamWOptions::default());
    let err = load_checkpoint(&dir, &deep, &mut deep_opt).unwrap_err().to_string();
    assert!(err.contains("h.2.") && err.contains("missing"), "{err}");
    for name in ["nothing", "missing", "truncated", "mismatch"] {
        let _ = std::fs::remove_dir_all(temp_dir(name));
    }
    Ok(())
}
