//! The GPT-2 decoder: model, Hugging Face checkpoints, KV cache and generation.
//!
//! One concept per file:
//!
//! | file | what |
//! | --- | --- |
//! | `config.rs` | [`GptConfig`], presets (`char-tiny`, `char-small`, `gpt2`), HF `config.json` mapping |
//! | `conv1d.rs` | [`Conv1D`]: GPT-2's linear layer with the weight stored `[in, out]` as HF does |
//! | `attention.rs` | [`CausalSelfAttention`]: fused, composed (oracle / attention dropout) and cached paths |
//! | `mlp.rs` | [`Mlp`]: 4x tanh-GELU feed-forward |
//! | `block.rs` | [`Block`]: pre-LN transformer block |
//! | `model.rs` | [`Gpt`]: embeddings, blocks, final norm, tied LM head, loss |
//! | `hf.rs` | HF checkpoint folders: [`load_hf_dir`], [`save_hf_dir`], tokenizer files |
//! | `kv_cache.rs` | [`KvCache`] for incremental decoding |
//! | `generate.rs` | [`generate`]: greedy / temperature / top-k / top-p, stop tokens, batched prompts |
//!
//! ```
//! use engine::{rng::Rng, Tensor};
//! use models::gpt::{generate, GenerateOptions, Gpt, GptConfig};
//! let mut config = GptConfig::preset("char-tiny")?;
//! config.n_layer = 1;
//! let model = Gpt::new(config, &mut Rng::new(0))?;
//! let ids = Tensor::from_vec(vec![0i64, 1, 2, 3], &[1, 4])?;
//! assert_eq!(model.forward(&ids, None)?.logits.shape(), &[1, 4, 65]);
//! let opts = GenerateOptions { max_new_tokens: 3, temperature: 0.8, top_k: Some(10), seed: 1, ..Default::default() };
//! let tokens = generate(&model, &[vec![0, 1, 2, 3]], &opts, &mut |_, _| {})?;
//! assert_eq!(tokens[0].len(), 3);
//! # Ok::<(), engine::Error>(())
//! ```
pub mod attention;
pub mod block;
pub mod config;
pub mod conv1d;
pub mod generate;
pub mod hf;
pub mod kv_cache;
pub mod mlp;
pub mod model;

pub use attention::CausalSelfAttention;
pub use block::Block;
pub use config::{GptConfig, PRESETS};
pub use conv1d::Conv1D;
pub use generate::{generate, generate_rows, sample_token, GenerateOptions, GeneratedRow};
pub use hf::{load_hf_dir, load_tokenizer_from_dir, save_hf_dir, save_tokenizer_to_dir, state_dict_from_hf};
pub use kv_cache::{KvCache, LayerKv};
pub use mlp::Mlp;
pub use model::{Gpt, GptOutput, TRANSFORMER_PREFIX};
