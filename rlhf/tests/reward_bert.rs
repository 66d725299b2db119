//! The reward model on the BERT trunk: a right-padded K-wise batch gives each row's unpadded reward, the
//! normalisation bias folds into the head, and a tiny random BERT trained with AdamW on world prompts
//! ranked by the scripted labeler rises above chance on held-out rankings.
use std::time::Instant;

use autograd::nn::Module;
use autograd::no_grad;
use autograd::optim::{AdamW, AdamWOptions, Optimizer};
use engine::rng::Rng;
use engine::Tensor;
use models::bert::{BertConfig, BertModel};
use rlhf::reward::{
    compare_orderings, elo_games, elo_ratings, normalization_bias, pack_kwise, pairwise_accuracy, EloOptions,
    KwiseExample, Padding, Ranking, RewardModel,
};
use rlhf::world::demos::demo_response;
use rlhf::world::rng::WorldRng;
use rlhf::world::{charset, DemoConfig, ScriptedLabeler, Split, Style, World};

const PAD: u32 = 0;
const CLS: u32 = 1;
const SEP: u32 = 2;
const MAX_LEN: usize = 96;

/// A character vocabulary: `[PAD] [CLS] [SEP]` then the world's 96 characters.
struct CharVocab {
    chars: Vec<char>,
}

impl CharVocab {
    fn new() -> CharVocab {
        CharVocab { chars: charset().chars().collect() }
    }
    fn size(&self) -> usize {
        3 + self.chars.len()
    }
    fn encode(&self, text: &str) -> Vec<u32> {
        text.chars().map(|c| 3 + self.chars.iter().position(|&x| x == c).expect("world text is in the charset") as u32).collect()
    }
    /// `[CLS] prompt [SEP]` and, per answer, `answer [SEP]`.
    fn example(&self, prompt: &str, answers: &[String], ranking: &[usize]) -> KwiseExample {
        let mut p = vec![CLS];
        p.extend(self.encode(prompt));
        p.push(SEP);
        let answers = answers
            .iter()
            .map(|a| {
                let mut t = self.encode(a);
                t.push(SEP);
                t
            })
            .collect();
        KwiseExample { prompt: p, answers, ranking: Ranking::from_order(ranking) }
    }
}

fn tiny_bert(vocab: usize, rng: &mut Rng) -> BertModel {
    let config = BertConfig::from_json_str(&format!(
        r#"{{"vocab_size": {vocab}, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
            "intermediate_size": 64, "max_position_embeddings": {MAX_LEN}}}"#
    ))
    .unwrap();
    BertModel::new(&config, false, rng).unwrap()
}

/// K answers to each of `n` prompts of `split`, of mixed quality (right or wrong, polite, curt or
/// rambling), ranked by the noiseless scripted labeler.
fn world_examples(vocab: &CharVocab, split: Split, n: usize, k: usize, seed: u64) -> Vec<KwiseExample> {
    world_examples_with_kinds(vocab, split, n, k, seed).0
}

/// [`world_examples`] and, per answer in batch order, its kind: `2 * style + correct` with style 0 polite,
/// 1 curt, 2 rambling (six kinds).
fn world_examples_with_kinds(vocab: &CharVocab, split: Split, n: usize, k: usize, seed: u64) -> (Vec<KwiseExample>, Vec<usize>) {
    let labeler = ScriptedLabeler::new(0.0, 0);
    let mix = DemoConfig { wrong_fraction: 0.1, rambling_fraction: 0.3, curt_fraction: 0.35 };
    let mut rng = WorldRng::new(seed);
    let mut kinds = Vec::new();
    let examples = World::new(1)
        .prompts(split, n)
        .into_iter()
        .map(|p| {
            let answers: Vec<String> = (0..k)
                .map(|_| {
                    let (text, correct, style) = demo_response(&p.task, &mix, &mut rng);
                    let s = match style {
                        Style::Polite => 0,
                        Style::Curt => 1,
                        Style::Rambling => 2,
                    };
                    kinds.push(2 * s + correct as usize);
                    text
                })
                .collect();
            let ranking = labeler.rank(&p.text, &answers).expect("a world prompt");
            vocab.example(&p.text, &answers, &ranking)
        })
        .collect();
    (examples, kinds)
}

fn held_out_accuracy(model: &RewardModel<BertModel>, examples: &[KwiseExample]) -> f64 {
    let _guard = no_grad();
    let batch = pack_kwise(examples, PAD, Padding::Right, Some(MAX_LEN)).unwrap();
    let r = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    pairwise_accuracy(&r, &batch.groups).unwrap().accuracy()
}

#[test]
fn right_padded_batch_gives_each_rows_unpadded_reward() {
    let vocab = CharVocab::new();
    let mut rng = Rng::new(2);
    let model = RewardModel::new(tiny_bert(vocab.size(), &mut rng), &mut rng).unwrap();
    let examples = world_examples(&vocab, Split::Reward, 2, 4, 5);
    let batch = pack_kwise(&examples, PAD, Padding::Right, Some(MAX_LEN)).unwrap();
    let _guard = no_grad();
    let batched = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    let ids = batch.input_ids.to_vec::<i64>().unwrap();
    let t = batch.input_ids.shape()[1];
    for (r, &len) in batch.lengths.iter().enumerate() {
        let row = Tensor::from_vec(ids[r * t..r * t + len].to_vec(), &[1, len]).unwrap();
        let mask = Tensor::ones(&[1, len], engine::DType::I64).unwrap();
        let last = Tensor::from_vec(vec![len as i64 - 1], &[1]).unwrap();
        let alone = model.rewards(&row, &mask, &last).unwrap().item().unwrap();
        assert!((alone - batched[r]).abs() < 1e-4, "row {r}: alone {alone}, batched {}", batched[r]);
    }
    // BERT's positions count from column 0: a left-padded batch is refused rather than silently shifted.
    let left = pack_kwise(&examples, PAD, Padding::Left, Some(MAX_LEN)).unwrap();
    assert!(model.rewards_for(&left).is_err());
    // Parameter names: the trunk's HF names under `trunk.`, the head under `score.`.
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"trunk.embeddings.word_embeddings.weight".to_string()));
    assert!(names.contains(&"score.weight".to_string()) && names.contains(&"score.bias".to_string()));
}

#[test]
fn normalisation_bias_folds_into_the_head() {
    let vocab = CharVocab::new();
    let mut rng = Rng::new(4);
    let model = RewardModel::new(tiny_bert(vocab.size(), &mut rng), &mut rng).unwrap();
    let examples = world_examples(&vocab, Split::Sft, 6, 3, 9);
    let batch = pack_kwise(&examples, PAD, Padding::Right, Some(MAX_LEN)).unwrap();
    let _guard = no_grad();
    let before = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    let b = normalization_bias(&before).unwrap();
    model.add_to_bias(b).unwrap();
    let after = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    let mean = after.iter().map(|&x| x as f64).sum::<f64>() / after.len() as f64;
    assert!(mean.abs() < 1e-5, "mean reward after normalisation {mean}");
    for (a, x) in after.iter().zip(&before) {
        assert!((a - (x + b)).abs() < 1e-5);
    }
    // The bias lives in the state dict, so a checkpoint carries it.
    assert_eq!(model.state_dict()["score.bias"].to_vec::<f32>().unwrap(), vec![b]);
}

#[test]
fn tiny_bert_reward_model_learns_world_rankings() {
    let vocab = CharVocab::new();
    let mut rng = Rng::new(7);
    let model = RewardModel::new(tiny_bert(vocab.size(), &mut rng), &mut rng).unwrap();
    let train = world_examples(&vocab, Split::Reward, 400, 4, 11);
    let (held_out, kinds) = world_examples_with_kinds(&vocab, Split::Eval, 100, 4, 12);
    let mut opt = AdamW::for_module(&model, 0.01, AdamWOptions { lr: 2e-3, ..Default::default() });
    let before = held_out_accuracy(&model, &held_out);
    let start = Instant::now();
    let prompts_per_step = 4;
    let steps = 200;
    let mut first_losses = Vec::new();
    let mut last_losses = Vec::new();
    for step in 0..steps {
        let i = (step * prompts_per_step) % train.len();
        let batch = pack_kwise(&train[i..i + prompts_per_step], PAD, Padding::Right, Some(MAX_LEN)).unwrap();
        opt.zero_grad();
        let (loss, _) = model.loss(&batch).unwrap();
        let l = loss.item().unwrap();
        assert!(l.is_finite());
        loss.backward().unwrap();
        opt.step().unwrap();
        if step < 20 {
            first_losses.push(l);
        } else if step >= steps - 20 {
            last_losses.push(l);
        }
    }
    let after = held_out_accuracy(&model, &held_out);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    println!(
        "tiny BERT reward model: {steps} steps of {prompts_per_step} prompts x 4 answers in {:.1} s; loss {:.3} -> {:.3}; \
         held-out pairwise accuracy {before:.3} -> {after:.3}",
        start.elapsed().as_secs_f64(),
        mean(&first_losses),
        mean(&last_losses)
    );
    assert!(mean(&last_losses) < mean(&first_losses), "training loss did not fall");
    assert!(after > 0.68, "held-out pairwise accuracy {after:.3} is not above chance");
    assert!(after > before + 0.05, "accuracy {before:.3} -> {after:.3} did not rise");

    // Elo beside the reward model: the players are kinds of answer, each held-out ranking a set of games
    // between the kinds of its answers; the reward model's score of a kind is its mean reward.
    let batch = pack_kwise(&held_out, PAD, Padding::Right, Some(MAX_LEN)).unwrap();
    let r = {
        let _guard = no_grad();
        model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap()
    };
    let compare = |kind_of: &dyn Fn(usize) -> usize, names: &[&str]| {
        let n = names.len();
        let rankings: Vec<(Vec<usize>, Ranking)> = batch
            .groups
            .iter()
            .map(|g| ((g.offset..g.offset + g.ranking.num_answers()).map(|i| kind_of(kinds[i])).collect(), g.ranking.clone()))
            .collect();
        let elo = elo_ratings(n, &elo_games(&rankings).unwrap(), &EloOptions::default()).unwrap();
        let (mut sum, mut count) = (vec![0.0f64; n], vec![0usize; n]);
        for (&kind, &reward) in kinds.iter().zip(&r) {
            sum[kind_of(kind)] += reward as f64;
            count[kind_of(kind)] += 1;
        }
        assert!(count.iter().all(|&c| c > 0), "every kind of answer appears: {count:?}");
        let mean_reward: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
        let cmp = compare_orderings(&elo, &mean_reward).unwrap();
        let show = |order: &[usize]| order.iter().map(|&i| names[i]).collect::<Vec<_>>().join(" > ");
        println!("Elo order:          {}\nreward-model order: {}", show(&cmp.elo_order), show(&cmp.reward_order));
        println!("Elo {elo:.0?}; mean reward {mean_reward:.2?}; Spearman {:.2}, Kendall {:.2}", cmp.spearman, cmp.kendall);
        cmp
    };
    // Six kinds (style x right/wrong), printed as a figure: a model this small, trained this briefly,
    // learns the style and barely the correctness, so it is not asserted.
    let names = ["polite wrong", "polite right", "curt wrong", "curt right", "rambling wrong", "rambling right"];
    compare(&|k| k, &names);
    // By style alone, the orderings must agree (polite > rambling > curt in the checker's score).
    let by_style = compare(&|k| k / 2, &["polite", "curt", "rambling"]);
    assert!(by_style.spearman > 0.9, "Elo and the reward model disagree on styles: {by_style:?}");
}
