//! The GPT model itself: names and shapes as HF's, GPT-2's initialisation, the fused attention path
//! against the composed oracle, dropout only in training, and a few steps of training that fit a batch.
use autograd::nn::Module;
use autograd::optim::{AdamW, AdamWOptions, Optimizer};
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{Gpt, GptConfig};

fn small_config() -> GptConfig {
    GptConfig { vocab_size: 37, block_size: 16, n_layer: 3, n_head: 4, n_embd: 32, dropout: 0.0, bias: true, layer_norm_eps: 1e-5 }
}

fn random_ids(b: usize, t: usize, vocab: usize, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let v: Vec<i64> = (0..b * t).map(|_| rng.gen_range(vocab).unwrap() as i64).collect();
    Tensor::from_vec(v, &[b, t]).unwrap()
}

fn std_of(t: &Tensor) -> f32 {
    let v = t.to_vec::<f32>().unwrap();
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / v.len() as f32).sqrt()
}

#[test]
fn parameter_names_and_shapes_are_hugging_faces() {
    let c = small_config();
    let model = Gpt::new(c.clone(), &mut Rng::new(0)).unwrap();
    let params = model.named_parameters();
    let shape = |name: &str| params.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}")).1.shape();
    assert_eq!(shape("transformer.wte.weight"), [37, 32]);
    assert_eq!(shape("transformer.wpe.weight"), [16, 32]);
    assert_eq!(shape("transformer.h.0.attn.c_attn.weight"), [32, 96]); // Conv1D: [in, out]
    assert_eq!(shape("transformer.h.2.attn.c_proj.bias"), [32]);
    assert_eq!(shape("transformer.h.1.mlp.c_fc.weight"), [32, 128]);
    assert_eq!(shape("transformer.h.1.mlp.c_proj.weight"), [128, 32]);
    assert_eq!(shape("transformer.ln_f.weight"), [32]);
    // 2 embeddings + 12 per block + 2 final norm; the tied head adds nothing.
    assert_eq!(params.len(), 2 + 12 * 3 + 2);
    let per_block = 2 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 2 * 32 + 32 * 128 + 128 + 128 * 32 + 32;
    assert_eq!(model.num_parameters(), 37 * 32 + 16 * 32 + 3 * per_block + 2 * 32);
}

#[test]
fn gpt2_preset_has_124m_parameters() {
    let c = GptConfig::preset("gpt2").unwrap();
    // Counted without building the model: 124,439,808 as HF reports for `gpt2`.
    let (v, t, l, e) = (c.vocab_size, c.block_size, c.n_layer, c.n_embd);
    let per_block = 4 * e + (e * 3 * e + 3 * e) + (e * e + e) + (e * 4 * e + 4 * e) + (4 * e * e + e);
    assert_eq!(v * e + t * e + l * per_block + 2 * e, 124_439_808);
    let small = GptConfig::preset("char-small").unwrap();
    assert_eq!((small.n_layer, small.n_head, small.n_embd, small.block_size), (6, 6, 384, 256));
}

#[test]
fn initialisation_follows_gpt2() {
    let c = GptConfig { n_embd: 128, n_layer: 8, ..small_config() };
    let model = Gpt::new(c.clone(), &mut Rng::new(3)).unwrap();
    let s = std_of(&model.h[0].attn.c_attn.weight.value());
    assert!((s - 0.02).abs() < 0.002, "c_attn std {s}");
    let want = 0.02 / (16f32).sqrt();
    for w in [&model.h[0].attn.c_proj.weight, &model.h[7].mlp.c_proj.weight] {
        let s = std_of(&w.value());
        assert!((s - want).abs() < 0.1 * want, "residual projection std {s}, want {want}");
    }
    assert!(model.h[0].attn.c_attn.bias.as_ref().unwrap().value().to_vec::<f32>().unwrap().iter().all(|&b| b == 0.0));
    assert!(model.ln_f.weight.value().to_vec::<f32>().unwrap().iter().all(|&g| g == 1.0));
    let s = std_of(&model.wte.weight.value());
    assert!((s - 0.02).abs() < 0.002, "wte std {s}");
}

#[test]
fn fused_attention_matches_the_composed_oracle_with_gradients() {
    let model = Gpt::new(small_config(), &mut Rng::new(1)).unwrap();
    // Give the norms and biases non-default values so every path matters.
    for (_, p) in model.named_parameters() {
        let noise = Tensor::randn(&p.shape(), 0.0, 0.05, &mut Rng::new(p.numel() as u64)).unwrap();
        p.set_value(p.value().add(&noise).unwrap()).unwrap();
    }
    let ids = random_ids(3, 11, 37, 5);
    let fused = model.forward(&ids, None).unwrap().logits;
    let composed = model.forward_composed(&ids).unwrap();
    let (a, b) = (fused.tensor().to_vec::<f32>().unwrap(), composed.tensor().to_vec::<f32>().unwrap());
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-5, "logits differ by {worst}");

    let targets = random_ids(3, 11, 37, 6);
    let grads = |logits: autograd::Var| {
        model.zero_grad();
        logits.cross_entropy(&targets, -100).unwrap().backward().unwrap();
        model.parameters().iter().map(|p| p.grad().unwrap().to_vec::<f32>().unwrap()).collect::<Vec<_>>()
    };
    let g_fused = grads(fused);
    let g_composed = grads(composed);
    for (x, y) in g_fused.iter().zip(&g_composed) {
        let worst = x.iter().zip(y).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "gradients differ by {worst}");
    }
}

#[test]
fn dropout_acts_in_training_only() {
    let c = GptConfig { dropout: 0.2, ..small_config() };
    let model = Gpt::new(c, &mut Rng::new(2)).unwrap();
    let ids = random_ids(2, 8, 37, 9);
    let eval1 = model.forward(&ids, None).unwrap().logits.tensor().to_vec::<f32>().unwrap();
    let eval2 = model.forward(&ids, None).unwrap().logits.tensor().to_vec::<f32>().unwrap();
    assert_eq!(eval1, eval2, "evaluation is deterministic");
    let train1 = model.forward_train(&ids, None, &mut Rng::new(1)).unwrap().logits.tensor().to_vec::<f32>().unwrap();
    let train1b = model.forward_train(&ids, None, &mut Rng::new(1)).unwrap().logits.tensor().to_vec::<f32>().unwrap();
    let train2 = model.forward_train(&ids, None, &mut Rng::new(2)).unwrap().logits.tensor().to_vec::<f32>().unwrap();
    assert_eq!(train1, train1b, "the same seed drops the same units");
    assert_ne!(train1, eval1);
    assert_ne!(train1, train2);
}

#[test]
fn training_fits_a_fixed_batch() {
    let model = Gpt::new(small_config(), &mut Rng::new(4)).unwrap();
    let mut opt = AdamW::for_module(&model, 0.1, AdamWOptions { lr: 3e-3, ..Default::default() });
    let ids = random_ids(4, 16, 37, 11);
    let targets = random_ids(4, 16, 37, 12);
    let mut losses = Vec::new();
    for _ in 0..60 {
        opt.zero_grad();
        let loss = model.forward(&ids, Some(&targets)).unwrap().loss.unwrap();
        losses.push(loss.item().unwrap());
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    assert!((losses[0] - 37f32.ln()).abs() < 0.2, "starts near uniform: {}", losses[0]);
    assert!(losses[59] < 0.5 * losses[0], "loss {} -> {}", losses[0], losses[59]);
}

#[test]
fn bad_inputs_are_errors() {
    let model = Gpt::new(small_config(), &mut Rng::new(0)).unwrap();
    let too_long = random_ids(1, 17, 37, 0);
    assert!(model.forward(&too_long, None).unwrap_err().to_string().contains("block size"));
    let wrong_dtype = Tensor::zeros(&[1, 4], engine::DType::F32).unwrap();
    assert!(model.forward(&wrong_dtype, None).unwrap_err().to_string().contains("I64"));
    let bad = GptConfig { n_embd: 30, ..small_config() };
    assert!(Gpt::new(bad, &mut Rng::new(0)).unwrap_err().to_string().contains("multiple of n_head"));
}

#[test]
fn token_logprobs_carry_the_cross_entropy_gradient() {
    let model = Gpt::new(small_config(), &mut Rng::new(8)).unwrap();
    let ids = random_ids(2, 9, 37, 21);
    // -mean(log p(next)) is the next-token loss, and so are their gradients.
    let lp = model.token_logprobs(&ids).unwrap();
    assert_eq!(lp.shape(), &[2, 8]);
    let nll = lp.mean_all().unwrap().neg().unwrap();
    nll.backward().unwrap();
    let g1: Vec<Vec<f32>> = model.parameters().iter().map(|p| p.grad().unwrap().to_vec::<f32>().unwrap()).collect();
    model.zero_grad();
    let v = ids.to_vec::<i64>().unwrap();
    let targets: Vec<i64> = (0..18).map(|i| if i % 9 == 8 { -100 } else { v[i + 1] }).collect();
    let loss = model.forward(&ids, Some(&Tensor::from_vec(targets, &[2, 9]).unwrap())).unwrap().loss.unwrap();
    assert!((loss.item().unwrap() - nll.item().unwrap()).abs() < 1e-5);
    loss.backward().unwrap();
    for (p, a) in model.parameters().iter().zip(&g1) {
        let b = p.grad().unwrap().to_vec::<f32>().unwrap();
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-6, "gradients differ by {worst}");
    }
    assert!(model.token_logprobs(&random_ids(1, 1, 37, 0)).is_err());
}
