//! The key/value cache of incremental decoding: per layer, the keys and values of every position seen so
//! far, so each new token costs one position's projections and one row of attention instead of a full
//! forward pass over the sequence.
//!
//! Layout: per layer one preallocated buffer `[B, H, capacity, hd]` for keys and one for values, written
//! in place (no re-allocation per token); attention reads the first `len` positions as a strided view.
//! Batched prompts of different lengths are left-padded: the cache also keeps the U8 key-padding mask of
//! every position (`[B, capacity]`, 1 = real token), and each row's position ids count its real tokens.
use engine::{DType, Error, Result, Tensor};

use super::config::GptConfig;

/// One layer's cached keys and values.
#[derive(Debug)]
pub struct LayerKv {
    keys: Tensor,
    values: Tensor,
    len: usize,
}

impl LayerKv {
    fn new(batch: usize, n_head: usize, capacity: usize, head_dim: usize) -> Result<LayerKv> {
        let shape = [batch, n_head, capacity, head_dim];
        Ok(LayerKv { keys: Tensor::zeros(&shape, DType::F32)?, values: Tensor::zeros(&shape, DType::F32)?, len: 0 })
    }

    /// Appends `k`, `v` (`[B, H, Tn, hd]`) at positions `len..len + Tn`.
    pub fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<()> {
        let s = self.keys.shape().to_vec();
        let tn = k.shape()[2];
        if k.shape() != [s[0], s[1], tn, s[3]] || v.shape() != k.shape() {
            return Err(Error::op(
                "LayerKv::append",
                format!("k {:?} and v {:?} must be [{}, {}, Tn, {}]", k.shape(), v.shape(), s[0], s[1], s[3]),
            ));
        }
        if self.len + tn > s[2] {
            return Err(Error::op(
                "LayerKv::append",
                format!("cache holds {} of {} positions; {tn} more do not fit", self.len, s[2]),
            ));
        }
        let (cap, hd) = (s[2], s[3]);
        for (buffer, new) in [(&mut self.keys, k), (&mut self.values, v)] {
            let src = new.contiguous()?;
            let src = src.contiguous_slice::<f32>()?;
            let dst = buffer.contiguous_slice_mut::<f32>()?;
            for bh in 0..s[0] * s[1] {
                let from = &src[bh * tn * hd..(bh + 1) * tn * hd];
                let at = (bh * cap + self.len) * hd;
                dst[at..at + tn * hd].copy_from_slice(from);
            }
        }
        self.len += tn;
        Ok(())
    }

    /// Views of the cached keys and values, `[B, H, len, hd]` each. Drop them before the next append
    /// (a live view makes the append copy the buffer).
    pub fn keys_values(&self) -> Result<(Tensor, Tensor)> {
        Ok((self.keys.narrow(2, 0, self.len)?, self.values.narrow(2, 0, self.len)?))
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first append.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The whole model's cache: one [`LayerKv`] per block plus the key-padding mask of the cached positions.
///
/// ```
/// use models::gpt::{GptConfig, KvCache};
/// let config = GptConfig::preset("char-tiny").unwrap();
/// let cache = KvCache::new(&config, 2, 16).unwrap();
/// assert_eq!((cache.len(), cache.capacity(), cache.batch()), (0, 16, 2));
/// ```
#[derive(Debug)]
pub struct KvCache {
    /// One entry per block.
    pub layers: Vec<LayerKv>,
    key_padding: Vec<u8>,
    positions: Vec<i64>,
    batch: usize,
    capacity: usize,
    len: usize,
}

impl KvCache {
    /// An empty cache for `batch` rows of at most `capacity` positions (at most the model's block size).
    pub fn new(config: &GptConfig, batch: usize, capacity: usize) -> Result<KvCache> {
        if capacity > config.block_size || batch == 0 {
            return Err(Error::op(
                "KvCache::new",
                format!("capacity {capacity} must be at most the block size {} and batch {batch} positive", config.block_size),
            ));
        }
        let layers = (0..config.n_layer)
            .map(|_| LayerKv::new(batch, config.n_head, capacity, config.head_dim()))
            .collect::<Result<_>>()?;
        Ok(KvCache { layers, key_padding: vec![0; batch * capacity], positions: vec![0; batch], batch, capacity, len: 0 })
    }

    /// Records `Tn` new positions with their padding flags `[B * Tn]` (row-major, 1 = real token) and
    /// returns their position ids `[B, Tn]`: each row counts its own real tokens, so a left-padded row gets
    /// the same positions as the same tokens unpadded (a padding position gets the next real one's id).
    pub fn push_positions(&mut self, keep: &[u8], tn: usize) -> Result<Tensor> {
        if keep.len() != self.batch * tn || self.len + tn > self.capacity {
            return Err(Error::op(
                "KvCache::push_positions",
                format!(
                    "{} flags for {} rows x {tn} new positions; cache holds {} of {}",
                    keep.len(),
                    self.batch,
                    self.len,
                    self.capacity
                ),
            ));
        }
        let mut ids = Vec::with_capacity(self.batch * tn);
        for b in 0..self.batch {
            for t in 0..tn {
                let real = keep[b * tn + t];
                self.key_padding[b * self.capacity + self.len + t] = real;
                ids.push(self.positions[b]);
                if real != 0 {
                    self.positions[b] += 1;
                }
            }
        }
        self.len += tn;
        Tensor::from_vec(ids, &[self.batch, tn])
    }

    /// The U8 key-padding mask `[B, len]` of every position recorded so far.
    pub fn key_padding(&self) -> Result<Tensor> {
        let mut data = Vec::with_capacity(self.batch * self.len);
        for b in 0..self.batch {
            data.extend_from_slice(&self.key_padding[b * self.capacity..b * self.capacity + self.len]);
        }
        Tensor::from_vec(data, &[self.batch, self.len])
    }

    /// Positions recorded so far (the same for every layer once a forward pass has run).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first forward pass.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most positions the cache can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of rows.
    pub fn batch(&self) -> usize {
        self.batch
    }
}
