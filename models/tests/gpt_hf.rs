//! Our GPT-2 against Hugging Face `transformers` on the committed fixture (made by
//! `tests/fixtures/make_gpt2_fixture.py`): logits to 1e-4 relative, the loss, and parameter gradients.
use std::path::PathBuf;

use autograd::nn::Module;
use engine::io::safetensors;
use engine::Tensor;
use models::gpt::{load_hf_dir, save_hf_dir, GptConfig};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt2_tiny")
}

/// Worst `|a - b| / max(|b|, floor)` over all elements, and the worst absolute difference.
fn worst_diff(a: &[f32], b: &[f32], floor: f32) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0f32, 0f32), |(rel, abs), (&x, &y)| {
        let d = (x - y).abs();
        (rel.max(d / y.abs().max(floor)), abs.max(d))
    })
}

/// Next-token targets as HF's shifted loss uses them: `targets[t] = ids[t + 1]`, the last one ignored.
fn shifted_targets(ids: &Tensor) -> Tensor {
    let (b, t) = (ids.shape()[0], ids.shape()[1]);
    let v = ids.to_vec::<i64>().unwrap();
    let mut out = vec![-100i64; b * t];
    for r in 0..b {
        for i in 0..t - 1 {
            out[r * t + i] = v[r * t + i + 1];
        }
    }
    Tensor::from_vec(out, &[b, t]).unwrap()
}

#[test]
fn config_json_is_read_as_gpt2config() {
    let c = GptConfig::load_hf(fixture().join("config.json")).unwrap();
    assert_eq!((c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd), (101, 16, 2, 2, 32));
    assert_eq!(c.dropout, 0.0);
}

#[test]
fn logits_loss_and_gradients_match_transformers() {
    let model = load_hf_dir(fixture()).unwrap();
    let reference = safetensors::load(fixture().join("reference.safetensors")).unwrap();
    let ids = &reference["input_ids"];
    let targets = shifted_targets(ids);
    let out = model.forward(ids, Some(&targets)).unwrap();

    let ours = out.logits.tensor().to_vec::<f32>().unwrap();
    let theirs = reference["logits"].to_vec::<f32>().unwrap();
    // Relative to each logit, with a floor so values near 0 are held to 1e-4 absolute.
    let (rel, abs) = worst_diff(&ours, &theirs, 1.0);
    println!("logits: worst relative difference {rel:.3e}, worst absolute {abs:.3e}");
    assert!(rel < 1e-4, "logits differ from transformers: relative {rel:.3e}");

    let loss = out.loss.unwrap();
    let hf_loss = reference["loss"].to_vec::<f32>().unwrap()[0];
    println!("loss: ours {} theirs {hf_loss}", loss.item().unwrap());
    assert!((loss.item().unwrap() - hf_loss).abs() < 1e-5 * hf_loss.abs().max(1.0));

    // The per-token path gives the same numbers: HF's loss is the mean of -log p over both rows.
    let per_token = model.token_logprobs(ids).unwrap().tensor().to_vec::<f32>().unwrap();
    let mean_nll = -per_token.iter().map(|&p| p as f64).sum::<f64>() / per_token.len() as f64;
    assert!((mean_nll as f32 - hf_loss).abs() < 1e-5, "token_logprobs: {mean_nll} vs {hf_loss}");

    loss.backward().unwrap();
    let params: std::collections::BTreeMap<String, autograd::Parameter> = model.named_parameters().into_iter().collect();
    let mut checked = 0;
    for (key, grad) in &reference {
        let Some(name) = key.strip_prefix("grad.") else { continue };
        let ours = params[name].grad().unwrap_or_else(|| panic!("no gradient for {name}")).to_vec::<f32>().unwrap();
        let theirs = grad.to_vec::<f32>().unwrap();
        let scale = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
        let (_, abs) = worst_diff(&ours, &theirs, 1.0);
        println!("grad {name}: worst absolute difference {abs:.3e} (largest entry {scale:.3e})");
        assert!(abs <= 1e-4 * scale.max(1e-3), "gradient of {name} differs: {abs:.3e} vs scale {scale:.3e}");
        checked += 1;
    }
    assert!(checked >= 5, "the fixture holds gradients for several parameters");
}

#[test]
fn saved_folder_has_hf_names_and_loads_back_identically() {
    let model = load_hf_dir(fixture()).unwrap();
    let dir = match std::env::var("GPT_HF_EXPORT_DIR") {
        Ok(d) => PathBuf::from(d), // kept for `make_gpt2_fixture.py --check DIR`
        Err(_) => std::env::temp_dir().join(format!("gpt-hf-export-{}", std::process::id())),
    };
    save_hf_dir(&model, &dir).unwrap();
    let theirs = safetensors::load(fixture().join("model.safetensors")).unwrap();
    let ours = safetensors::load(dir.join("model.safetensors")).unwrap();
    assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "same tensor names as transformers");
    for (name, t) in &theirs {
        assert_eq!(ours[name].shape(), t.shape(), "{name}");
        assert_eq!(ours[name].to_vec::<f32>().unwrap(), t.to_vec::<f32>().unwrap(), "{name}");
    }
    let back = load_hf_dir(&dir).unwrap();
    assert_eq!(back.config, model.config);
    let ids = Tensor::from_vec(vec![1i64, 2, 3, 4], &[1, 4]).unwrap();
    assert_eq!(
        back.forward(&ids, None).unwrap().logits.tensor().to_vec::<f32>().unwrap(),
        model.forward(&ids, None).unwrap().logits.tensor().to_vec::<f32>().unwrap()
    );
    if std::env::var("GPT_HF_EXPORT_DIR").is_err() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn bare_hub_names_and_half_precision_load_too() {
    // The hub's `gpt2` stores `h.0...` without the `transformer.` prefix, sometimes in F16.
    let theirs = safetensors::load(fixture().join("model.safetensors")).unwrap();
    let dir = std::env::temp_dir().join(format!("gpt-hf-bare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture().join("config.json"), dir.join("config.json")).unwrap();
    let renamed: Vec<(String, Tensor)> = theirs
        .iter()
        .map(|(n, t)| (n.strip_prefix("transformer.").unwrap().to_string(), t.to_dtype(engine::DType::F16).unwrap()))
        .collect();
    let refs: Vec<(&str, &Tensor)> = renamed.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::save(dir.join("model.safetensors"), &refs, None).unwrap();
    let model = load_hf_dir(&dir).unwrap();
    let w = model.wte.weight.value().to_vec::<f32>().unwrap();
    let orig = theirs["transformer.wte.weight"].to_vec::<f32>().unwrap();
    let (_, abs) = worst_diff(&w, &orig, 1.0);
    assert!(abs < 1e-3, "F16 rounding only: {abs}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_or_mismatched_files_are_reported_by_name() {
    let err = load_hf_dir("/no/such/gpt2/folder").unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
    let dir = std::env::temp_dir().join(format!("gpt-hf-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("config.json")).unwrap()).unwrap();
    config["n_layer"] = 3.into(); // the weights have 2 layers
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::copy(fixture().join("model.safetensors"), dir.join("model.safetensors")).unwrap();
    let err = load_hf_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("model.safetensors") && err.contains("transformer.h.2"), "{err}");
    config["n_layer"] = 2.into();
    config["activation_function"] = "relu".into();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let err = load_hf_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("activation_function"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
