//! `rlhf demo`: the engine at work on its embedded default (the main job until the pipeline exists).
//!
//! Three things, each checked: a timed GEMM through `Tensor::matmul`, a softmax-regression classifier
//! trained with hand-written gradients from the fused cross-entropy kernels on seeded synthetic data, and a
//! safetensors round trip of the trained weights.
use std::time::Instant;

use clap::Args;
use engine::{io::safetensors, DType, Rng, Tensor};

#[derive(Args, Clone)]
pub struct DemoArgs {
    /// Side of the square matrices multiplied in the GEMM timing.
    #[arg(long, default_value_t = 1024)]
    pub gemm_size: usize,
    /// Gradient-descent steps of the classifier.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Seed of every random number in the demo.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs { gemm_size: 1024, steps: 200, seed: 1337, threads: None }
    }
}

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub fn run(args: &DemoArgs) -> DemoResult<()> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    pool.install(|| {
        println!("rlhf demo: the tensor engine on {} thread(s)", rayon::current_num_threads());
        let mut rng = Rng::new(args.seed);
        gemm_timing(args.gemm_size, &mut rng)?;
        let (weight, bias) = train_classifier(args.steps, &mut rng)?;
        safetensors_round_trip(&weight, &bias)
    })
}

fn gemm_timing(n: usize, rng: &mut Rng) -> DemoResult<()> {
    let a = Tensor::randn(&[n, n], 0.0, 1.0, rng)?;
    let b = Tensor::randn(&[n, n], 0.0, 1.0, rng)?;
    a.matmul(&b)?; // warm-up: page in buffers, settle the thread pool
    let reps = 5;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let start = Instant::now();
        a.matmul(&b)?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    let gflops = 2.0 * (n as f64).powi(3) / best / 1e9;
    println!("  matmul {n}x{n} @ {n}x{n}: {:.2} ms, {gflops:.1} GFLOP/s (best of {reps})", best * 1e3);
    Ok(())
}

/// Softmax regression on points drawn around `classes` random centres: logits = x·W + b, loss = cross-entropy.
/// The gradient is written out by hand (dlogits from the fused kernel, then two matmuls and a sum), since the
/// autograd crate builds on top of this engine.
fn train_classifier(steps: usize, rng: &mut Rng) -> DemoResult<(Tensor, Tensor)> {
    let (samples, features, classes) = (512usize, 16usize, 4usize);
    let centres = Tensor::randn(&[classes, features], 0.0, 0.35, rng)?;
    let labels: Vec<i64> = (0..samples).map(|i| (i % classes) as i64).collect();
    let targets = Tensor::from_vec(labels.clone(), &[samples])?;
    let noise = Tensor::randn(&[samples, features], 0.0, 1.0, rng)?;
    let x = centres.index_select(0, &targets)?.add(&noise)?;

    let mut weight = Tensor::zeros(&[features, classes], DType::F32)?;
    let mut bias = Tensor::zeros(&[classes], DType::F32)?;
    let lr = 0.5f32;
    let start = Instant::now();
    for step in 0..=steps {
        let logits = x.matmul(&weight)?.add(&bias)?;
        let out = logits.cross_entropy(&targets, -100)?;
        if step % (steps / 4).max(1) == 0 || step == steps {
            let predicted = logits.argmax(-1, false)?.to_vec::<i64>()?;
            let correct = predicted.iter().zip(&labels).filter(|(p, l)| p == l).count();
            println!(
                "  classifier step {step:>4}: loss {:.4}, accuracy {:.1}%",
                out.mean_loss,
                100.0 * correct as f64 / samples as f64
            );
        }
        if step == steps {
            break;
        }
        // Mean loss over the batch: each row's upstream gradient is 1/samples.
        let dloss = Tensor::full(&[samples], 1.0 / samples as f32, DType::F32)?;
        let dlogits = logits.cross_entropy_backward(&targets, -100, &out.logsumexp, &dloss)?;
        let dweight = x.t()?.matmul(&dlogits)?;
        let dbias = dlogits.sum(&[0], false)?;
        weight = weight.sub(&dweight.mul_scalar(lr)?)?;
        bias = bias.sub(&dbias.mul_scalar(lr)?)?;
    }
    println!("  trained {steps} steps in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    Ok((weight, bias))
}

fn safetensors_round_trip(weight: &Tensor, bias: &Tensor) -> DemoResult<()> {
    let dir = std::env::temp_dir().join(format!("rlhf-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("classifier.safetensors");
    safetensors::save(&path, &[("weight", weight), ("bias", bias)], None)?;
    let loaded = safetensors::load(&path)?;
    let same = loaded.get("weight").map(|t| t.to_vec::<f32>()).transpose()? == Some(weight.to_vec::<f32>()?)
        && loaded.get("bias").map(|t| t.to_vec::<f32>()).transpose()? == Some(bias.to_vec::<f32>()?);
    std::fs::remove_dir_all(&dir)?;
    if !same {
        return Err("safetensors round trip changed the weights".into());
    }
    println!("  saved and reloaded the weights through safetensors: identical");
    Ok(())
}
