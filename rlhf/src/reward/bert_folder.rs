//! Reward-model folders for the BERT trunk, in Hugging Face's `BertForSequenceClassification` layout:
//! `config.json` (the BERT config with `architectures: ["BertForSequenceClassification"]` and
//! `num_labels: 1`), `model.safetensors` holding `bert.*` (embeddings, encoder, pooler),
//! `classifier.weight [1, H]` and `classifier.bias [1]` (which carries the normalisation offset), and the
//! WordPiece vocabulary (`vocab.txt`, `tokenizer_config.json`). `transformers` loads the folder with
//! `BertForSequenceClassification.from_pretrained` and computes the same score (see `bert_trunk.rs`).
use std::collections::BTreeMap;
use std::path::Path;

use autograd::nn::Module;
use autograd::Parameter;
use engine::io::safetensors;
use engine::rng::Rng;
use engine::{Error, Result, Tensor};
use models::bert::char_vocab::save_wordpiece;
use models::bert::{load_wordpiece, BertConfig, BertModel};
use models::tokenizer::WordPiece;

use super::bert_trunk::{bert_reward_model, hf_name, BertRewardModel};

/// The architecture name written in `config.json`.
pub const BERT_REWARD_ARCHITECTURE: &str = "BertForSequenceClassification";

/// The model's parameters under their Hugging Face names (`bert.*`, `classifier.*`).
pub fn hf_parameters(model: &BertRewardModel) -> Vec<(String, Parameter)> {
    model.named_parameters().into_iter().map(|(n, p)| (hf_name(&n), p)).collect()
}

/// Writes a BERT reward-model folder: config, weights and the vocabulary `wp`.
///
/// ```
/// use engine::rng::Rng;
/// use models::bert::{char_vocab::char_wordpiece, BertConfig, BertModel};
/// use rlhf::reward::bert_folder::{load_bert_reward_dir, save_bert_reward_dir};
/// use rlhf::reward::bert_trunk::bert_reward_model;
/// let wp = char_wordpiece("abc, def")?;
/// let config = BertConfig::from_json_str(&format!(r#"{{"vocab_size": {}, "hidden_size": 8, "num_hidden_layers": 1,
///     "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}}"#, wp.vocab_size()))?;
/// let mut rng = Rng::new(0);
/// let rm = bert_reward_model(BertModel::new(&config, false, &mut rng)?, &mut rng)?;
/// rm.add_to_bias(0.5)?;
/// let dir = std::env::temp_dir().join(format!("bert-rm-doc-{}", std::process::id()));
/// save_bert_reward_dir(&rm, &wp, &dir)?;
/// let (back, back_wp) = load_bert_reward_dir(&dir)?;
/// assert_eq!(back.head.bias.as_ref().unwrap().value().to_vec::<f32>()?, vec![0.5]);
/// assert_eq!(back_wp.encode("abc").ids, wp.encode("abc").ids);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn save_bert_reward_dir(model: &BertRewardModel, wp: &WordPiece, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("cannot create: {e}")))?;
    let values: BTreeMap<String, Tensor> = hf_parameters(model).into_iter().map(|(n, p)| (n, p.value())).collect();
    let refs: Vec<(&str, &Tensor)> = values.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::save(dir.join("model.safetensors"), &refs, Some(meta))?;
    let mut config: serde_json::Value = serde_json::from_str(&model.trunk.bert.config.to_json_string(BERT_REWARD_ARCHITECTURE))
        .map_err(|e| Error::op("save_bert_reward_dir", format!("config JSON: {e}")))?;
    config["num_labels"] = serde_json::json!(1);
    let path = dir.join("config.json");
    let json = serde_json::to_string_pretty(&config).expect("a JSON value always serialises");
    engine::io::write_atomically(&path, |w| std::io::Write::write_all(w, (json + "\n").as_bytes()))?;
    save_wordpiece(wp, dir)
}

/// Loads a folder written by [`save_bert_reward_dir`] (or a `BertForSequenceClassification` folder with
/// one label saved by `transformers`) and its vocabulary.
pub fn load_bert_reward_dir(dir: impl AsRef<Path>) -> Result<(BertRewardModel, WordPiece)> {
    let dir = dir.as_ref();
    let config = BertConfig::from_file(dir)?;
    let path = dir.join("model.safetensors");
    let state = safetensors::load(&path)?;
    match state.get("classifier.weight").map(|w| w.shape().to_vec()) {
        None => return Err(Error::io(&path, "no classifier.weight: not a BERT reward-model folder (a masked-LM or encoder folder?)")),
        Some(s) if s != [1, config.hidden_size] => {
            return Err(Error::io(&path, format!("classifier.weight is {s:?}; a reward model has one label: [1, {}]", config.hidden_size)))
        }
        Some(_) => {}
    }
    // Weights are overwritten below; the seed only fills them meanwhile.
    let mut rng = Rng::new(0);
    let model = bert_reward_model(BertModel::new(&config, true, &mut rng)?, &mut rng)?;
    let buffers = |name: &str| name.contains("embeddings.position_ids") || name.contains("embeddings.token_type_ids");
    models::bert::weights::load_parameters(&hf_parameters(&model), &state, &path, &buffers)?;
    let wp = load_wordpiece(dir)?;
    if wp.vocab_size() > config.vocab_size {
        return Err(Error::io(dir, format!("vocab.txt has {} tokens but the model only {}", wp.vocab_size(), config.vocab_size)));
    }
    Ok((model, wp))
}
