//! Reading and writing the safetensors format.
//!
//! The format: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each tensor name to
//! `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the header) plus an
//! optional `"__metadata__"` map of strings, then the raw little-endian element bytes.
//!
//! - [`load`] memory-maps the file; a tensor whose bytes are aligned for its dtype is a zero-copy view of the
//!   map (files written by [`save`] and by Python's `safetensors` always are), otherwise it is copied.
//! - dtypes: F32, F16, BF16, I64 and U8 load as themselves; BOOL loads as U8 (0 or 1; any non-zero byte reads as 1). Wider or narrower
//!   types are converted on load (a copy): F64 to F32 (rounded to nearest), I32, I16, I8, U16 and U32 to I64
//!   (exact). Anything else (U64, F8 variants, ...) is an error naming the file, the tensor and the dtype.
//! - [`save`] writes atomically: to a temporary file in the same directory, fsync, rename over the target,
//!   fsync the directory. A crash leaves either the old file or the new one, never a torn one.
//! - Every malformed file (truncated, bad header, offsets past the end, sizes that do not match the shape)
//!   gives [`Error::Io`] naming the file, never a panic. A mapped file must not be truncated by another
//!   process while its tensors are alive (the OS would fault on access), as with any memory map.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use half::{bf16, f16};
use serde_json::{Map, Value};

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::{fmt_shape, Layout};
use crate::storage::{CpuStorage, MappedBytes, Storage};
use crate::tensor::Tensor;
use crate::Device;

use super::atomic::write_atomically;

/// The largest header accepted (the reference implementation's limit), so a corrupt length cannot make us
/// allocate gigabytes.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor's entry in the header.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    begin: usize,
    end: usize,
}

/// The parsed header of a file.
struct Header {
    entries: Vec<Entry>,
    metadata: BTreeMap<String, String>,
}

/// The element size of a dtype name the loader accepts, or `None` for unsupported ones.
fn stored_size(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "U8" | "I8" | "BOOL" => 1,
        _ => return None,
    })
}

/// Parses and checks the header against the file's length.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    let io = |message: String| Error::io(path, message);
    if bytes.len() < 8 {
        return Err(io(format!(
            "not a safetensors file: {} bytes, shorter than the 8-byte header length (truncated?)",
            bytes.len()
        )));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header_len > MAX_HEADER_BYTES {
        return Err(io(format!("header length {header_len} is over the {MAX_HEADER_BYTES}-byte limit (corrupt file?)")));
    }
    let data_start = 8 + header_len as usize;
    if data_start > bytes.len() {
        return Err(io(format!(
            "header of {header_len} bytes runs past the end of the {}-byte file (truncated?)",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(&bytes[8..data_start]).map_err(|e| io(format!("header is not UTF-8: {e}")))?;
    let json: Value = serde_json::from_str(text).map_err(|e| io(format!("header is not valid JSON: {e}")))?;
    let Value::Object(map) = json else {
        return Err(io("header is not a JSON object".to_string()));
    };
    let data_len = bytes.len() - data_start;
    let mut entries = Vec::with_capacity(map.len());
    let mut metadata = BTreeMap::new();
    for (name, value) in map {
        if name == "__metadata__" {
            let Value::Object(meta) = value else {
                return Err(io("__metadata__ is not a JSON object".to_string()));
            };
            for (key, v) in meta {
                let Value::String(s) = v else {
                    return Err(io(format!("__metadata__ value for {key:?} is not a string")));
                };
                metadata.insert(key, s);
            }
            continue;
        }
        entries.push(parse_entry(path, &name, &value, data_start, data_len)?);
    }
    Ok(Header { entries, metadata })
}

fn parse_entry(path: &Path, name: &str, value: &Value, data_start: usize, data_len: usize) -> Result<Entry> {
    let bad = |what: &str| Error::io(path, format!("tensor {name:?}: {what}"));
    let obj = value.as_object().ok_or_else(|| bad("header entry is not a JSON object"))?;
    let dtype = obj.get("dtype").and_then(Value::as_str).ok_or_else(|| bad("missing or non-string \"dtype\""))?;
    let shape = obj
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("missing or non-array \"shape\""))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad("\"shape\" holds something other than non-negative integers"))?;
    let offsets = obj
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|o| o.len() == 2)
        .and_then(|o| Some((usize::try_from(o[0].as_u64()?).ok()?, usize::try_from(o[1].as_u64()?).ok()?)))
        .ok_or_else(|| bad("missing or malformed \"data_offsets\" (two non-negative integers expected)"))?;
    let (begin, end) = offsets;
    if begin > end || end > data_len {
        return Err(bad(&format!(
            "data_offsets [{begin}, {end}] fall outside the {data_len} data bytes of the file (truncated?)"
        )));
    }
    let size = stored_size(dtype).ok_or_else(|| {
        bad(&format!(
            "dtype {dtype} is not supported (supported: F32, F16, BF16, I64, U8, BOOL; converted: F64, I32, I16, I8, U16, U32)"
        ))
    })?;
    if dtype == "U64" {
        return Err(bad("dtype U64 is not supported (it does not fit I64 in general)"));
    }
    let numel = shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n));
    let expected = numel.and_then(|n| n.checked_mul(size));
    if expected != Some(end - begin) {
        return Err(bad(&format!(
            "{dtype} shape {} needs {} bytes but data_offsets [{begin}, {end}] hold {}",
            fmt_shape(&shape),
            expected.map_or("too many".to_string(), |e| e.to_string()),
            end - begin
        )));
    }
    Ok(Entry { name: name.to_string(), dtype: dtype.to_string(), shape, begin: data_start + begin, end: data_start + end })
}

/// Maps a file read-only, naming it in the error.
fn map_file(path: &Path) -> Result<Arc<memmap2::Mmap>> {
    let file = File::open(path).map_err(|e| Error::io(path, format!("cannot open: {e}")))?;
    // SAFETY: the map is read-only; the module docs state that the file must not be truncated while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, format!("cannot memory-map: {e}")))?;
    Ok(Arc::new(map))
}

/// Decodes little-endian elements from bytes of any alignment.
fn decode<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes.chunks_exact(N).map(|c| from(c.try_into().expect("chunk of N bytes"))).collect()
}

/// Builds the tensor for one entry: zero-copy when aligned and native, otherwise decoded into owned storage.
fn entry_tensor(map: &Arc<memmap2::Mmap>, entry: &Entry) -> Result<Tensor> {
    let bytes = &map[entry.begin..entry.end];
    let shape = &entry.shape;
    let native = match entry.dtype.as_str() {
        "F32" => Some(DType::F32),
        "F16" => Some(DType::F16),
        "BF16" => Some(DType::BF16),
        "I64" => Some(DType::I64),
        "U8" | "BOOL" => Some(DType::U8),
        _ => None,
    };
    // BOOL bytes other than 0 and 1 (invalid, but seen) are normalised to 1 by the copying path below.
    let canonical = entry.dtype != "BOOL" || bytes.iter().all(|&b| b <= 1);
    if let Some(dtype) = native {
        if cfg!(target_endian = "little") && !bytes.is_empty() && canonical {
            if let Some(mapped) = MappedBytes::new(map.clone(), entry.begin, entry.end - entry.begin, dtype) {
                let storage = Arc::new(Storage::Cpu(CpuStorage::Mapped(mapped)));
                return Tensor::from_storage(storage, Layout::contiguous(shape));
            }
        }
    }
    match entry.dtype.as_str() {
        "F32" => Tensor::from_vec(decode(bytes, f32::from_le_bytes), shape),
        "F16" => Tensor::from_vec(decode(bytes, |b: [u8; 2]| f16::from_bits(u16::from_le_bytes(b))), shape),
        "BF16" => Tensor::from_vec(decode(bytes, |b: [u8; 2]| bf16::from_bits(u16::from_le_bytes(b))), shape),
        "I64" => Tensor::from_vec(decode(bytes, i64::from_le_bytes), shape),
        "U8" => Tensor::from_vec(bytes.to_vec(), shape),
        "BOOL" => Tensor::from_vec(bytes.iter().map(|&b| u8::from(b != 0)).collect::<Vec<u8>>(), shape),
        "F64" => Tensor::from_vec(decode(bytes, |b: [u8; 8]| f64::from_le_bytes(b) as f32), shape),
        "I32" => Tensor::from_vec(decode(bytes, |b: [u8; 4]| i32::from_le_bytes(b) as i64), shape),
        "U32" => Tensor::from_vec(decode(bytes, |b: [u8; 4]| u32::from_le_bytes(b) as i64), shape),
        "I16" => Tensor::from_vec(decode(bytes, |b: [u8; 2]| i16::from_le_bytes(b) as i64), shape),
        "U16" => Tensor::from_vec(decode(bytes, |b: [u8; 2]| u16::from_le_bytes(b) as i64), shape),
        "I8" => Tensor::from_vec(bytes.iter().map(|&b| b as i8 as i64).collect::<Vec<i64>>(), shape),
        other => Err(Error::op("safetensors", format!("dtype {other} slipped past the header check"))),
    }
}

/// Every tensor in a safetensors file, by name (see the module docs for dtypes and zero-copy).
///
/// ```
/// use engine::{io::safetensors, Tensor};
/// let dir = std::env::temp_dir().join(format!("engine-doc-load-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("w.safetensors");
/// let w = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// safetensors::save(&path, &[("w", &w)], None)?;
/// let loaded = safetensors::load(&path)?;
/// assert_eq!(loaded["w"].to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    Ok(load_with_metadata(path)?.0)
}

/// Every tensor in the file and the header's `__metadata__` strings (empty when there are none).
pub fn load_with_metadata(path: impl AsRef<Path>) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    let path = path.as_ref();
    let map = map_file(path)?;
    let header = parse_header(path, &map)?;
    let mut tensors = BTreeMap::new();
    for entry in &header.entries {
        let tensor = entry_tensor(&map, entry)
            .map_err(|e| Error::io(path, format!("tensor {:?}: {e}", entry.name)))?;
        tensors.insert(entry.name.clone(), tensor);
    }
    Ok((tensors, header.metadata))
}

/// One tensor from a file; an error naming the file, the tensor and some of the names it does hold when
/// there is no such tensor.
///
/// ```
/// use engine::{io::safetensors, Tensor};
/// let dir = std::env::temp_dir().join(format!("engine-doc-load-tensor-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("m.safetensors");
/// safetensors::save(&path, &[("bias", &Tensor::from_vec(vec![0.5f32], &[1])?)], None)?;
/// assert_eq!(safetensors::load_tensor(&path, "bias")?.to_vec::<f32>()?, vec![0.5]);
/// let err = safetensors::load_tensor(&path, "weight").unwrap_err().to_string();
/// assert!(err.contains("weight") && err.contains("bias"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn load_tensor(path: impl AsRef<Path>, name: &str) -> Result<Tensor> {
    let path = path.as_ref();
    let map = map_file(path)?;
    let header = parse_header(path, &map)?;
    match header.entries.iter().find(|e| e.name == name) {
        Some(entry) => entry_tensor(&map, entry).map_err(|e| Error::io(path, format!("tensor {name:?}: {e}"))),
        None => {
            let mut names: Vec<&str> = header.entries.iter().map(|e| e.name.as_str()).collect();
            names.sort_unstable();
            let shown = names.iter().take(8).map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
            let more = if names.len() > 8 { format!(" and {} more", names.len() - 8) } else { String::new() };
            Err(Error::io(
                path,
                format!("no tensor named {name:?}; the file holds {} tensors: {shown}{more}", names.len()),
            ))
        }
    }
}

/// The little-endian bytes of a tensor's elements in row-major order (any layout).
fn tensor_bytes(tensor: &Tensor) -> Result<Vec<u8>> {
    fn le<T: Element, const N: usize>(t: &Tensor, to: fn(T) -> [u8; N]) -> Result<Vec<u8>> {
        Ok(t.to_vec::<T>()?.into_iter().flat_map(to).collect())
    }
    match tensor.dtype() {
        DType::F32 => le(tensor, f32::to_le_bytes),
        DType::F16 => le(tensor, |x: f16| x.to_bits().to_le_bytes()),
        DType::BF16 => le(tensor, |x: bf16| x.to_bits().to_le_bytes()),
        DType::I64 => le(tensor, i64::to_le_bytes),
        DType::U8 => tensor.to_vec::<u8>(),
    }
}

/// Writes `tensors` (any layout; stored contiguous) and optional metadata to `path`, atomically.
///
/// Tensors are laid out largest dtype first, then by name, after a header padded to 8 bytes, so every tensor
/// is aligned for its dtype and loads zero-copy. Names must be unique, non-empty and not `__metadata__`;
/// tensors must be on the CPU.
///
/// ```
/// use std::collections::BTreeMap;
/// use engine::{io::safetensors, DType, Tensor};
/// let dir = std::env::temp_dir().join(format!("engine-doc-save-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("ckpt.safetensors");
/// let ids = Tensor::from_vec(vec![3i64, 1, 4], &[3])?;
/// let w = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?.t()?; // non-contiguous is fine
/// let meta = BTreeMap::from([("step".to_string(), "10".to_string())]);
/// safetensors::save(&path, &[("ids", &ids), ("w_t", &w)], Some(meta))?;
/// let (loaded, meta) = safetensors::load_with_metadata(&path)?;
/// assert_eq!(loaded["w_t"].to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
/// assert_eq!(loaded["ids"].dtype(), DType::I64);
/// assert_eq!(meta["step"], "10");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor)],
    metadata: Option<BTreeMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let mut order: Vec<&(&str, &Tensor)> = tensors.iter().collect();
    order.sort_by(|a, b| b.1.dtype().size_in_bytes().cmp(&a.1.dtype().size_in_bytes()).then(a.0.cmp(b.0)));
    for pair in order.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(Error::io(path, format!("tensor name {:?} is given twice", pair[0].0)));
        }
    }
    let mut header = Map::new();
    if let Some(meta) = metadata {
        let meta: Map<String, Value> = meta.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        header.insert("__metadata__".to_string(), Value::Object(meta));
    }
    let mut offset = 0usize;
    for (name, tensor) in &order {
        if name.is_empty() || *name == "__metadata__" {
            return Err(Error::io(path, format!("tensor name {name:?} is reserved or empty")));
        }
        if tensor.device() != Device::Cpu {
            return Err(Error::io(path, format!("tensor {name:?} is on {}; move it to the CPU first", tensor.device())));
        }
        let len = tensor.numel() * tensor.dtype().size_in_bytes();
        let entry = serde_json::json!({
            "dtype": tensor.dtype().name(),
            "shape": tensor.shape(),
            "data_offsets": [offset, offset + len],
        });
        header.insert(name.to_string(), entry);
        offset += len;
    }
    let mut header_bytes = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| Error::io(path, format!("cannot encode the header: {e}")))?;
    // Pad with spaces (valid JSON whitespace) so the data, and so every tensor, starts 8-byte aligned.
    header_bytes.resize(header_bytes.len().next_multiple_of(8), b' ');

    write_atomically(path, |out| {
        out.write_all(&(header_bytes.len() as u64).to_le_bytes())?;
        out.write_all(&header_bytes)?;
        for (name, tensor) in &order {
            let bytes = tensor_bytes(tensor)
                .map_err(|e| std::io::Error::other(format!("tensor {name:?}: {e}")))?;
            out.write_all(&bytes)?;
        }
        Ok(())
    })
}

