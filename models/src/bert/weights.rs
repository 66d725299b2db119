//! Loading Hugging Face BERT tensors into our parameters, and saving them back under the same names.
//!
//! Strict where it matters: every parameter must be found (under its own name, with or without the
//! `bert.` prefix, or under the legacy `LayerNorm.gamma` / `beta` names), with the right shape; an error
//! names the tensor. Half-precision tensors are widened to f32. Tensors the model does not use are allowed
//! only when `is_ignorable` says so (buffers such as `embeddings.position_ids`, heads not built); any
//! other unexpected tensor is an error, since it means the checkpoint is not the architecture asked for.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use autograd::Parameter;
use engine::io::safetensors;
use engine::{DType, Error, Result, Tensor};

/// The weights file of a Hugging Face model folder (`model.safetensors`); an error saying what is there
/// instead when it is missing.
pub fn weights_file(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("model.safetensors");
    if path.is_file() {
        return Ok(path);
    }
    let hint = if dir.join("pytorch_model.bin").exists() {
        " (pytorch_model.bin is not supported: convert it to safetensors)"
    } else if dir.join("model.safetensors.index.json").exists() {
        " (sharded checkpoints are not supported)"
    } else {
        ""
    };
    Err(Error::io(path, format!("no model.safetensors in the model folder{hint}")))
}

/// The names under which a checkpoint may hold the parameter `name`.
fn candidate_names(name: &str) -> Vec<String> {
    let mut names = vec![name.to_string()];
    match name.strip_prefix("bert.") {
        Some(rest) => names.push(rest.to_string()),
        None => names.push(format!("bert.{name}")),
    }
    let legacy: Vec<String> = names
        .iter()
        .filter_map(|n| {
            n.strip_suffix("LayerNorm.weight")
                .map(|p| format!("{p}LayerNorm.gamma"))
                .or_else(|| n.strip_suffix("LayerNorm.bias").map(|p| format!("{p}LayerNorm.beta")))
        })
        .collect();
    names.extend(legacy);
    names
}

/// Sets every parameter in `params` from `state` (see the module docs). Nothing is changed unless every
/// parameter is found with the right shape and no unexpected tensor remains.
pub fn load_parameters(
    params: &[(String, Parameter)],
    state: &BTreeMap<String, Tensor>,
    source: &Path,
    is_ignorable: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let mut used: Vec<&str> = Vec::new();
    let mut values = Vec::with_capacity(params.len());
    for (name, p) in params {
        let found = candidate_names(name).into_iter().find_map(|c| state.get_key_value(c.as_str()));
        let Some((key, tensor)) = found else {
            return Err(Error::io(source, format!("missing tensor {name:?} (shape {:?})", p.shape())));
        };
        if tensor.shape() != p.shape().as_slice() {
            return Err(Error::io(
                source,
                format!("tensor {key:?} has shape {:?} but parameter {name:?} needs {:?}", tensor.shape(), p.shape()),
            ));
        }
        let value = match tensor.dtype() {
            DType::F32 => tensor.contiguous()?,
            DType::F16 | DType::BF16 => tensor.to_dtype(DType::F32)?,
            other => return Err(Error::io(source, format!("tensor {key:?} is {other}, not a float type"))),
        };
        used.push(key.as_str());
        values.push((p, value));
    }
    let unexpected: Vec<&String> =
        state.keys().filter(|k| !used.contains(&k.as_str()) && !is_ignorable(k.as_str())).collect();
    if !unexpected.is_empty() {
        return Err(Error::io(source, format!("unexpected tensors {unexpected:?}: the checkpoint is not this architecture")));
    }
    for (p, value) in values {
        p.set_value(value)?;
    }
    Ok(())
}

/// Loads `model.safetensors` of `dir` into `params`.
pub fn load_parameters_from_dir(
    params: &[(String, Parameter)],
    dir: &Path,
    is_ignorable: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let path = weights_file(dir)?;
    let state = safetensors::load(&path)?;
    load_parameters(params, &state, &path, is_ignorable)
}

/// Writes `params` to `path` as safetensors under their names.
pub fn save_parameters(params: &[(String, Parameter)], path: &Path) -> Result<()> {
    let values: Vec<(String, Tensor)> = params.iter().map(|(n, p)| (n.clone(), p.value())).collect();
    let refs: Vec<(&str, &Tensor)> = values.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::save(path, &refs, Some(meta))
}
