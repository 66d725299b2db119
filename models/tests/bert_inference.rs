//! The encoder's no-grad inference path (models/src/bert/inference.rs) against the recorded path it
//! replaces when nothing is recorded: every hidden state equal, with and without padding, for each
//! activation, on shapes that exercise the GEMM edges (T and widths not multiples of the kernel tiles).
use autograd::no_grad;
use engine::rng::Rng;
use engine::Tensor;
use models::bert::{BertConfig, BertModel};

fn config(act: &str, hidden: usize, heads: usize, inner: usize) -> BertConfig {
    BertConfig::from_json_str(&format!(
        r#"{{"vocab_size": 97, "hidden_size": {hidden}, "num_hidden_layers": 3, "num_attention_heads": {heads},
            "intermediate_size": {inner}, "max_position_embeddings": 64, "hidden_act": "{act}"}}"#
    ))
    .unwrap()
}

/// Worst |a - b| / (1 + |b|) over two lists of hidden states.
fn worst(a: &[Tensor], b: &[Tensor]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            let (x, y) = (x.to_vec::<f32>().unwrap(), y.to_vec::<f32>().unwrap());
            x.into_iter().zip(y).map(|(p, q)| (p - q).abs() / (1.0 + q.abs())).collect::<Vec<_>>()
        })
        .fold(0.0, f32::max)
}

#[test]
fn inference_path_matches_the_recorded_path() {
    for (act, hidden, heads, inner, b, t) in [("gelu", 48, 4, 80, 3, 37), ("gelu_new", 32, 2, 64, 2, 16), ("relu", 24, 3, 40, 4, 5)] {
        let model = BertModel::new(&config(act, hidden, heads, inner), true, &mut Rng::new(11)).unwrap();
        let mut rng = Rng::new(5);
        let ids: Vec<i64> = (0..b * t).map(|_| 5 + rng.gen_range(90).unwrap() as i64).collect();
        let ids = Tensor::from_vec(ids, &[b, t]).unwrap();
        // Row r keeps its first t - 3r tokens (row 0 unpadded).
        let mask: Vec<i64> = (0..b * t).map(|p| i64::from(p % t + 3 * (p / t) < t)).collect();
        let mask = Tensor::from_vec(mask, &[b, t]).unwrap();
        for attention_mask in [None, Some(&mask)] {
            let recorded = model.forward(&ids, attention_mask, None).unwrap();
            let fast = {
                let _guard = no_grad();
                model.forward(&ids, attention_mask, None).unwrap()
            };
            let states = |o: &models::bert::BertOutput| o.hidden_states.iter().map(|h| h.tensor().clone()).collect::<Vec<_>>();
            assert_eq!(fast.hidden_states.len(), 4);
            let err = worst(&states(&fast), &states(&recorded));
            assert!(err < 1e-5, "{act} {b}x{t} mask {}: worst difference {err}", attention_mask.is_some());
            let pooled = worst(&[fast.pooler_output.unwrap().into_tensor()], &[recorded.pooler_output.unwrap().into_tensor()]);
            assert!(pooled < 1e-5, "pooler output differs by {pooled}");
        }
    }
}
