//! K-wise batching: left- and right-padded batches read the same values as unpadded per-row runs, the
//! gradient reaches only the last real tokens, and the forward passes saved against pairwise feeding.
use autograd::nn::Linear;
use autograd::Var;
use engine::rng::Rng;
use engine::{DType, Tensor};
use rlhf::reward::{last_token_values, pack_kwise, ForwardPasses, KwiseExample, Padding, Ranking};

const VOCAB: usize = 13;
const H: usize = 5;

/// A small deterministic "model" that depends on every real token before a position and on none of the
/// padding: per-token embeddings, zeroed at padding, summed cumulatively over positions (a lower-triangular
/// matmul), plus the current token's embedding, then a Linear H -> H and tanh. Returns hidden `[B, T, H]`.
struct CumulativeModel {
    table: Var,
    proj: Linear,
}

impl CumulativeModel {
    fn new(seed: u64) -> CumulativeModel {
        let mut rng = Rng::new(seed);
        CumulativeModel {
            table: Var::leaf(Tensor::randn(&[VOCAB, H], 0.0, 1.0, &mut rng).unwrap()),
            proj: Linear::new(H, H, true, &mut rng).unwrap(),
        }
    }

    fn hidden(&self, ids: &Tensor, mask: &Tensor) -> Var {
        let (b, t) = (ids.shape()[0], ids.shape()[1]);
        let emb = self.table.embedding(ids).unwrap(); // [B, T, H]
        let keep = Var::constant(mask.to_dtype(DType::F32).unwrap().reshape(&[b, t, 1]).unwrap());
        let masked = emb.mul(&keep).unwrap();
        let lower: Vec<f32> = (0..t * t).map(|i| if i % t <= i / t { 1.0 } else { 0.0 }).collect();
        let lower = Var::constant(Tensor::from_vec(lower, &[t, t]).unwrap()); // [T, T], row t sums s <= t
        let cum = lower.matmul(&masked).unwrap(); // [B, T, H]
        // Plus the current token's own embedding, unmasked: a padding position sees the pad token, so a
        // value read at padding differs from the last real token's.
        self.proj.forward(&cum.add(&emb).unwrap()).unwrap().tanh().unwrap()
    }

    /// Per-token scalar: the sum of the hidden features, `[B, T]`.
    fn scores(&self, ids: &Tensor, mask: &Tensor) -> Var {
        self.hidden(ids, mask).sum(&[-1], false).unwrap()
    }
}

fn examples() -> Vec<KwiseExample> {
    vec![
        KwiseExample {
            prompt: vec![1, 2, 3],
            answers: vec![vec![4], vec![5, 6, 7, 8, 9], vec![10, 11], vec![12, 4, 5]],
            ranking: Ranking::from_order(&[2, 0, 3, 1]),
        },
        KwiseExample { prompt: vec![7], answers: vec![vec![8, 9], vec![3]], ranking: Ranking::from_order(&[1, 0]) },
    ]
}

/// Each row run alone, with no padding: the values at its last token.
fn unpadded(model: &CumulativeModel) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut hidden = Vec::new();
    let mut scores = Vec::new();
    for ex in examples() {
        for a in &ex.answers {
            let row: Vec<i64> = ex.prompt.iter().chain(a).map(|&x| x as i64).collect();
            let t = row.len();
            let ids = Tensor::from_vec(row, &[1, t]).unwrap();
            let mask = Tensor::ones(&[1, t], DType::I64).unwrap();
            let h = model.hidden(&ids, &mask).tensor().to_vec::<f32>().unwrap();
            hidden.push(h[(t - 1) * H..t * H].to_vec());
            scores.push(model.scores(&ids, &mask).tensor().to_vec::<f32>().unwrap()[t - 1]);
        }
    }
    (hidden, scores)
}

#[test]
fn packing_layout_for_both_sides() {
    for padding in [Padding::Right, Padding::Left] {
        let batch = pack_kwise(&examples(), 0, padding, None).unwrap();
        assert_eq!(batch.rows(), 6);
        assert_eq!(batch.input_ids.shape(), &[6, 8]);
        assert_eq!(batch.lengths, vec![4, 8, 5, 6, 3, 2]);
        assert_eq!(batch.groups[0].offset, 0);
        assert_eq!(batch.groups[1].offset, 4);
        let mask = batch.attention_mask.to_vec::<i64>().unwrap();
        let pos = batch.position_ids.to_vec::<i64>().unwrap();
        let last = batch.last_index.to_vec::<i64>().unwrap();
        for (r, &len) in batch.lengths.iter().enumerate() {
            let row_mask = &mask[r * 8..(r + 1) * 8];
            assert_eq!(row_mask.iter().sum::<i64>(), len as i64);
            // The last real token is real, and everything after it (right) or before the real run (left) is padding.
            assert_eq!(row_mask[last[r] as usize], 1);
            match padding {
                Padding::Right => {
                    assert_eq!(last[r], len as i64 - 1);
                    assert!(row_mask[len..].iter().all(|&m| m == 0));
                }
                Padding::Left => {
                    assert_eq!(last[r], 7);
                    assert!(row_mask[..8 - len].iter().all(|&m| m == 0));
                }
            }
            assert_eq!(pos[r * 8 + last[r] as usize], len as i64 - 1);
        }
    }
}

#[test]
fn truncation_keeps_the_end_and_mismatched_rankings_fail() {
    let batch = pack_kwise(&examples(), 0, Padding::Right, Some(3)).unwrap();
    let ids = batch.input_ids.to_vec::<i64>().unwrap();
    assert_eq!(&ids[3..6], &[7, 8, 9]); // row 1: 1 2 3 5 6 7 8 9 -> its last three
    assert_eq!(batch.lengths, vec![3, 3, 3, 3, 3, 2]);
    let bad = KwiseExample { prompt: vec![1], answers: vec![vec![2], vec![3]], ranking: Ranking::from_order(&[0, 1, 2]) };
    assert!(pack_kwise(&[bad], 0, Padding::Right, None).is_err());
}

#[test]
fn padded_batches_read_the_same_values_as_unpadded_rows() {
    let model = CumulativeModel::new(9);
    let (want_hidden, want_scores) = unpadded(&model);
    for padding in [Padding::Right, Padding::Left] {
        let batch = pack_kwise(&examples(), 0, padding, None).unwrap();
        let hidden = model.hidden(&batch.input_ids, &batch.attention_mask);
        let picked = last_token_values(&hidden, &batch.last_index).unwrap(); // [B, H]
        assert_eq!(picked.shape(), &[6, H]);
        let got = picked.tensor().to_vec::<f32>().unwrap();
        for (r, want) in want_hidden.iter().enumerate() {
            for (j, w) in want.iter().enumerate() {
                assert!((got[r * H + j] - w).abs() < 1e-6, "{padding:?} row {r} feature {j}: {} vs {w}", got[r * H + j]);
            }
        }
        let scores = last_token_values(&model.scores(&batch.input_ids, &batch.attention_mask), &batch.last_index).unwrap();
        assert_eq!(scores.shape(), &[6]);
        for (g, w) in scores.tensor().to_vec::<f32>().unwrap().iter().zip(&want_scores) {
            assert!((g - w).abs() < 1e-5, "{padding:?}: {g} vs {w}");
        }
        // Reading at the last column instead would hit padding in the right-padded batch: the check above
        // would fail there, which is what the last index is for.
        if padding == Padding::Right {
            let t = batch.input_ids.shape()[1];
            let last_col = Tensor::from_vec(vec![t as i64 - 1; 6], &[6]).unwrap();
            let wrong = last_token_values(&model.scores(&batch.input_ids, &batch.attention_mask), &last_col).unwrap();
            let wrong = wrong.tensor().to_vec::<f32>().unwrap();
            assert!(wrong.iter().zip(&want_scores).any(|(g, w)| (g - w).abs() > 1e-3));
        }
    }
}

#[test]
fn gradient_reaches_only_the_last_real_tokens() {
    for padding in [Padding::Right, Padding::Left] {
        let batch = pack_kwise(&examples(), 0, padding, None).unwrap();
        let (b, t) = (batch.rows(), batch.input_ids.shape()[1]);
        let values = Var::leaf(Tensor::randn(&[b, t], 0.0, 1.0, &mut Rng::new(1)).unwrap());
        last_token_values(&values, &batch.last_index).unwrap().sum_all().unwrap().backward().unwrap();
        let g = values.grad().unwrap().to_vec::<f32>().unwrap();
        let last = batch.last_index.to_vec::<i64>().unwrap();
        let mask = batch.attention_mask.to_vec::<i64>().unwrap();
        for r in 0..b {
            for c in 0..t {
                let want = if c as i64 == last[r] { 1.0 } else { 0.0 };
                assert_eq!(g[r * t + c], want, "{padding:?} row {r} col {c}");
                if mask[r * t + c] == 0 {
                    assert_eq!(g[r * t + c], 0.0, "gradient at padding");
                }
            }
        }
    }
}

#[test]
fn bad_last_indices_are_errors() {
    let v = Var::constant(Tensor::zeros(&[2, 3], DType::F32).unwrap());
    assert!(last_token_values(&v, &Tensor::from_vec(vec![0i64, 3], &[2]).unwrap()).is_err());
    assert!(last_token_values(&v, &Tensor::from_vec(vec![0i64], &[1]).unwrap()).is_err());
}

#[test]
fn kwise_batching_saves_forward_passes() {
    let mut rng = Rng::new(4);
    for k in 2..=9usize {
        let mut order: Vec<usize> = (0..k).collect();
        rng.shuffle(&mut order);
        let ranking = Ranking::from_order(&order);
        let c = ForwardPasses::of(std::slice::from_ref(&ranking));
        assert_eq!(c, ForwardPasses::strict(k));
        // Count the sequences each scheme actually builds: one row per answer in the packed batch against two
        // sequences for every (better, worse) pair fed on its own.
        let ex = KwiseExample { prompt: vec![1], answers: (0..k).map(|i| vec![2 + i as u32]).collect(), ranking: ranking.clone() };
        let batch = pack_kwise(&[ex], 0, Padding::Right, None).unwrap();
        let pairwise_sequences: usize = ranking.pairs().iter().map(|_| 2).sum();
        assert_eq!(c.kwise, batch.rows());
        assert_eq!(c.pairwise, pairwise_sequences);
        assert_eq!(c.pairwise, 2 * k * (k - 1) / 2);
        assert_eq!(c.saved(), k * (k - 1) - k);
        assert!((c.ratio() - (k - 1) as f64).abs() < 1e-12);
        println!("K = {k}: K-wise {} sequences, pairwise {}, saved {} ({:.0}x fewer)", c.kwise, c.pairwise, c.saved(), c.ratio());
    }
    // With ties, pairwise feeding skips the tied pairs; K-wise still runs each answer once.
    let tied = Ranking::with_ties(vec![vec![0, 1], vec![2, 3]]);
    assert_eq!(ForwardPasses::of(&[tied]), ForwardPasses { kwise: 4, pairwise: 8 });
}

#[test]
fn last_token_values_gradient_matches_finite_differences() {
    use autograd::gradcheck::{check_gradients, GradCheckOptions};
    let batch = pack_kwise(&examples(), 0, Padding::Left, None).unwrap();
    let (b, t) = (batch.rows(), batch.input_ids.shape()[1]);
    let hidden = Tensor::randn(&[b, t, 3], 0.0, 1.0, &mut Rng::new(2)).unwrap();
    let last = batch.last_index.clone();
    // A nonlinearity after the read, so the check sees more than a copy.
    let report =
        check_gradients(|v| last_token_values(&v[0], &last)?.tanh(), &[hidden], &GradCheckOptions::default()).unwrap();
    assert_eq!(report.checked, b * t * 3);
    assert!(report.max_abs_error < 5e-4, "{report:?}");
}
