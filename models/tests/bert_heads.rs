//! The heads and the backward pass: finite-difference gradient checks of a tiny BERT's masked-LM loss and
//! sequence score (attention with a padding mask, token types, tied decoder, mean pooling), and the
//! sequence head on the fixture checkpoint.
use std::path::PathBuf;

use autograd::gradcheck::{check_parameter_gradients, GradCheckOptions};
use autograd::nn::Module;
use autograd::no_grad;
use engine::rng::Rng;
use engine::Tensor;
use models::bert::{mlm_loss, BertConfig, BertForMaskedLM, BertForSequenceScore, SequencePooling, IGNORE_INDEX};

fn tiny_config() -> BertConfig {
    let mut c = BertConfig::from_json_str(
        r#"{"vocab_size": 12, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 12, "max_position_embeddings": 8, "layer_norm_eps": 1e-5}"#,
    )
    .unwrap();
    c.initializer_range = 0.5; // wide weights: every path carries a visible gradient
    c
}

/// Two rows: a pair with token types and a shorter padded row.
fn inputs() -> (Tensor, Tensor, Tensor) {
    let ids = Tensor::from_vec(vec![2i64, 5, 7, 3, 8, 3, 2, 9, 6, 3, 0, 0], &[2, 6]).unwrap();
    let mask = Tensor::from_vec(vec![1i64, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], &[2, 6]).unwrap();
    let types = Tensor::from_vec(vec![0i64, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], &[2, 6]).unwrap();
    (ids, mask, types)
}

fn randomize_norms(model: &dyn Module, rng: &mut Rng) {
    // LayerNorm gains and all biases start at 1 / 0; move them so their gradients are generic.
    for (name, p) in model.named_parameters() {
        if name.contains("LayerNorm") || name.ends_with("bias") {
            let shape = p.shape();
            let base = if name.ends_with("LayerNorm.weight") { 1.0 } else { 0.0 };
            p.set_value(Tensor::randn(&shape, base, 0.3, rng).unwrap()).unwrap();
        }
    }
}

#[test]
fn mlm_loss_gradients_match_finite_differences() {
    let mut rng = Rng::new(21);
    let model = BertForMaskedLM::new(&tiny_config(), &mut rng).unwrap();
    randomize_norms(&model, &mut rng);
    let (ids, mask, types) = inputs();
    let labels = Tensor::from_vec(
        vec![IGNORE_INDEX, 4, IGNORE_INDEX, IGNORE_INDEX, 10, IGNORE_INDEX, IGNORE_INDEX, 11, 7, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX],
        &[2, 6],
    )
    .unwrap();
    let loss = || mlm_loss(&model.forward(&ids, Some(&mask), Some(&types))?, &labels);
    let options = GradCheckOptions { h: 1e-2, atol: 1e-3, rtol: 1e-2, seed: 3 };
    let report = check_parameter_gradients(&model.named_parameters(), loss, &options, 6).unwrap();
    eprintln!("MLM gradcheck: {} elements, max abs error {:.2e}", report.checked, report.max_abs_error);
    // Every parameter took part (the position table only through its first 6 rows).
    for (name, p) in model.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name} got no gradient"));
        assert!(g.to_vec::<f32>().unwrap().iter().any(|&x| x != 0.0), "{name}: zero gradient");
    }
}

#[test]
fn sequence_score_gradients_match_finite_differences() {
    for pooling in [SequencePooling::Mean, SequencePooling::Pooler] {
        let mut rng = Rng::new(22);
        let model = BertForSequenceScore::new(&tiny_config(), 1, pooling, &mut rng).unwrap();
        randomize_norms(&model, &mut rng);
        let (ids, mask, types) = inputs();
        // A Bradley-Terry style loss on the two rows' scores: -log sigmoid(s0 - s1).
        let loss = || {
            let s = model.forward(&ids, Some(&mask), Some(&types))?;
            let diff = s.select(0, 0)?.sub(&s.select(0, 1)?)?;
            diff.sigmoid()?.log()?.neg()?.sum_all()
        };
        let options = GradCheckOptions { h: 1e-2, atol: 1e-3, rtol: 1e-2, seed: 4 };
        let report = check_parameter_gradients(&model.named_parameters(), loss, &options, 6).unwrap();
        eprintln!("{pooling:?} sequence-score gradcheck: {} elements, max abs error {:.2e}", report.checked, report.max_abs_error);
    }
}

#[test]
fn padding_never_changes_real_tokens_or_mean_pooled_scores() {
    let mut rng = Rng::new(23);
    let model = BertForSequenceScore::new(&tiny_config(), 2, SequencePooling::Mean, &mut rng).unwrap();
    randomize_norms(&model, &mut rng);
    let _guard = no_grad();
    let alone = Tensor::from_vec(vec![2i64, 9, 6, 3], &[1, 4]).unwrap();
    let padded = Tensor::from_vec(vec![2i64, 9, 6, 3, 0, 0, 2, 5, 5, 5, 5, 3], &[2, 6]).unwrap();
    let mask = Tensor::from_vec(vec![1i64, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1], &[2, 6]).unwrap();
    let a = model.forward(&alone, None, None).unwrap().tensor().to_vec::<f32>().unwrap();
    let b = model.forward(&padded, Some(&mask), None).unwrap().tensor().to_vec::<f32>().unwrap();
    for k in 0..2 {
        assert!((a[k] - b[k]).abs() < 1e-5, "label {k}: {} alone vs {} padded", a[k], b[k]);
    }
    let h_alone = model.bert.forward(&alone, None, None).unwrap().last_hidden_state.tensor().to_vec::<f32>().unwrap();
    let h_pad = model.bert.forward(&padded, Some(&mask), None).unwrap().last_hidden_state.tensor().to_vec::<f32>().unwrap();
    let err = h_alone.iter().zip(&h_pad[..4 * 8]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(err < 1e-5, "real tokens changed by padding: {err:e}");
    // Without the mask the padding is attended to and the result changes: the mask is doing the work.
    let unmasked = model.forward(&padded, None, None).unwrap().tensor().to_vec::<f32>().unwrap();
    assert!((a[0] - unmasked[0]).abs() > 1e-4);
}

#[test]
fn pooler_sequence_head_reads_the_fixture_pooler_output() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert_tiny");
    let reference = engine::io::safetensors::load(fixture.join("reference.safetensors")).unwrap();
    let head = BertForSequenceScore::from_pretrained_encoder(&fixture, 3, SequencePooling::Pooler, &mut Rng::new(5)).unwrap();
    let names: Vec<String> = head.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"bert.pooler.dense.weight".to_string()) && names.contains(&"classifier.weight".to_string()));
    let _guard = no_grad();
    let (ids, mask, types) = (&reference["input_ids"], &reference["attention_mask"], &reference["token_type_ids"]);
    let scores = head.forward(ids, Some(mask), Some(types)).unwrap();
    // classifier(pooler_output) with transformers' pooler output.
    let w = head.classifier.weight.value().to_vec::<f32>().unwrap();
    let b = head.classifier.bias.as_ref().unwrap().value().to_vec::<f32>().unwrap();
    let pooled = reference["pooler_output"].to_vec::<f32>().unwrap();
    let ours = scores.tensor().to_vec::<f32>().unwrap();
    for row in 0..2 {
        for k in 0..3 {
            let want: f32 = b[k] + (0..32).map(|j| w[k * 32 + j] * pooled[row * 32 + j]).sum::<f32>();
            assert!((ours[row * 3 + k] - want).abs() < 1e-4, "row {row} label {k}: {} vs {want}", ours[row * 3 + k]);
        }
    }
}

#[test]
fn training_dropout_is_seeded_and_off_at_zero() {
    use models::bert::Dropout;
    let mut rng = Rng::new(24);
    let model = BertForMaskedLM::new(&tiny_config(), &mut rng).unwrap();
    let (ids, mask, types) = inputs();
    let logits = |d: Option<&mut Dropout>| -> Vec<f32> {
        model.forward_train(&ids, Some(&mask), Some(&types), d).unwrap().1.tensor().to_vec::<f32>().unwrap()
    };
    let plain = logits(None);
    assert_eq!(logits(Some(&mut Dropout::new(0.0, 1))), plain, "p = 0 is the plain forward");
    let a = logits(Some(&mut Dropout::new(0.1, 1)));
    let b = logits(Some(&mut Dropout::new(0.1, 1)));
    let c = logits(Some(&mut Dropout::new(0.1, 2)));
    assert_eq!(a, b, "the same seed gives the same masks");
    assert_ne!(a, plain);
    assert_ne!(a, c);
    // Gradients flow through the dropped-out path.
    let labels = Tensor::from_vec(vec![IGNORE_INDEX, 4, 5, IGNORE_INDEX, 10, IGNORE_INDEX, 6, 11, 7, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX], &[2, 6]).unwrap();
    let (_, l) = model.forward_train(&ids, Some(&mask), Some(&types), Some(&mut Dropout::new(0.1, 3))).unwrap();
    mlm_loss(&l, &labels).unwrap().backward().unwrap();
    assert!(model.bert.layers[0].attention_self.query.weight.grad().is_some());
    let seq = BertForSequenceScore::new(&tiny_config(), 1, SequencePooling::Mean, &mut rng).unwrap();
    let s0 = seq.forward(&ids, Some(&mask), None).unwrap().tensor().to_vec::<f32>().unwrap();
    let s1 = seq.forward_train(&ids, Some(&mask), None, Some(&mut Dropout::new(0.2, 4))).unwrap().tensor().to_vec::<f32>().unwrap();
    assert_ne!(s0, s1);
}
