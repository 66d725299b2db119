//! Embedding lookup and its backward on the GPU (`kernels/cuda/embedding.cu`). Mirrors
//! [`crate::embedding_forward`] (out[p, :] = table[ids[p], :]) and [`crate::embedding_backward`]
//! (dtable[ids[p], :] += dout[p, :]).
//!
//! Two backward paths:
//! - [`embedding_backward_deterministic`] takes the ids on the host (where a training batch comes from),
//!   checks them with the CPU's errors, buckets positions by id with the CPU's stable counting sort, and
//!   adds each used row's gradients in position order: bit-identical to the CPU kernel, run after run.
//! - [`embedding_backward`] takes device ids and adds with `atomicAdd`: positions sharing an id accumulate
//!   in a scheduling-dependent order, so the low bits of such rows can change from run to run.
//!
//! With device ids (forward and the atomic backward) an id outside `[0, vocab)` is not reported as an
//! error (that would need a copy back and a wait): forward fills its row with NaN, backward skips it.
//!
//! ```
//! use kernels::cuda::{ops::embedding, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let table = dev.htod(&[0.0f32, 1.0, 10.0, 11.0]).unwrap(); // vocab 2, dim 2
//! let ids = dev.htod(&[1i64, 0, 1]).unwrap();
//! let mut out = dev.alloc_zeros::<f32>(6).unwrap();
//! embedding::embedding_forward(&dev, &table, 2, 2, &ids, &mut out, Launch::AUTO).unwrap();
//! assert_eq!(dev.dtoh(&out).unwrap(), vec![10.0, 11.0, 0.0, 1.0, 10.0, 11.0]);
//! ```
use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::launch::{check_len, check_threads, int_arg, launched, DeviceIn, DeviceOut, Launch};
use crate::cuda::{ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry points in `embedding.ptx`.
pub const EMBEDDING_FORWARD: &str = "embedding_forward_f32";
pub const EMBEDDING_BACKWARD: &str = "embedding_backward_f32";
pub const EMBEDDING_BACKWARD_SORTED: &str = "embedding_backward_sorted_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[EMBEDDING_FORWARD, EMBEDDING_BACKWARD, EMBEDDING_BACKWARD_SORTED];

/// Blocks of `launch.threads` (default: enough for `dim`, 32..=256) over the dim, one block row per
/// position, at most `launch.blocks` (and 65535) along positions.
fn config(kernel: &'static str, launch: Launch, positions: usize, dim: usize) -> KernelResult<LaunchConfig> {
    let threads = if launch.threads != 0 {
        check_threads(kernel, launch.threads)?
    } else {
        (dim.next_power_of_two()).clamp(32, 256) as u32
    };
    let mut pos_blocks = positions.clamp(1, 65_535) as u32;
    if launch.blocks != 0 {
        pos_blocks = pos_blocks.min(launch.blocks);
    }
    Ok(LaunchConfig {
        grid_dim: (dim.div_ceil(threads as usize) as u32, pos_blocks, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    })
}

fn sizes(kernel: &'static str, vocab: usize, dim: usize, n: usize) -> KernelResult<(usize, usize)> {
    let tn = vocab.checked_mul(dim).ok_or_else(|| KernelError::new(kernel, "vocab x dim overflows"))?;
    let on = n.checked_mul(dim).ok_or_else(|| KernelError::new(kernel, "ids x dim overflows"))?;
    Ok((tn, on))
}

/// out[p, :] = table[ids[p], :]; `table` is (vocab, dim), `out` (ids.len(), dim). See
/// [`crate::embedding_forward`].
pub fn embedding_forward(
    dev: &CudaDevice,
    table: &impl DeviceIn<f32>,
    vocab: usize,
    dim: usize,
    ids: &impl DeviceIn<i64>,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_embedding_forward";
    let (table, ids, mut out) = (table.device_view(), ids.device_view(), out.device_view_mut());
    let (tn, on) = sizes(K, vocab, dim, ids.len())?;
    check_len(K, "table", table.len(), tn)?;
    check_len(K, "out", out.len(), on)?;
    if on == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::EMBEDDING, EMBEDDING_FORWARD)?;
    let (v, d, n) = (int_arg(K, "vocab", vocab)?, int_arg(K, "dim", dim)?, int_arg(K, "ids", ids.len())?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&table).arg(&v).arg(&d).arg(&ids).arg(&n).arg(&mut out);
    launched(K, unsafe { b.launch(config(K, launch, ids.len(), dim)?) })
}

/// dtable[ids[p], :] += dout[p, :] for every position p (repeated ids accumulate, with atomics). See
/// [`crate::embedding_backward`].
pub fn embedding_backward(
    dev: &CudaDevice,
    dout: &impl DeviceIn<f32>,
    ids: &impl DeviceIn<i64>,
    vocab: usize,
    dim: usize,
    dtable: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_embedding_backward";
    let (dout, ids, mut dtable) = (dout.device_view(), ids.device_view(), dtable.device_view_mut());
    let (tn, on) = sizes(K, vocab, dim, ids.len())?;
    check_len(K, "dtable", dtable.len(), tn)?;
    check_len(K, "dout", dout.len(), on)?;
    if on == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::EMBEDDING, EMBEDDING_BACKWARD)?;
    let (v, d, n) = (int_arg(K, "vocab", vocab)?, int_arg(K, "dim", dim)?, int_arg(K, "ids", ids.len())?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&dout).arg(&ids).arg(&n).arg(&v).arg(&d).arg(&mut dtable);
    launched(K, unsafe { b.launch(config(K, launch, ids.len(), dim)?) })
}

/// Positions bucketed by id, as the CPU's counting sort builds them: the used ids in ascending order,
/// `starts` (one more than used ids) indexing `order`, and `order` holding each id's positions ascending.
#[derive(Debug)]
struct Buckets {
    rows: Vec<i32>,
    starts: Vec<i32>,
    order: Vec<i32>,
}

fn bucket(kernel: &'static str, ids: &[i64], vocab: usize) -> KernelResult<Buckets> {
    int_arg(kernel, "ids", ids.len())?;
    let mut count = vec![0u32; vocab];
    for (pos, &id) in ids.iter().enumerate() {
        if id < 0 || id as u64 >= vocab as u64 {
            return Err(KernelError::new(kernel, format!("id {id} at position {pos} is out of range [0, {vocab})")));
        }
        count[id as usize] += 1;
    }
    let (mut rows, mut starts) = (Vec::new(), vec![0i32]);
    let mut slot = vec![0usize; vocab]; // where id v's next position goes in `order`
    for (v, &c) in count.iter().enumerate() {
        if c > 0 {
            slot[v] = *starts.last().unwrap() as usize;
            rows.push(v as i32);
            starts.push(starts.last().unwrap() + c as i32);
        }
    }
    let mut order = vec![0i32; ids.len()];
    for (pos, &id) in ids.iter().enumerate() {
        order[slot[id as usize]] = pos as i32;
        slot[id as usize] += 1;
    }
    Ok(Buckets { rows, starts, order })
}

/// dtable[ids[p], :] += dout[p, :] for every position p, deterministic and bit-identical to
/// [`crate::embedding_backward`]: `ids` are on the host and checked like the CPU does (an id out of range is
/// an error naming its position); each used table row adds its positions' rows in increasing position
/// order. Costs an O(ids + vocab) bucketing on the host and three small uploads.
///
/// ```
/// use kernels::cuda::{ops::embedding, ops::launch::Launch, CudaDevice};
/// let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
/// let dout = dev.htod(&[1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let mut dtable = dev.alloc_zeros::<f32>(4).unwrap(); // vocab 2, dim 2
/// embedding::embedding_backward_deterministic(&dev, &dout, &[1, 1], 2, 2, &mut dtable, Launch::AUTO).unwrap();
/// assert_eq!(dev.dtoh(&dtable).unwrap(), vec![0.0, 0.0, 4.0, 6.0]);
/// ```
pub fn embedding_backward_deterministic(
    dev: &CudaDevice,
    dout: &impl DeviceIn<f32>,
    ids: &[i64],
    vocab: usize,
    dim: usize,
    dtable: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_embedding_backward_deterministic";
    let (dout, mut dtable) = (dout.device_view(), dtable.device_view_mut());
    let (tn, on) = sizes(K, vocab, dim, ids.len())?;
    check_len(K, "dtable", dtable.len(), tn)?;
    check_len(K, "dout", dout.len(), on)?;
    let b = bucket(K, ids, vocab)?;
    if on == 0 {
        return Ok(());
    }
    let (order, rows, starts) = (dev.htod(&b.order)?, dev.htod(&b.rows)?, dev.htod(&b.starts)?);
    let f = dev.function(&ptx::EMBEDDING, EMBEDDING_BACKWARD_SORTED)?;
    let (nrows, d) = (b.rows.len() as i32, int_arg(K, "dim", dim)?);
    let mut lb = dev.stream().launch_builder(&f);
    lb.arg(&dout).arg(&order).arg(&rows).arg(&starts).arg(&nrows).arg(&d).arg(&mut dtable);
    launched(K, unsafe { lb.launch(config(K, launch, b.rows.len(), dim)?) })
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn bucket_groups_positions_by_id_in_position_order() {
        let b = bucket("t", &[3, 0, 3, 1, 0, 3], 5).unwrap();
        assert_eq!(b.rows, vec![0, 1, 3]);
        assert_eq!(b.starts, vec![0, 2, 3, 6]);
        assert_eq!(b.order, vec![1, 4, 3, 0, 2, 5]);
        let empty = bucket("t", &[], 5).unwrap();
        assert!(empty.rows.is_empty() && empty.order.is_empty() && empty.starts == vec![0]);
    }

    #[test]
    fn bucket_rejects_out_of_range_ids_naming_the_position() {
        let e = bucket("t", &[0, 1, 5], 5).unwrap_err();
        assert!(e.message.contains("id 5 at position 2 is out of range [0, 5)"), "{e}");
        assert!(bucket("t", &[-1], 5).is_err());
    }
}
