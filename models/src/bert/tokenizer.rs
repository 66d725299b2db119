//! The WordPiece tokenizer of a Hugging Face BERT folder, and [`SentenceEncoder`]: text in, sentence
//! embeddings out (mean pooling + L2 normalisation, as sentence-transformers computes them).
use std::path::Path;

use autograd::no_grad;
use engine::{Error, Result, Tensor};

use super::model::{l2_normalize, mean_pool, pad_batch, BertModel};
use crate::tokenizer::WordPiece;

/// The tokenizer of a model folder: `vocab.txt`, or else the WordPiece vocabulary inside `tokenizer.json`
/// (sentence-transformers folders often ship only that). `do_lower_case: false` in
/// `tokenizer_config.json` turns lower-casing (and accent stripping) off.
pub fn load_wordpiece(dir: impl AsRef<Path>) -> Result<WordPiece> {
    let dir = dir.as_ref();
    let vocab = dir.join("vocab.txt");
    let mut wp = if vocab.is_file() {
        WordPiece::from_vocab_file(&vocab).map_err(|e| Error::io(&vocab, e.to_string()))?
    } else {
        let path = dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(&path, format!("no vocab.txt in the folder and no readable tokenizer.json: {e}")))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::io(&path, e.to_string()))?;
        let model = &json["model"];
        if model["type"].as_str() != Some("WordPiece") {
            return Err(Error::io(&path, format!("model.type is {}, not WordPiece", model["type"])));
        }
        let map = model["vocab"].as_object().ok_or_else(|| Error::io(&path, "model.vocab is not an object"))?;
        let mut tokens = vec![None; map.len()];
        for (token, id) in map {
            let id = id.as_u64().filter(|&i| (i as usize) < tokens.len());
            match id {
                Some(i) if tokens[i as usize].is_none() => tokens[i as usize] = Some(token.clone()),
                _ => return Err(Error::io(&path, format!("token {token:?} has a bad or repeated id"))),
            }
        }
        let tokens: Vec<String> = tokens.into_iter().map(|t| t.unwrap_or_default()).collect();
        WordPiece::from_tokens(tokens).map_err(|e| Error::io(&path, e.to_string()))?
    };
    let config = dir.join("tokenizer_config.json");
    if let Ok(text) = std::fs::read_to_string(&config) {
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::io(&config, e.to_string()))?;
        if json["do_lower_case"].as_bool() == Some(false) {
            wp.normalizer.lowercase = false;
        }
    }
    Ok(wp)
}

/// A BERT encoder with its tokenizer, turning texts into sentence embeddings.
pub struct SentenceEncoder {
    /// The encoder.
    pub model: BertModel,
    /// Its WordPiece tokenizer.
    pub tokenizer: WordPiece,
    /// Longer inputs are truncated to this many tokens (`[SEP]` kept last).
    pub max_length: usize,
}

impl SentenceEncoder {
    /// Loads the model and tokenizer of a folder. The length limit is `max_seq_length` of
    /// `sentence_bert_config.json` when present, else `max_position_embeddings`.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<SentenceEncoder> {
        let dir = dir.as_ref();
        let model = BertModel::from_pretrained(dir)?;
        let tokenizer = load_wordpiece(dir)?;
        let mut max_length = model.config.max_position_embeddings;
        if let Ok(text) = std::fs::read_to_string(dir.join("sentence_bert_config.json")) {
            if let Some(n) = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["max_seq_length"].as_u64()) {
                max_length = max_length.min(n as usize);
            }
        }
        Ok(SentenceEncoder { model, tokenizer, max_length })
    }

    /// `[CLS] text [SEP]` ids, truncated to `max_length`.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = self.tokenizer.encode(text).ids;
        if ids.len() > self.max_length && self.max_length >= 2 {
            let last = *ids.last().unwrap_or(&0);
            ids.truncate(self.max_length - 1);
            ids.push(last);
        }
        ids
    }

    /// L2-normalised mean-pooled embeddings, one `Vec` of `hidden_size` per text, computed as one padded
    /// batch (no gradient recorded).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Vec<u32>> = texts.iter().map(|t| self.token_ids(t)).collect();
        let (ids, mask) = pad_batch(&rows, self.model.config.pad_token_id)?;
        let emb = sentence_embeddings(&self.model, &ids, Some(&mask))?;
        let h = self.model.config.hidden_size;
        Ok(emb.to_vec::<f32>()?.chunks(h).map(<[f32]>::to_vec).collect())
    }
}

/// Sentence embeddings `[B, H]` of token ids `[B, T]` (I64) with an optional attention mask: the encoder,
/// mean pooling over the real tokens, L2 normalisation, with no gradient recorded.
pub fn sentence_embeddings(model: &BertModel, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Result<Tensor> {
    let _guard = no_grad();
    let out = model.forward(input_ids, attention_mask, None)?;
    Ok(l2_normalize(&mean_pool(&out.last_hidden_state, attention_mask)?)?.into_tensor())
}
