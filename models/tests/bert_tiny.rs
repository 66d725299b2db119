//! A tiny random BERT (2 layers, 2 heads, width 32, vocab 100, token types) against `transformers`:
//! `fixtures/bert_tiny/` holds the checkpoint (laid out as `BertForPreTraining`, as bert-base-uncased is) and
//! what `transformers` computed from it (`fixtures/make_bert_fixture.py`). Hidden states of every layer,
//! pooler output, sentence embeddings and MLM logits must match to 1e-4 relative (to each tensor's largest
//! magnitude), for a padded batch with a sentence pair (token types 0 and 1).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use autograd::nn::Module;
use autograd::no_grad;
use engine::io::safetensors;
use engine::Tensor;
use models::bert::{l2_normalize, load_wordpiece, mean_pool, weights, BertForMaskedLM, BertModel};

const RELATIVE_TOLERANCE: f32 = 1e-4;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert_tiny")
}

fn reference() -> BTreeMap<String, Tensor> {
    safetensors::load(fixture().join("reference.safetensors")).unwrap()
}

/// max |ours - reference| / max |reference|; panics naming `what` above the tolerance.
fn check_relative(what: &str, ours: &Tensor, reference: &Tensor) -> f32 {
    assert_eq!(ours.shape(), reference.shape(), "{what}: shape");
    let a = ours.to_vec::<f32>().unwrap();
    let b = reference.to_vec::<f32>().unwrap();
    let scale = b.iter().map(|x| x.abs()).fold(0f32, f32::max);
    assert!(scale > 0.1, "{what}: the reference is degenerate (max {scale})");
    let err = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) / scale;
    assert!(err.is_finite() && err <= RELATIVE_TOLERANCE, "{what}: relative error {err:e} > {RELATIVE_TOLERANCE:e}");
    eprintln!("{what}: relative error {err:e}");
    err
}

fn inputs(r: &BTreeMap<String, Tensor>) -> (Tensor, Tensor, Tensor) {
    (r["input_ids"].clone(), r["attention_mask"].clone(), r["token_type_ids"].clone())
}

#[test]
fn tiny_bert_model_matches_transformers() {
    let r = reference();
    let model = BertModel::from_pretrained(fixture()).unwrap();
    assert!(model.pooler.is_some(), "the checkpoint has bert.pooler.*");
    let (ids, mask, types) = inputs(&r);
    let _guard = no_grad();
    let out = model.forward(&ids, Some(&mask), Some(&types)).unwrap();
    assert_eq!(out.hidden_states.len(), 3);
    for (l, h) in out.hidden_states.iter().enumerate() {
        check_relative(&format!("hidden_states[{l}]"), h.tensor(), &r["hidden_states"].select(0, l).unwrap());
    }
    check_relative("last_hidden_state", out.last_hidden_state.tensor(), &r["last_hidden_state"]);
    check_relative("pooler_output", out.pooler_output.as_ref().unwrap().tensor(), &r["pooler_output"]);
    let emb = l2_normalize(&mean_pool(&out.last_hidden_state, Some(&mask)).unwrap()).unwrap();
    check_relative("sentence_embedding", emb.tensor(), &r["sentence_embedding"]);
}

#[test]
fn tiny_bert_token_types_and_padding_matter() {
    // The reference must exercise both: without token types or without the mask, the outputs differ.
    let r = reference();
    let model = BertModel::from_pretrained(fixture()).unwrap();
    let (ids, mask, types) = inputs(&r);
    assert!(types.to_vec::<i64>().unwrap().contains(&1));
    assert!(mask.to_vec::<i64>().unwrap().contains(&0));
    let _guard = no_grad();
    let differs = |t: &Tensor| {
        let a = t.to_vec::<f32>().unwrap();
        let b = r["last_hidden_state"].to_vec::<f32>().unwrap();
        a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) > 1e-2
    };
    assert!(differs(model.forward(&ids, Some(&mask), None).unwrap().last_hidden_state.tensor()));
    assert!(differs(model.forward(&ids, None, Some(&types)).unwrap().last_hidden_state.tensor()));
}

#[test]
fn tiny_bert_mlm_logits_match_transformers() {
    let r = reference();
    let mlm = BertForMaskedLM::from_pretrained(fixture()).unwrap();
    assert!(mlm.bert.pooler.is_none());
    let (ids, mask, types) = inputs(&r);
    let _guard = no_grad();
    let logits = mlm.forward(&ids, Some(&mask), Some(&types)).unwrap();
    check_relative("mlm_logits", logits.tensor(), &r["mlm_logits"]);
}

#[test]
fn tiny_bert_wordpiece_ids_match_transformers() {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap()).unwrap();
    let wp = load_wordpiece(fixture()).unwrap();
    let ids = |v: &serde_json::Value| -> Vec<u32> { v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect() };
    for e in meta["embed"].as_array().unwrap() {
        assert_eq!(wp.encode(e["text"].as_str().unwrap()).ids, ids(&e["input_ids"]), "{}", e["text"]);
    }
    let fill = &meta["fill_mask"];
    assert_eq!(wp.encode(fill["text"].as_str().unwrap()).ids, ids(&fill["input_ids"]));
    // The pair in the reference batch: [CLS] a [SEP] b [SEP] with token types 0 / 1.
    let r = reference();
    let pair = wp.encode_pair("the cat sat on the red house", "a dog ran to the city");
    let t = pair.ids.len();
    let row0: Vec<i64> = r["input_ids"].select(0, 0).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(pair.ids.iter().map(|&x| x as i64).collect::<Vec<_>>(), row0[..t]);
    let types0: Vec<i64> = r["token_type_ids"].select(0, 0).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(pair.type_ids.iter().map(|&x| x as i64).collect::<Vec<_>>(), types0[..t]);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bert_tiny_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the fixture folder whose weights are `edit`ed.
fn edited_checkpoint(name: &str, edit: impl FnOnce(&mut BTreeMap<String, Tensor>)) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::copy(fixture().join("config.json"), dir.join("config.json")).unwrap();
    let mut state = safetensors::load(fixture().join("model.safetensors")).unwrap();
    edit(&mut state);
    let refs: Vec<(&str, &Tensor)> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::save(dir.join("model.safetensors"), &refs, None).unwrap();
    dir
}

fn error_of(dir: &Path) -> String {
    BertForMaskedLM::from_pretrained(dir).unwrap_err().to_string()
}

#[test]
fn loading_errors_name_the_tensor() {
    let missing = edited_checkpoint("missing", |s| {
        s.remove("bert.encoder.layer.1.attention.self.key.bias");
    });
    let err = error_of(&missing);
    assert!(err.contains("missing tensor") && err.contains("bert.encoder.layer.1.attention.self.key.bias"), "{err}");

    let mismatched = edited_checkpoint("mismatched", |s| {
        s.insert("cls.predictions.transform.dense.weight".into(), Tensor::zeros(&[32, 16], engine::DType::F32).unwrap());
    });
    let err = error_of(&mismatched);
    assert!(err.contains("cls.predictions.transform.dense.weight") && err.contains("[32, 16]"), "{err}");

    let unexpected = edited_checkpoint("unexpected", |s| {
        s.insert("bert.encoder.layer.2.output.dense.weight".into(), Tensor::zeros(&[2, 2], engine::DType::F32).unwrap());
    });
    let err = error_of(&unexpected);
    assert!(err.contains("unexpected") && err.contains("bert.encoder.layer.2.output.dense.weight"), "{err}");

    let no_weights = temp_dir("no_weights");
    std::fs::copy(fixture().join("config.json"), no_weights.join("config.json")).unwrap();
    assert!(error_of(&no_weights).contains("model.safetensors"));

    // Half-precision checkpoints load (widened to f32), and legacy LayerNorm gamma/beta names are accepted.
    let legacy = edited_checkpoint("legacy", |s| {
        let w = s.remove("bert.embeddings.LayerNorm.weight").unwrap();
        s.insert("bert.embeddings.LayerNorm.gamma".into(), w.to_dtype(engine::DType::BF16).unwrap());
    });
    let model = BertForMaskedLM::from_pretrained(&legacy).unwrap();
    let gain = model.bert.embeddings.layer_norm.weight.value().to_vec::<f32>().unwrap();
    let original = safetensors::load_tensor(fixture().join("model.safetensors"), "bert.embeddings.LayerNorm.weight").unwrap();
    for (a, b) in gain.iter().zip(original.to_vec::<f32>().unwrap()) {
        assert!((a - b).abs() <= b.abs() / 128.0, "bf16 widening: {a} vs {b}");
    }
    for dir in [missing, mismatched, unexpected, no_weights, legacy] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn save_pretrained_round_trips() {
    let r = reference();
    let mlm = BertForMaskedLM::from_pretrained(fixture()).unwrap();
    let dir = temp_dir("roundtrip");
    mlm.save_pretrained(&dir).unwrap();
    let names: Vec<String> = safetensors::load(dir.join("model.safetensors")).unwrap().into_keys().collect();
    assert!(names.contains(&"bert.encoder.layer.0.attention.self.query.weight".to_string()));
    assert!(!names.iter().any(|n| n.contains("decoder")), "the tied decoder is not written: {names:?}");
    let again = BertForMaskedLM::from_pretrained(&dir).unwrap();
    let (ids, mask, types) = inputs(&r);
    let _guard = no_grad();
    let a = mlm.forward(&ids, Some(&mask), Some(&types)).unwrap().tensor().to_vec::<f32>().unwrap();
    let b = again.forward(&ids, Some(&mask), Some(&types)).unwrap().tensor().to_vec::<f32>().unwrap();
    assert_eq!(a, b);
    // Every parameter has an HF name and a matching tensor in the saved file.
    assert_eq!(names.len(), mlm.named_parameters().len());
    let _ = weights::weights_file(&dir).unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
