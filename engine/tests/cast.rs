//! Casts between every pair of dtypes and device moves.
use engine::{DType, Device, Tensor};

const ALL: [DType; 5] = [DType::F32, DType::F16, DType::BF16, DType::I64, DType::U8];

#[test]
fn small_integers_survive_every_pair_of_dtypes() {
    // 0..=200 is exact in every dtype, so any chain of casts must preserve it.
    let base = Tensor::from_vec((0..=200).map(|i| i as f32).collect(), &[201]).unwrap();
    for from in ALL {
        let a = base.to_dtype(from).unwrap();
        for to in ALL {
            let b = a.to_dtype(to).unwrap();
            assert_eq!(b.dtype(), to);
            assert_eq!(b.shape(), &[201]);
            assert_eq!(b.to_vec_f32().unwrap(), base.to_vec_f32().unwrap(), "{from} -> {to}");
        }
    }
}

#[test]
fn same_dtype_returns_the_tensor_itself() {
    let t = Tensor::from_vec(vec![1f32, 2.0], &[2]).unwrap();
    assert!(t.to_dtype(DType::F32).unwrap().shares_storage_with(&t));
    assert!(!t.to_dtype(DType::F16).unwrap().shares_storage_with(&t));
}

#[test]
fn float_to_integer_truncates_toward_zero_and_saturates() {
    let t = Tensor::from_vec(vec![-2.9f32, -0.5, 0.5, 2.9, 1e20, -1e20, f32::NAN, 255.9, 256.0], &[9]).unwrap();
    assert_eq!(
        t.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap(),
        vec![-2, 0, 0, 2, i64::MAX, i64::MIN, 0, 255, 256]
    );
    // U8 saturates (documented): negatives become 0, past 255 becomes 255, NaN becomes 0.
    assert_eq!(t.to_dtype(DType::U8).unwrap().to_vec::<u8>().unwrap(), vec![0, 0, 0, 2, 255, 0, 0, 255, 255]);
    let bf = t.to_dtype(DType::BF16).unwrap();
    assert_eq!(bf.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap()[..4], [-2, 0, 0, 2]);
    let ints = Tensor::from_vec(vec![-5i64, 0, 7, 255, 256, i64::MAX], &[6]).unwrap();
    assert_eq!(ints.to_dtype(DType::U8).unwrap().to_vec::<u8>().unwrap(), vec![0, 0, 7, 255, 255, 255]);
}

#[test]
fn half_precision_rounds_to_nearest_even() {
    // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie (to 1.0, even); 1 + 3 * 2^-8 ties up to 1 + 2^-6.
    // 0.1 is 0x3DCCCCCD in f32: the dropped half 0xCCCD is above the tie, so it rounds up to 0x3DCD.
    let t = Tensor::from_vec(vec![1.0f32 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, 1.0 + 1.5 / 256.0, 0.1], &[4]).unwrap();
    let bf = t.to_dtype(DType::BF16).unwrap();
    assert_eq!(bf.to_vec_f32().unwrap(), vec![1.0, 1.015625, 1.0078125, 0.10009765625]);
    assert_eq!(bf.to_vec::<half::bf16>().unwrap()[3].to_bits(), 0x3DCD);
    // f16: the largest finite value is 65504; 65520 is the tie to 65536, which overflows to infinity.
    let h = Tensor::from_vec(vec![65504.0f32, 65519.0, 65520.0, 1e-8, 1.0 + 1.0 / 2048.0], &[5]).unwrap();
    assert_eq!(
        h.to_dtype(DType::F16).unwrap().to_vec_f32().unwrap(),
        vec![65504.0, 65504.0, f32::INFINITY, 0.0, 1.0]
    );
    // Every f16 and bf16 value converts to f32 and back unchanged.
    let all_f16: Vec<half::f16> = (0..=u16::MAX).map(half::f16::from_bits).filter(|x| !x.is_nan()).collect();
    let t = Tensor::from_vec(all_f16.clone(), &[all_f16.len()]).unwrap();
    let back = t.to_dtype(DType::F32).unwrap().to_dtype(DType::F16).unwrap().to_vec::<half::f16>().unwrap();
    assert!(back.iter().zip(&all_f16).all(|(a, b)| a.to_bits() == b.to_bits()));
    let all_bf16: Vec<half::bf16> = (0..=u16::MAX).map(half::bf16::from_bits).filter(|x| !x.is_nan()).collect();
    let t = Tensor::from_vec(all_bf16.clone(), &[all_bf16.len()]).unwrap();
    let back = t.to_dtype(DType::F32).unwrap().to_dtype(DType::BF16).unwrap().to_vec::<half::bf16>().unwrap();
    assert!(back.iter().zip(&all_bf16).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn large_integers_to_float() {
    let t = Tensor::from_vec(vec![1i64 << 40, (1 << 24) + 1, -7], &[3]).unwrap();
    assert_eq!(t.to_dtype(DType::F32).unwrap().to_vec::<f32>().unwrap(), vec![1099511627776.0, 16777216.0, -7.0]);
    assert_eq!(t.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap(), vec![1 << 40, (1 << 24) + 1, -7]);
}

#[test]
fn casting_a_non_contiguous_view_reads_it_in_logical_order() {
    let t = Tensor::from_vec((0..12).map(|i| i as f32 * 0.5).collect(), &[3, 4]).unwrap();
    let v = t.t().unwrap().narrow(0, 1, 2).unwrap(); // [2, 3]: columns 1 and 2
    let want = vec![0.5, 2.5, 4.5, 1.0, 3.0, 5.0];
    for to in ALL {
        let c = v.to_dtype(to).unwrap();
        // A real conversion makes a contiguous copy; F32 to F32 is the view itself.
        assert_eq!(c.is_contiguous(), to != DType::F32);
        assert_eq!(c.shape(), &[2, 3]);
        let expected: Vec<f32> = match to {
            DType::I64 | DType::U8 => want.iter().map(|x: &f32| x.trunc()).collect(),
            _ => want.clone(),
        };
        assert_eq!(c.to_vec_f32().unwrap(), expected, "{to}");
    }
    let b = Tensor::from_vec(vec![1u8, 0, 1], &[3, 1]).unwrap().expand(&[3, 2]).unwrap();
    assert_eq!(b.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap(), vec![1, 1, 0, 0, 1, 1]);
}

#[test]
fn device_moves() {
    let t = Tensor::from_vec(vec![1f32, 2.0], &[2]).unwrap();
    let same = t.to_device(Device::Cpu).unwrap();
    assert!(same.shares_storage_with(&t));
    assert_eq!(same.device(), Device::Cpu);
    let err = t.to_device(Device::Cuda(0)).unwrap_err().to_string();
    assert_eq!(err, "to_device: CUDA device not available (cuda:0): build with the `cuda` feature (GPU issue)");
}
