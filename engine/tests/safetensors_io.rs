//! safetensors IO: round trips of every dtype (non-contiguous inputs included), zero-copy loading, agreement
//! with the reference `safetensors` crate and with a file written by Python's `safetensors` package,
//! dtype conversion on load, atomic saving, and errors (never panics) for truncated or corrupt files.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::io::safetensors::{load, load_tensor, load_with_metadata, save};
use engine::storage::Storage;
use engine::{DType, Tensor};
use half::{bf16, f16};
use proptest::prelude::*;

/// A fresh empty directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("engine-safetensors-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_mapped(t: &Tensor) -> bool {
    matches!(&**t.storage(), Storage::Cpu(s) if s.is_mapped())
}

/// The same elements in the same shape and dtype, compared bit for bit through f32 (exact for all our
/// dtypes at these magnitudes) or through i64 for I64.
fn assert_same(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dtype(), b.dtype(), "{what}: dtype");
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    if a.dtype() == DType::I64 {
        assert_eq!(a.to_vec::<i64>().unwrap(), b.to_vec::<i64>().unwrap(), "{what}");
    } else {
        let bits = |t: &Tensor| t.to_vec_f32().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "{what}");
    }
}

/// Tensors of every dtype, most of them non-contiguous views.
fn sample_tensors() -> Vec<(&'static str, Tensor)> {
    let f32_base = Tensor::from_vec((0..12).map(|i| i as f32 * 0.25 - 1.0).collect(), &[3, 4]).unwrap();
    let f16_base = Tensor::from_vec((0..10).map(|i| f16::from_f32(i as f32 / 3.0)).collect(), &[2, 5]).unwrap();
    let bf16_row = Tensor::from_vec((0..3).map(|i| bf16::from_f32(-(i as f32) * 1.5e30)).collect(), &[3]).unwrap();
    let i64_base = Tensor::from_vec((0..24).map(|i| (i - 12) * 1_000_000_000_007i64).collect(), &[2, 3, 4]).unwrap();
    let u8_base = Tensor::from_vec((0..20).map(|i| (i * 13) as u8).collect(), &[4, 5]).unwrap();
    vec![
        ("f32_transposed", f32_base.t().unwrap()),
        ("f32_scalar", Tensor::scalar(-0.0)),
        ("f16_narrowed", f16_base.narrow(1, 1, 3).unwrap()),
        ("bf16_expanded", bf16_row.expand(&[2, 3]).unwrap()),
        ("i64_permuted", i64_base.permute(&[2, 0, 1]).unwrap()),
        ("u8_selected", u8_base.select(1, 2).unwrap()),
        ("u8_contiguous", u8_base.clone()),
        ("empty_f32", Tensor::zeros(&[0, 5], DType::F32).unwrap()),
    ]
}

#[test]
fn round_trip_of_every_dtype_is_exact_and_zero_copy() {
    let dir = TempDir::new("round-trip");
    let path = dir.path("all.safetensors");
    let tensors = sample_tensors();
    let pairs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let meta = BTreeMap::from([("step".to_string(), "42".to_string()), ("note".to_string(), "ünïcode".to_string())]);
    save(&path, &pairs, Some(meta.clone())).unwrap();
    let (loaded, loaded_meta) = load_with_metadata(&path).unwrap();
    assert_eq!(loaded_meta, meta);
    assert_eq!(loaded.len(), tensors.len());
    for (name, original) in &tensors {
        let back = &loaded[*name];
        assert_same(back, original, name);
        assert!(back.is_contiguous());
        if original.numel() > 0 {
            assert!(is_mapped(back), "{name} was copied, not mapped");
        }
    }
    // load_tensor gives the same thing for one name.
    assert_same(&load_tensor(&path, "i64_permuted").unwrap(), &tensors[4].1, "load_tensor");
    // Without metadata, load_with_metadata gives an empty map.
    save(&path, &pairs[..1], None).unwrap();
    assert!(load_with_metadata(&path).unwrap().1.is_empty());
    assert_eq!(dir.entries(), vec!["all.safetensors".to_string()], "no temporary file is left behind");
}

#[test]
fn our_files_match_the_reference_safetensors_crate() {
    let dir = TempDir::new("reference-crate");
    let path = dir.path("ours.safetensors");
    let tensors = sample_tensors();
    let pairs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    save(&path, &pairs, None).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(header_len % 8, 0, "data starts 8-byte aligned");
    let parsed = safetensors::SafeTensors::deserialize(&bytes).expect("the reference parser accepts our file");
    assert_eq!(parsed.len(), tensors.len());
    for (name, original) in &tensors {
        let view = parsed.tensor(name).unwrap();
        assert_eq!(view.shape(), original.shape(), "{name}");
        let want_dtype = match original.dtype() {
            DType::F32 => safetensors::Dtype::F32,
            DType::F16 => safetensors::Dtype::F16,
            DType::BF16 => safetensors::Dtype::BF16,
            DType::I64 => safetensors::Dtype::I64,
            DType::U8 => safetensors::Dtype::U8,
        };
        assert_eq!(view.dtype(), want_dtype, "{name}");
        // Re-read the raw little-endian bytes independently of our loader.
        let data = view.data();
        let values: Vec<f64> = match original.dtype() {
            DType::F32 => data.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
            DType::F16 => data.chunks(2).map(|c| f16::from_le_bytes(c.try_into().unwrap()).to_f64()).collect(),
            DType::BF16 => data.chunks(2).map(|c| bf16::from_le_bytes(c.try_into().unwrap()).to_f64()).collect(),
            DType::I64 => data.chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
            DType::U8 => data.iter().map(|&b| b as f64).collect(),
        };
        let want: Vec<f64> = original.to_vec_f32().unwrap().iter().map(|&x| x as f64).collect();
        if original.dtype() == DType::I64 {
            let ints: Vec<i64> = data.chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
            assert_eq!(ints, original.to_vec::<i64>().unwrap(), "{name}");
        } else {
            assert_eq!(values, want, "{name}");
        }
    }
}

#[test]
fn files_from_the_reference_crate_load() {
    use safetensors::tensor::TensorView;
    let dir = TempDir::new("from-crate");
    let path = dir.path("theirs.safetensors");
    let a: Vec<u8> = [1.5f32, -2.0, 3.25].iter().flat_map(|x| x.to_le_bytes()).collect();
    let b: Vec<u8> = [7i64, -9].iter().flat_map(|x| x.to_le_bytes()).collect();
    let c: Vec<u8> = vec![1, 0, 1, 1];
    let views = vec![
        ("a", TensorView::new(safetensors::Dtype::F32, vec![3], &a).unwrap()),
        ("b", TensorView::new(safetensors::Dtype::I64, vec![2, 1], &b).unwrap()),
        ("c", TensorView::new(safetensors::Dtype::BOOL, vec![2, 2], &c).unwrap()),
    ];
    safetensors::serialize_to_file(views, &None, &path).unwrap();
    let loaded = load(&path).unwrap();
    assert_eq!(loaded["a"].to_vec::<f32>().unwrap(), vec![1.5, -2.0, 3.25]);
    assert_eq!(loaded["b"].shape(), &[2, 1]);
    assert_eq!(loaded["b"].to_vec::<i64>().unwrap(), vec![7, -9]);
    assert_eq!(loaded["c"].dtype(), DType::U8);
    assert_eq!(loaded["c"].to_vec::<u8>().unwrap(), vec![1, 0, 1, 1]);
}

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_fixture.safetensors")
}

#[test]
fn file_written_by_python_safetensors_reads_back_equal() {
    // Written by tests/fixtures/make_safetensors_fixture.py; every value is recomputed here from the same
    // formula in the element index i.
    let (t, meta) = load_with_metadata(fixture_path()).unwrap();
    assert_eq!(meta.get("source").map(String::as_str), Some("make_safetensors_fixture.py"));
    let idx = |n: i64| 0..n;
    let f32_2x3 = &t["f32_2x3"];
    assert_eq!((f32_2x3.dtype(), f32_2x3.shape()), (DType::F32, &[2usize, 3][..]));
    assert_eq!(f32_2x3.to_vec::<f32>().unwrap(), idx(6).map(|i| i as f32 * 0.5 - 1.25).collect::<Vec<_>>());
    assert!(is_mapped(f32_2x3));
    assert_eq!(t["f32_scalar"].shape(), &[] as &[usize]);
    assert_eq!(t["f32_scalar"].item().unwrap(), 3.5);
    assert_eq!(t["f16_4"].dtype(), DType::F16);
    assert_eq!(t["f16_4"].to_vec_f32().unwrap(), idx(4).map(|i| (i - 2) as f32 * 0.125).collect::<Vec<_>>());
    assert_eq!(t["bf16_2x4"].dtype(), DType::BF16);
    assert_eq!(t["bf16_2x4"].shape(), &[2, 4]);
    assert_eq!(t["bf16_2x4"].to_vec_f32().unwrap(), idx(8).map(|i| (i - 3) as f32 * 0.5).collect::<Vec<_>>());
    assert_eq!(t["i64_5"].dtype(), DType::I64);
    assert_eq!(t["i64_5"].to_vec::<i64>().unwrap(), idx(5).map(|i| (i - 2) * 1_000_000_000_000 + i).collect::<Vec<_>>());
    assert_eq!(t["u8_10"].to_vec::<u8>().unwrap(), idx(10).map(|i| ((i * 37) % 256) as u8).collect::<Vec<_>>());
    assert_eq!(t["bool_7"].dtype(), DType::U8);
    assert_eq!(t["bool_7"].to_vec::<u8>().unwrap(), idx(7).map(|i| u8::from(i % 3 == 0)).collect::<Vec<_>>());
    // Converted on load: F64 to F32, I32 to I64.
    assert_eq!(t["f64_3"].dtype(), DType::F32);
    assert_eq!(t["f64_3"].to_vec::<f32>().unwrap(), vec![0.0, 0.125, 0.25]);
    assert_eq!(t["i32_4"].dtype(), DType::I64);
    assert_eq!(t["i32_4"].to_vec::<i64>().unwrap(), idx(4).map(|i| i * -1000).collect::<Vec<_>>());
    assert_eq!(t["empty_f32_0x3"].shape(), &[0, 3]);
    assert_eq!(t.len(), 10);
}

/// A file with this exact header JSON (padded with `pad` spaces) and data bytes.
fn handmade(path: &Path, header: &str, pad: usize, data: &[u8]) {
    let mut header = header.as_bytes().to_vec();
    header.extend(std::iter::repeat(b' ').take(pad));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn misaligned_data_is_copied_and_still_correct() {
    let dir = TempDir::new("misaligned");
    let path = dir.path("odd.safetensors");
    let header = r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#;
    // Choose the padding so the data starts at an odd file offset.
    let pad = ((8 + header.len()) % 2) ^ 1;
    let mut data: Vec<u8> = [1.5f32, -4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    data.extend_from_slice(&(-123456789012i64).to_le_bytes());
    handmade(&path, header, pad, &data);
    let t = load(&path).unwrap();
    assert!(!is_mapped(&t["x"]) && !is_mapped(&t["y"]));
    assert_eq!(t["x"].to_vec::<f32>().unwrap(), vec![1.5, -4.0]);
    assert_eq!(t["y"].to_vec::<i64>().unwrap(), vec![-123456789012]);
}

#[test]
fn other_dtypes_are_converted_on_load() {
    let dir = TempDir::new("convert");
    let path = dir.path("conv.safetensors");
    let mut data = Vec::new();
    data.extend([0.1f64, -2.5].iter().flat_map(|x| x.to_le_bytes())); // 0..16
    data.extend([-7i32, 2_000_000_000].iter().flat_map(|x| x.to_le_bytes())); // 16..24
    data.extend([4_000_000_000u32].iter().flat_map(|x| x.to_le_bytes())); // 24..28
    data.extend([-300i16, 5].iter().flat_map(|x| x.to_le_bytes())); // 28..32
    data.extend([65535u16].iter().flat_map(|x| x.to_le_bytes())); // 32..34
    data.extend([-128i8 as u8, 127]); // 34..36
    data.extend([0u8, 2, 1]); // 36..39 (BOOL: any non-zero byte is true)
    let header = r#"{"f64":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},
        "i32":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},
        "u32":{"dtype":"U32","shape":[1],"data_offsets":[24,28]},
        "i16":{"dtype":"I16","shape":[2],"data_offsets":[28,32]},
        "u16":{"dtype":"U16","shape":[1],"data_offsets":[32,34]},
        "i8":{"dtype":"I8","shape":[2],"data_offsets":[34,36]},
        "bool":{"dtype":"BOOL","shape":[3],"data_offsets":[36,39]}}"#;
    let pad = (8 - (8 + header.len()) % 8) % 8;
    handmade(&path, header, pad, &data);
    let t = load(&path).unwrap();
    assert_eq!(t["f64"].dtype(), DType::F32);
    assert_eq!(t["f64"].to_vec::<f32>().unwrap(), vec![0.1f32, -2.5]);
    assert_eq!(t["i32"].to_vec::<i64>().unwrap(), vec![-7, 2_000_000_000]);
    assert_eq!(t["u32"].to_vec::<i64>().unwrap(), vec![4_000_000_000]);
    assert_eq!(t["i16"].to_vec::<i64>().unwrap(), vec![-300, 5]);
    assert_eq!(t["u16"].to_vec::<i64>().unwrap(), vec![65535]);
    assert_eq!(t["i8"].to_vec::<i64>().unwrap(), vec![-128, 127]);
    assert_eq!(t["bool"].to_vec::<u8>().unwrap(), vec![0, 1, 1]);
}

fn load_err(path: &Path) -> String {
    let err = load(path).expect_err("a malformed file must be an error").to_string();
    assert!(err.starts_with(&path.display().to_string()), "the error names the file: {err}");
    err
}

#[test]
fn unsupported_dtypes_name_the_file_the_tensor_and_the_dtype() {
    let dir = TempDir::new("unsupported");
    let path = dir.path("f8.safetensors");
    handmade(&path, r#"{"scales":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, 0, &[0, 0]);
    let err = load_err(&path);
    assert!(err.contains("\"scales\"") && err.contains("F8_E4M3") && err.contains("not supported"), "{err}");
    handmade(&path, r#"{"big":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}"#, 0, &[0; 8]);
    let err = load_err(&path);
    assert!(err.contains("\"big\"") && err.contains("U64"), "{err}");
}

#[test]
fn every_truncation_of_a_file_is_an_error_naming_it() {
    let dir = TempDir::new("truncated");
    let good = dir.path("good.safetensors");
    let a = Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3]).unwrap();
    let b = Tensor::from_vec(vec![4i64, 5], &[2]).unwrap();
    save(&good, &[("a", &a), ("b", &b)], None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path("cut.safetensors");
    for len in 0..bytes.len() {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let err = load_err(&cut);
        assert!(
            err.contains("truncated") || err.contains("JSON") || err.contains("UTF-8"),
            "cut at {len}: {err}"
        );
        assert!(load_tensor(&cut, "a").is_err());
    }
}

#[test]
fn corrupt_headers_are_errors_naming_the_file() {
    let dir = TempDir::new("corrupt");
    let path = dir.path("bad.safetensors");
    let cases: &[(&str, &[u8], &str)] = &[
        ("not json", b"", "not valid JSON"),
        ("[1, 2]", b"", "not a JSON object"),
        (r#"{"x": 3}"#, b"", "\"x\": header entry is not a JSON object"),
        (r#"{"x":{"shape":[1],"data_offsets":[0,4]}}"#, &[0; 4], "\"dtype\""),
        (r#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, &[0; 4], "\"shape\""),
        (r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, &[0; 4], "data_offsets"),
        (r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, &[0; 4], "fall outside"),
        (r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, &[0; 4], "fall outside"),
        (r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, &[0; 4], "F32 shape [2] needs 8 bytes"),
        (r#"{"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#, &[0; 4], "too many"),
        (r#"{"__metadata__":{"k":1}}"#, b"", "not a string"),
        (r#"{"__metadata__":[]}"#, b"", "__metadata__ is not a JSON object"),
    ];
    for (header, data, expect) in cases {
        handmade(&path, header, 0, data);
        let err = load_err(&path);
        assert!(err.contains(expect), "header {header}: {err}");
    }
    // A header length far past the file, and one over the size limit.
    let mut bytes = 1000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).unwrap();
    assert!(load_err(&path).contains("runs past the end"));
    std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
    assert!(load_err(&path).contains("over the"));
    std::fs::write(&path, [0xff, 0xfe]).unwrap();
    assert!(load_err(&path).contains("shorter than the 8-byte header length"));
    let mut bytes = 2u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0xc3, 0x28]);
    std::fs::write(&path, &bytes).unwrap();
    assert!(load_err(&path).contains("UTF-8"));
    let missing = dir.path("missing.safetensors");
    assert!(load_err(&missing).contains("cannot open"));
}

#[test]
fn a_missing_tensor_lists_what_the_file_holds() {
    let dir = TempDir::new("missing-tensor");
    let path = dir.path("m.safetensors");
    let t = Tensor::zeros(&[1], DType::F32).unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("layer{i:02}.weight")).collect();
    let pairs: Vec<(&str, &Tensor)> = names.iter().map(|n| (n.as_str(), &t)).collect();
    save(&path, &pairs, None).unwrap();
    let err = load_tensor(&path, "lm_head.weight").unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("no tensor named \"lm_head.weight\""), "{err}");
    assert!(err.contains("12 tensors") && err.contains("\"layer00.weight\"") && err.contains("and 4 more"), "{err}");
    assert!(!err.contains("layer11"), "only the first few names are listed: {err}");
}

#[test]
fn saving_is_atomic_and_refuses_bad_input_without_touching_the_old_file() {
    let dir = TempDir::new("atomic");
    let path = dir.path("ckpt.safetensors");
    let old = Tensor::from_vec(vec![1f32, 2.0], &[2]).unwrap();
    save(&path, &[("w", &old)], None).unwrap();
    let before = std::fs::read(&path).unwrap();
    // Mapped tensors from the old file stay valid after the file is replaced (rename keeps the old inode).
    let mapped = load_tensor(&path, "w").unwrap();
    assert!(is_mapped(&mapped));

    let err = save(&path, &[("w", &old), ("w", &old)], None).unwrap_err().to_string();
    assert!(err.contains("given twice"), "{err}");
    assert!(save(&path, &[("__metadata__", &old)], None).unwrap_err().to_string().contains("reserved"));
    assert!(save(&path, &[("", &old)], None).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before, "a refused save leaves the old file as it was");

    let new = Tensor::from_vec(vec![9i64; 3], &[3]).unwrap();
    save(&path, &[("w", &new)], None).unwrap();
    assert_eq!(load_tensor(&path, "w").unwrap().to_vec::<i64>().unwrap(), vec![9, 9, 9]);
    assert_eq!(mapped.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    assert_eq!(dir.entries(), vec!["ckpt.safetensors".to_string()], "no temporary file is left behind");

    // Writing a mapped tensor copies it first; the file is never written through.
    let mut writable = mapped.clone();
    writable.contiguous_slice_mut::<f32>().unwrap()[0] = 5.0;
    assert_eq!(mapped.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);

    let nowhere = dir.path("no/such/dir/x.safetensors");
    let err = save(&nowhere, &[("w", &old)], None).unwrap_err().to_string();
    assert!(err.starts_with(&nowhere.display().to_string()) && err.contains("cannot write"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random shapes (sizes 0, 1, 7, 33), every dtype, transposed or not: save then load is exact.
    #[test]
    fn random_tensors_round_trip(
        shape in prop::collection::vec(prop::sample::select(vec![0usize, 1, 7, 33]), 0..=3)
            .prop_filter("small", |s| s.iter().product::<usize>() <= 5000),
        dtype_index in 0usize..5,
        transpose in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let dtype = [DType::F32, DType::F16, DType::BF16, DType::I64, DType::U8][dtype_index];
        let mut rng = engine::Rng::new(seed);
        let base = Tensor::rand_uniform(&shape, -100.0, 100.0, &mut rng).unwrap().to_dtype(dtype).unwrap();
        let t = if transpose && shape.len() >= 2 { base.transpose(0, -1).unwrap() } else { base };
        let dir = TempDir::new(&format!("prop-{seed}"));
        let path = dir.path("p.safetensors");
        save(&path, &[("t", &t)], None).unwrap();
        let back = load_tensor(&path, "t").unwrap();
        assert_same(&back, &t, "random");
    }
}
