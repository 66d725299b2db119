//! Generation: the KV cache gives the same tokens as re-running the sequence, batched rows of different
//! lengths give what each row gives alone, and sampling honours seeds, stop tokens and limits.
use engine::rng::Rng;
use engine::Tensor;
use models::gpt::{generate, GenerateOptions, Gpt, GptConfig, KvCache};

fn model(seed: u64) -> Gpt {
    let c = GptConfig { vocab_size: 41, block_size: 32, n_layer: 2, n_head: 4, n_embd: 32, dropout: 0.0, bias: true, layer_norm_eps: 1e-5 };
    let m = Gpt::new(c, &mut Rng::new(seed)).unwrap();
    // Sharper distributions than the 0.02 init gives, so greedy choices are far from ties.
    let w = m.wte.weight.value().mul_scalar(25.0).unwrap();
    m.wte.weight.set_value(w).unwrap();
    m
}

fn run(m: &Gpt, prompts: &[Vec<u32>], options: &GenerateOptions) -> Vec<Vec<u32>> {
    generate(m, prompts, options, &mut |_, _| {}).unwrap()
}

#[test]
fn cached_logits_equal_full_forward_logits() {
    let m = model(1);
    let ids: Vec<i64> = (0..12).map(|i| (i * 7 % 41) as i64).collect();
    let full = m.forward(&Tensor::from_vec(ids.clone(), &[1, 12]).unwrap(), None).unwrap().logits.into_tensor();
    let mut cache = KvCache::new(&m.config, 1, 12).unwrap();
    let first = m.forward_cached(&Tensor::from_vec(ids[..5].to_vec(), &[1, 5]).unwrap(), &[1; 5], &mut cache).unwrap();
    let mut pieces = vec![first];
    for &t in &ids[5..] {
        pieces.push(m.forward_cached(&Tensor::from_vec(vec![t], &[1, 1]).unwrap(), &[1], &mut cache).unwrap());
    }
    let refs: Vec<&Tensor> = pieces.iter().collect();
    let cached = Tensor::cat(&refs, 1).unwrap();
    let (a, b) = (full.to_vec::<f32>().unwrap(), cached.to_vec::<f32>().unwrap());
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "cached logits differ by {worst}");
    assert_eq!(cache.len(), 12);
    assert!(m.forward_cached(&Tensor::from_vec(vec![1i64], &[1, 1]).unwrap(), &[1], &mut cache).is_err(), "cache is full");
}

#[test]
fn with_and_without_cache_give_the_same_tokens() {
    let m = model(2);
    let prompts = vec![vec![3, 1, 4, 1, 5], vec![9], vec![2, 6, 5]];
    for options in [
        GenerateOptions { max_new_tokens: 20, temperature: 0.0, ..Default::default() },
        GenerateOptions { max_new_tokens: 20, temperature: 1.0, seed: 7, ..Default::default() },
        GenerateOptions { max_new_tokens: 20, temperature: 0.8, top_k: Some(5), top_p: Some(0.9), seed: 3, ..Default::default() },
    ] {
        let cached = run(&m, &prompts, &GenerateOptions { use_cache: true, ..options.clone() });
        let uncached = run(&m, &prompts, &GenerateOptions { use_cache: false, ..options.clone() });
        assert_eq!(cached, uncached, "{options:?}");
        assert!(cached.iter().all(|r| r.len() == 20));
    }
}

#[test]
fn a_padded_row_generates_what_it_generates_alone() {
    let m = model(3);
    let greedy = GenerateOptions { max_new_tokens: 12, temperature: 0.0, ..Default::default() };
    let prompts = vec![vec![1, 2, 3, 4, 5, 6, 7], vec![8, 9], vec![10, 11, 12, 13]];
    let batched = run(&m, &prompts, &greedy);
    for (i, p) in prompts.iter().enumerate() {
        assert_eq!(run(&m, std::slice::from_ref(p), &greedy)[0], batched[i], "row {i}");
    }
    // A different batch does not change a row either.
    assert_eq!(run(&m, &[prompts[1].clone(), vec![40; 9]], &greedy)[0], batched[1]);
}

#[test]
fn seeds_stop_tokens_and_limits() {
    let m = model(4);
    let sample = |seed| GenerateOptions { max_new_tokens: 16, temperature: 1.5, seed, ..Default::default() };
    let a = run(&m, &[vec![1, 2]], &sample(1));
    assert_eq!(a, run(&m, &[vec![1, 2]], &sample(1)), "same seed, same tokens");
    assert_ne!(a, run(&m, &[vec![1, 2]], &sample(2)), "another seed, other tokens");

    // Stop at the first token greedy decoding would produce after the third: output ends before it.
    let greedy = GenerateOptions { max_new_tokens: 10, temperature: 0.0, ..Default::default() };
    let full = run(&m, &[vec![5, 6]], &greedy)[0].clone();
    let stop = full[3];
    let first_stop = full.iter().position(|&t| t == stop).unwrap();
    let stopped = run(&m, &[vec![5, 6]], &GenerateOptions { stop_tokens: vec![stop], ..greedy.clone() });
    assert_eq!(stopped[0], full[..first_stop].to_vec());

    // The block size bounds the length; streaming sees every token in order.
    let mut streamed = Vec::new();
    let long = generate(&m, &[vec![1; 30]], &GenerateOptions { max_new_tokens: 50, ..greedy.clone() }, &mut |row, t| {
        streamed.push((row, t))
    })
    .unwrap();
    assert_eq!(long[0].len(), 2);
    assert_eq!(streamed, vec![(0, long[0][0]), (0, long[0][1])]);

    // top-k 1 is greedy whatever the temperature.
    let k1 = GenerateOptions { max_new_tokens: 10, temperature: 2.0, top_k: Some(1), seed: 9, ..Default::default() };
    assert_eq!(run(&m, &[vec![5, 6]], &k1), vec![full]);
}

#[test]
fn bad_prompts_are_errors() {
    let m = model(5);
    let o = GenerateOptions::default();
    assert!(generate(&m, &[], &o, &mut |_, _| {}).is_err());
    assert!(generate(&m, &[vec![]], &o, &mut |_, _| {}).is_err());
    assert!(generate(&m, &[vec![41]], &o, &mut |_, _| {}).unwrap_err().to_string().contains("vocabulary"));
    assert!(generate(&m, &[vec![1; 32]], &o, &mut |_, _| {}).unwrap_err().to_string().contains("block size"));
}
