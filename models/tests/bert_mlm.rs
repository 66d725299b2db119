//! Masked-LM pretraining pieces: BERT's 15% / 80-10-10 masking, the loss on chosen tokens only, and a
//! small BERT that learns to fill blanks.
use autograd::nn::Module;
use autograd::optim::{AdamW, AdamWOptions, Optimizer};
use autograd::{no_grad, Var};
use engine::rng::Rng;
use engine::Tensor;
use models::bert::{mask_tokens, masked_accuracy, mlm_loss, BertConfig, BertForMaskedLM, MaskingOptions, IGNORE_INDEX};

const MASK: i64 = 4;
const SPECIALS: [u32; 5] = [0, 1, 2, 3, 4]; // [PAD] [UNK] [CLS] [SEP] [MASK]

/// `[CLS] random tokens [SEP] [PAD]...`, with the number of real tokens varying per row; and its mask.
fn batch(rows: usize, t: usize, vocab: usize, rng: &mut Rng) -> (Tensor, Tensor) {
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for _ in 0..rows {
        let real = t / 2 + rng.gen_range(t / 2).unwrap() + 1;
        for j in 0..t {
            let id = if j == 0 {
                2
            } else if j + 1 == real {
                3
            } else if j < real {
                5 + rng.gen_range(vocab - 5).unwrap() as i64
            } else {
                0
            };
            ids.push(id);
            mask.push(i64::from(j < real));
        }
    }
    (Tensor::from_vec(ids, &[rows, t]).unwrap(), Tensor::from_vec(mask, &[rows, t]).unwrap())
}

#[test]
fn masking_follows_bert_15_80_10_10() {
    let mut rng = Rng::new(3);
    let (ids, mask) = batch(64, 128, 1000, &mut rng);
    let options = MaskingOptions::bert(MASK as u32, 1000, SPECIALS.to_vec());
    let out = mask_tokens(&ids, Some(&mask), &options, &mut Rng::new(11)).unwrap();
    let (orig, keep) = (ids.to_vec::<i64>().unwrap(), mask.to_vec::<i64>().unwrap());
    let (corrupted, labels) = (out.input_ids.to_vec::<i64>().unwrap(), out.labels.to_vec::<i64>().unwrap());
    let (mut eligible, mut chosen, mut masked, mut random, mut unchanged) = (0, 0, 0, 0, 0);
    for i in 0..orig.len() {
        let special = SPECIALS.contains(&(orig[i] as u32));
        if keep[i] == 1 && !special {
            eligible += 1;
        }
        if labels[i] == IGNORE_INDEX {
            assert_eq!(corrupted[i], orig[i], "a token not chosen is left as it was");
            continue;
        }
        assert!(keep[i] == 1 && !special, "padding and special tokens are never chosen");
        assert_eq!(labels[i], orig[i], "the label is the original token");
        chosen += 1;
        if corrupted[i] == MASK {
            masked += 1;
        } else if corrupted[i] == orig[i] {
            unchanged += 1;
        } else {
            assert!(!SPECIALS.contains(&(corrupted[i] as u32)), "random replacements are ordinary tokens");
            random += 1;
        }
    }
    let share = |n: usize, of: usize| n as f64 / of as f64;
    eprintln!(
        "chosen {:.3} of {eligible}; of those [MASK] {:.3}, random {:.3}, unchanged {:.3}",
        share(chosen, eligible),
        share(masked, chosen),
        share(random, chosen),
        share(unchanged, chosen)
    );
    assert!((share(chosen, eligible) - 0.15).abs() < 0.015);
    assert!((share(masked, chosen) - 0.8).abs() < 0.03);
    assert!((share(random, chosen) - 0.1).abs() < 0.025);
    assert!((share(unchanged, chosen) - 0.1).abs() < 0.025);
    // Deterministic for a seed, different for another.
    let again = mask_tokens(&ids, Some(&mask), &options, &mut Rng::new(11)).unwrap();
    assert_eq!(again.labels.to_vec::<i64>().unwrap(), labels);
    let other = mask_tokens(&ids, Some(&mask), &options, &mut Rng::new(12)).unwrap();
    assert_ne!(other.labels.to_vec::<i64>().unwrap(), labels);
}

#[test]
fn masking_rejects_bad_inputs() {
    let options = MaskingOptions::bert(4, 10, SPECIALS.to_vec());
    let ids = Tensor::from_vec(vec![5i64, 6, 7], &[3]).unwrap();
    assert!(mask_tokens(&ids, None, &options, &mut Rng::new(0)).is_err());
    let ids = Tensor::from_vec(vec![5i64, 6, 7], &[1, 3]).unwrap();
    let bad_mask = Tensor::from_vec(vec![1i64, 1], &[1, 2]).unwrap();
    assert!(mask_tokens(&ids, Some(&bad_mask), &options, &mut Rng::new(0)).is_err());
    let bad = MaskingOptions { mask_replace: 0.95, random_replace: 0.1, ..options };
    assert!(mask_tokens(&ids, None, &bad, &mut Rng::new(0)).is_err());
}

#[test]
fn loss_counts_chosen_tokens_only() {
    let (b, t, v) = (2, 5, 7);
    let mut rng = Rng::new(5);
    let logits = Var::leaf(Tensor::randn(&[b, t, v], 0.0, 2.0, &mut rng).unwrap());
    let labels = Tensor::from_vec(vec![IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX, 6, 1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX], &[b, t]).unwrap();
    let loss = mlm_loss(&logits, &labels).unwrap();
    // By hand: the mean of -log softmax at the three chosen positions.
    let x = logits.tensor().to_vec::<f32>().unwrap();
    let lab = labels.to_vec::<i64>().unwrap();
    let mut total = 0f64;
    let mut count = 0;
    for (row, &label) in lab.iter().enumerate() {
        if label == IGNORE_INDEX {
            continue;
        }
        let r = &x[row * v..(row + 1) * v];
        let m = r.iter().cloned().fold(f32::MIN, f32::max) as f64;
        let lse = m + r.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
        total += lse - r[label as usize] as f64;
        count += 1;
    }
    assert_eq!(count, 3);
    assert!((loss.item().unwrap() as f64 - total / 3.0).abs() < 1e-5);
    loss.backward().unwrap();
    let grad = logits.grad().unwrap().to_vec::<f32>().unwrap();
    for (row, &label) in lab.iter().enumerate() {
        let g = &grad[row * v..(row + 1) * v];
        let norm: f32 = g.iter().map(|x| x.abs()).sum();
        if label == IGNORE_INDEX {
            assert_eq!(norm, 0.0, "no gradient through an unchosen position");
        } else {
            assert!(norm > 1e-3);
        }
    }
}

#[test]
fn a_small_bert_learns_to_fill_blanks() {
    // A corpus of fixed 6-token "phrases" the model can only complete from context: a masked token is
    // determined by its neighbours, so accuracy far above the unigram baseline means it uses both sides.
    let config = BertConfig::from_json_str(
        r#"{"vocab_size": 29, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64, "max_position_embeddings": 16}"#,
    )
    .unwrap();
    let model = BertForMaskedLM::new(&config, &mut Rng::new(0)).unwrap();
    let phrases: Vec<Vec<i64>> = (0..4).map(|p| (0..6).map(|j| 5 + ((p * 6 + j) % 24) as i64).collect()).collect();
    let mut data_rng = Rng::new(1);
    let make_batch = |rng: &mut Rng| -> Tensor {
        let mut ids = Vec::new();
        for _ in 0..16 {
            let p = &phrases[rng.gen_range(phrases.len()).unwrap()];
            ids.push(2);
            ids.extend(p);
            ids.push(3);
        }
        Tensor::from_vec(ids, &[16, 8]).unwrap()
    };
    let options = MaskingOptions { mask_probability: 0.3, ..MaskingOptions::bert(4, 29, SPECIALS.to_vec()) };
    let mut opt = AdamW::for_module(&model, 0.0, AdamWOptions { lr: 3e-3, ..Default::default() });
    let eval_ids = make_batch(&mut Rng::new(99));
    let eval = mask_tokens(&eval_ids, None, &options, &mut Rng::new(100)).unwrap();
    let evaluate = || {
        let _guard = no_grad();
        let logits = model.forward(&eval.input_ids, None, None).unwrap();
        let loss = mlm_loss(&logits, &eval.labels).unwrap().item().unwrap();
        let (correct, chosen) = masked_accuracy(logits.tensor(), &eval.labels).unwrap();
        (loss, correct as f32 / chosen as f32)
    };
    let (loss0, acc0) = evaluate();
    for _ in 0..150 {
        let ids = make_batch(&mut data_rng);
        let batch = mask_tokens(&ids, None, &options, &mut data_rng).unwrap();
        opt.zero_grad();
        let loss = mlm_loss(&model.forward(&batch.input_ids, None, None).unwrap(), &batch.labels).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let (loss1, acc1) = evaluate();
    // The unigram baseline: 24 equally frequent tokens, 1/24 accuracy.
    eprintln!("masked LM: loss {loss0:.3} -> {loss1:.3}, masked accuracy {acc0:.3} -> {acc1:.3} (unigram 0.042)");
    assert!(loss1 < loss0 * 0.5, "loss {loss0} -> {loss1}");
    assert!(acc1 > 0.5, "masked accuracy {acc1}");
    assert!(model.num_parameters() > 0);
}

/// Masked-LM pretraining on tiny Shakespeare, character level (specials 0..5, then one id per character):
/// the held-out MLM loss falls and masked-character accuracy rises above the unigram baseline (always
/// guessing the most frequent character) within 300 small steps (about 150 predicted characters a step, so
/// this is the start of training, kept short for the test suite). Skipped when
/// `../shared/data/tinyshakespeare.txt` is absent.
#[test]
fn mlm_on_tiny_shakespeare_beats_the_unigram_baseline() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/tinyshakespeare.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: {} not found", path.display());
        return;
    };
    let chars = models::tokenizer::CharTokenizer::from_corpus(&text).unwrap();
    let stream: Vec<u32> = chars.encode(&text).unwrap().into_iter().map(|id| id + 5).collect();
    let vocab = 5 + chars.vocab_size();
    let split = stream.len() * 9 / 10;
    let (window, batch_size, steps) = (32usize, 32usize, 300usize);
    let config = BertConfig::from_json_str(&format!(
        r#"{{"vocab_size": {vocab}, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 128, "max_position_embeddings": 64}}"#
    ))
    .unwrap();
    let model = BertForMaskedLM::new(&config, &mut Rng::new(0)).unwrap();
    let options = MaskingOptions::bert(MASK as u32, vocab, SPECIALS.to_vec());
    let mut opt = AdamW::for_module(&model, 0.01, AdamWOptions { lr: 2e-3, ..Default::default() });
    let mut rng = Rng::new(1);
    let draw = |rng: &mut Rng, n: usize, lo: usize, hi: usize| -> Vec<usize> {
        (0..n).map(|_| lo + rng.gen_range(hi - lo - window).unwrap()).collect()
    };
    // Held-out windows, masked once.
    let mut eval_rng = Rng::new(2);
    let eval_starts = draw(&mut eval_rng, 128, split, stream.len());
    let eval_ids = models::bert::windows_with_cls_sep(&stream, &eval_starts, window, 2, 3).unwrap();
    let eval = mask_tokens(&eval_ids, None, &options, &mut eval_rng).unwrap();
    let evaluate = || {
        let _guard = no_grad();
        let logits = model.forward(&eval.input_ids, None, None).unwrap();
        let loss = mlm_loss(&logits, &eval.labels).unwrap().item().unwrap();
        let (correct, chosen) = masked_accuracy(logits.tensor(), &eval.labels).unwrap();
        (loss, correct as f32 / chosen as f32)
    };
    // Unigram baseline: the training text's most frequent character, scored on the same held-out labels.
    let mut counts = vec![0usize; vocab];
    for &t in &stream[..split] {
        counts[t as usize] += 1;
    }
    let most = (0..vocab).max_by_key(|&i| counts[i]).unwrap() as i64;
    let labels = eval.labels.to_vec::<i64>().unwrap();
    let chosen: Vec<i64> = labels.into_iter().filter(|&l| l != IGNORE_INDEX).collect();
    let unigram = chosen.iter().filter(|&&l| l == most).count() as f32 / chosen.len() as f32;
    let (loss0, acc0) = evaluate();
    let start = std::time::Instant::now();
    for _ in 0..steps {
        let starts = draw(&mut rng, batch_size, 0, split);
        let ids = models::bert::windows_with_cls_sep(&stream, &starts, window, 2, 3).unwrap();
        let batch = mask_tokens(&ids, None, &options, &mut rng).unwrap();
        opt.zero_grad();
        mlm_loss(&model.forward(&batch.input_ids, None, None).unwrap(), &batch.labels).unwrap().backward().unwrap();
        opt.step().unwrap();
    }
    let (loss1, acc1) = evaluate();
    eprintln!(
        "tiny Shakespeare char MLM, {steps} steps of {batch_size}x{} in {:.1} s: held-out loss {loss0:.3} -> {loss1:.3}, \
         masked accuracy {acc0:.3} -> {acc1:.3} (unigram baseline {unigram:.3}, {} masked)",
        window + 2,
        start.elapsed().as_secs_f32(),
        chosen.len()
    );
    assert!(loss1 < loss0 - 1.0, "loss {loss0} -> {loss1}");
    assert!(acc1 > 1.4 * unigram, "masked accuracy {acc1} vs unigram {unigram}");
}
