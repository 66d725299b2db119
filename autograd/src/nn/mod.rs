//! Modules: a tree of named parameters (`h.0.attn.c_attn.weight`) whose state dict maps one to one to
//! checkpoint tensors, and the building blocks the models use ([`Linear`], [`LayerNorm`], [`Embedding`]).
use std::collections::BTreeMap;

use engine::{Error, Result, Tensor};

use crate::param::Parameter;

mod layers;

pub use layers::{Embedding, LayerNorm, Linear};

/// `prefix.name`, or `name` when the prefix is empty.
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Something that owns parameters, directly or through child modules.
///
/// Implement [`Module::visit_parameters`]: call `f` for each own parameter with `join_name(prefix, "weight")`
/// and recurse into children with `join_name(prefix, "child")`. Everything else has a default.
///
/// ```
/// use autograd::nn::{join_name, Linear, Module};
/// use autograd::Parameter;
/// use engine::rng::Rng;
///
/// struct Mlp { fc: Linear, proj: Linear }
/// impl Module for Mlp {
///     fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
///         self.fc.visit_parameters(&join_name(prefix, "fc"), f);
///         self.proj.visit_parameters(&join_name(prefix, "proj"), f);
///     }
/// }
/// let mut rng = Rng::new(0);
/// let mlp = Mlp { fc: Linear::new(4, 8, true, &mut rng)?, proj: Linear::new(8, 2, true, &mut rng)? };
/// let names: Vec<String> = mlp.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["fc.weight", "fc.bias", "proj.weight", "proj.bias"]);
/// assert_eq!(mlp.num_parameters(), 4 * 8 + 8 + 8 * 2 + 2);
/// # Ok::<(), engine::Error>(())
/// ```
pub trait Module {
    /// Calls `f(name, parameter)` for every parameter, names prefixed by `prefix` with dots.
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter));

    /// Every parameter with its dotted name, in visiting order.
    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        let mut out = Vec::new();
        self.visit_parameters("", &mut |name, p| out.push((name.to_string(), p.clone())));
        out
    }

    /// Every parameter, in visiting order.
    fn parameters(&self) -> Vec<Parameter> {
        self.named_parameters().into_iter().map(|(_, p)| p).collect()
    }

    /// The total number of parameter elements.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Parameter::numel).sum()
    }

    /// Clears every parameter's gradient.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Freezes (`false`) or unfreezes every parameter.
    fn set_requires_grad(&self, requires_grad: bool) {
        for p in self.parameters() {
            p.set_requires_grad(requires_grad);
        }
    }

    /// Name -> current value, one entry per parameter (values share storage with the parameters).
    fn state_dict(&self) -> BTreeMap<String, Tensor> {
        self.named_parameters().into_iter().map(|(n, p)| (n, p.value())).collect()
    }

    /// Sets every parameter from `state`. Strict: an error lists missing and unexpected names, or names the
    /// tensor whose shape or dtype differs; nothing is changed unless everything matches.
    fn load_state_dict(&self, state: &BTreeMap<String, Tensor>) -> Result<()> {
        load_named(&self.named_parameters(), state, "load_state_dict")
    }
}

/// Checks `state` against `params` (names, shapes, dtypes) and then sets every value.
pub(crate) fn load_named(params: &[(String, Parameter)], state: &BTreeMap<String, Tensor>, what: &'static str) -> Result<()> {
    let missing: Vec<&str> = params.iter().filter(|(n, _)| !state.contains_key(n)).map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<&str> =
        state.keys().filter(|k| !params.iter().any(|(n, _)| n == *k)).map(String::as_str).collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(Error::op(what, format!("missing tensors {missing:?}; unexpected tensors {unexpected:?}")));
    }
    for (name, p) in params {
        let t = &state[name];
        if t.shape() != p.shape().as_slice() || t.dtype() != p.dtype() {
            return Err(Error::op(
                what,
                format!(
                    "tensor {name:?} is {} {:?} but the parameter is {} {:?}",
                    t.dtype(),
                    t.shape(),
                    p.dtype(),
                    p.shape()
                ),
            ));
        }
    }
    for (name, p) in params {
        // Row-major values. A memory-mapped checkpoint tensor stays mapped (zero-copy) until the first
        // in-place optimizer update, where `contiguous_slice_mut` copies it into owned memory.
        p.set_value(state[name].contiguous()?)?;
    }
    Ok(())
}
