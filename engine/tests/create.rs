//! Creation ops: values, dtypes, shapes, determinism of random tensors, and errors for bad arguments.
use engine::rng::Rng;
use engine::{DType, Device, Tensor};

const ALL: [DType; 5] = [DType::F32, DType::F16, DType::BF16, DType::I64, DType::U8];

#[test]
fn zeros_ones_full_in_every_dtype() {
    for dtype in ALL {
        let z = Tensor::zeros(&[2, 3], dtype).unwrap();
        assert_eq!((z.dtype(), z.shape(), z.is_contiguous()), (dtype, &[2usize, 3][..], true));
        assert_eq!(z.to_vec_f32().unwrap(), vec![0.0; 6]);
        assert_eq!(Tensor::ones(&[4], dtype).unwrap().to_vec_f32().unwrap(), vec![1.0; 4]);
        let f = Tensor::full(&[3, 1], 7.0, dtype).unwrap();
        assert_eq!((f.dtype(), f.to_vec_f32().unwrap()), (dtype, vec![7.0; 3]));
        assert_eq!(Tensor::zeros(&[], dtype).unwrap().numel(), 1);
        assert_eq!(Tensor::zeros(&[3, 0], dtype).unwrap().numel(), 0);
    }
    assert_eq!(Tensor::full(&[2], -2.7, DType::I64).unwrap().to_vec::<i64>().unwrap(), vec![-2, -2]);
    assert_eq!(Tensor::full(&[1], 1.0 / 3.0, DType::BF16).unwrap().to_vec_f32().unwrap(), vec![0.333984375]);
    assert!(Tensor::zeros(&[usize::MAX, 2], DType::F32).unwrap_err().to_string().starts_with("full:"));
}

#[test]
fn like_constructors_keep_shape_dtype_and_device() {
    let t = Tensor::from_vec(vec![1u8, 2, 3, 4, 5, 6], &[3, 2]).unwrap().t().unwrap();
    for (made, value) in [(t.zeros_like().unwrap(), 0.0), (t.ones_like().unwrap(), 1.0), (t.full_like(9.0).unwrap(), 9.0)] {
        assert_eq!(made.shape(), &[2, 3]);
        assert_eq!(made.dtype(), DType::U8);
        assert_eq!(made.device(), Device::Cpu);
        assert!(made.is_contiguous());
        assert!(!made.shares_storage_with(&t));
        assert_eq!(made.to_vec_f32().unwrap(), vec![value; 6]);
    }
}

#[test]
fn arange_integers() {
    let t = Tensor::arange(-2, 3).unwrap();
    assert_eq!((t.dtype(), t.shape()), (DType::I64, &[5usize][..]));
    assert_eq!(t.to_vec::<i64>().unwrap(), vec![-2, -1, 0, 1, 2]);
    assert_eq!(Tensor::arange(4, 4).unwrap().shape(), &[0]);
    assert_eq!(Tensor::arange(3, 1).unwrap_err().to_string(), "arange: end 1 is before start 3");
    let big = Tensor::arange(i64::MAX - 2, i64::MAX).unwrap();
    assert_eq!(big.to_vec::<i64>().unwrap(), vec![i64::MAX - 2, i64::MAX - 1]);
}

#[test]
fn arange_floats() {
    let t = Tensor::arange_f32(0.0, 1.0, 0.3).unwrap();
    assert_eq!(t.shape(), &[4]);
    // Element i is start + i * step in f64, rounded once: 3 * 0.3f32 rounds up to 0.90000004, not 0.9.
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![0.0, 0.3, 0.6, (3.0 * 0.3f32 as f64) as f32]);
    assert_eq!(t.to_vec::<f32>().unwrap()[3], 0.90000004);
    assert_eq!(Tensor::arange_f32(2.0, -1.0, -1.0).unwrap().to_vec::<f32>().unwrap(), vec![2.0, 1.0, 0.0]);
    assert_eq!(Tensor::arange_f32(1.0, 1.0, 0.5).unwrap().numel(), 0);
    // Many steps do not accumulate error: element i is start + i * step rounded once.
    let long = Tensor::arange_f32(0.0, 100.0, 0.1).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(long.len(), 1000);
    for (i, &x) in long.iter().enumerate() {
        assert_eq!(x, (i as f64 * 0.1f32 as f64) as f32);
    }
    assert!(Tensor::arange_f32(0.0, 1.0, 0.0).unwrap_err().to_string().starts_with("arange_f32:"));
    assert!(Tensor::arange_f32(0.0, 1.0, -0.5).unwrap_err().to_string().contains("goes away"));
    assert!(Tensor::arange_f32(0.0, f32::INFINITY, 1.0).is_err());
    assert!(Tensor::arange_f32(0.0, f32::NAN, 1.0).is_err());
    assert!(Tensor::arange_f32(0.0, 1e30, 1e-30).is_err());
}

#[test]
fn eye_is_the_identity() {
    let e = Tensor::eye(3).unwrap();
    assert_eq!(e.shape(), &[3, 3]);
    assert_eq!(e.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::eye(0).unwrap().shape(), &[0, 0]);
}

#[test]
fn random_tensors_are_deterministic_and_follow_the_generator() {
    let a = Tensor::rand_uniform(&[3, 5], -2.0, 2.0, &mut Rng::new(10)).unwrap();
    let b = Tensor::rand_uniform(&[3, 5], -2.0, 2.0, &mut Rng::new(10)).unwrap();
    let c = Tensor::rand_uniform(&[3, 5], -2.0, 2.0, &mut Rng::new(11)).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    assert_ne!(a.to_vec::<f32>().unwrap(), c.to_vec::<f32>().unwrap());
    // Row-major draws from the generator, one per element.
    let mut rng = Rng::new(10);
    let direct: Vec<f32> = (0..15).map(|_| rng.uniform(-2.0, 2.0)).collect();
    assert_eq!(a.to_vec::<f32>().unwrap(), direct);
    assert_eq!(a.dtype(), DType::F32);

    let n = Tensor::randn(&[7], 1.0, 3.0, &mut Rng::new(12)).unwrap();
    let mut direct = vec![0f32; 7];
    Rng::new(12).fill_normal(&mut direct, 1.0, 3.0);
    assert_eq!(n.to_vec::<f32>().unwrap(), direct);

    let big = Tensor::randn(&[100_000], 0.0, 0.02, &mut Rng::new(13)).unwrap().to_vec::<f32>().unwrap();
    let mean = big.iter().map(|&x| x as f64).sum::<f64>() / 1e5;
    let var = big.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / 1e5;
    assert!(mean.abs() < 3e-4, "mean {mean}"); // 4.7 standard errors
    assert!((var.sqrt() - 0.02).abs() < 3e-4, "std {}", var.sqrt());
    assert_eq!(Tensor::randn(&[0, 4], 0.0, 1.0, &mut Rng::new(1)).unwrap().numel(), 0);
}

#[test]
fn random_tensors_refuse_bad_parameters() {
    let mut rng = Rng::new(0);
    let err = Tensor::rand_uniform(&[2], 1.0, -1.0, &mut rng).unwrap_err().to_string();
    assert_eq!(err, "rand_uniform: bounds [1, -1) for shape [2] must be finite with low <= high");
    assert!(Tensor::rand_uniform(&[2], 0.0, f32::INFINITY, &mut rng).is_err());
    assert!(Tensor::randn(&[2], 0.0, -1.0, &mut rng).unwrap_err().to_string().starts_with("randn: mean 0 and std -1"));
    assert!(Tensor::randn(&[2], f32::NAN, 1.0, &mut rng).is_err());
}
