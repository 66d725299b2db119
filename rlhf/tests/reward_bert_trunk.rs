//! The BERT encoder as a reward-model trunk from the command line: `rlhf reward train --base BERT_DIR`
//! trains on world rankings (loss falls, the run folder is complete, the model folder is Hugging Face's
//! `BertForSequenceClassification`), a stopped run resumes bit for bit, the score read at `[CLS]` does
//! not depend on padding, `rlhf reward score` reads both kinds, a bad base fails with a message,
//! `rlhf pg` / `rlhf ppo` optimise a BERT reward model read from the answers' text, and (when python3 with
//! torch and transformers is installed) `transformers` scores the saved folder as we do.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use autograd::nn::Module;
use autograd::no_grad;
use engine::rng::Rng;
use engine::Tensor;
use models::bert::char_vocab::{char_wordpiece, save_wordpiece};
use models::bert::{BertConfig, BertForMaskedLM, BertModel};
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use models::tokenizer::WordPiece;
use rlhf::data::{ChatTokenizer, Conversation};
use rlhf::labeling::{Labeler, LabeledRanking, RankRequest, ScriptedWorldLabeler, Verdict};
use rlhf::reward::bert_examples::BertRowEncoder;
use rlhf::reward::bert_folder::hf_parameters;
use rlhf::reward::bert_trunk::bert_reward_model;
use rlhf::reward::{load_bert_reward_dir, pack_kwise, reward_model_from_policy, save_reward_dir, KwiseExample, Padding, Ranking, RewardScorer};
use rlhf::world::demos::demo_response;
use rlhf::world::rng::WorldRng;
use rlhf::world::{DemoConfig, Split, World};

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_reward_bert_trunk", name)
}

fn world_vocab() -> WordPiece {
    char_wordpiece(&rlhf::world::charset()).unwrap()
}

fn tiny_config(vocab: usize, layers: usize) -> BertConfig {
    BertConfig::from_json_str(&format!(
        r#"{{"vocab_size": {vocab}, "hidden_size": 32, "num_hidden_layers": {layers}, "num_attention_heads": 4,
            "intermediate_size": 64, "max_position_embeddings": 96}}"#
    ))
    .unwrap()
}

/// A tiny random masked-LM BERT folder with the world's character vocabulary, as `rlhf pretrain --model
/// bert` writes one.
fn tiny_bert(dir: &Path) -> PathBuf {
    let wp = world_vocab();
    let out = dir.join("bert");
    BertForMaskedLM::new(&tiny_config(wp.vocab_size(), 2), &mut Rng::new(1)).unwrap().save_pretrained(&out).unwrap();
    save_wordpiece(&wp, &out).unwrap();
    out
}

/// A tiny random GPT reward-model folder with the world chat tokenizer.
fn tiny_gpt_reward(dir: &Path) -> PathBuf {
    let tok = ChatTokenizer::for_world();
    let mut config = GptConfig::preset("char-tiny").unwrap();
    (config.n_layer, config.n_head, config.n_embd, config.block_size, config.vocab_size) = (1, 2, 32, 96, tok.vocab_size());
    let policy = Gpt::new(config, &mut Rng::new(1)).unwrap();
    let sft = dir.join("sft");
    save_hf_dir(&policy, &sft).unwrap();
    save_tokenizer_to_dir(tok.inner(), &sft).unwrap();
    let out = dir.join("gpt_reward");
    save_reward_dir(&reward_model_from_policy(&policy, &mut Rng::new(2)).unwrap(), &out).unwrap();
    save_tokenizer_to_dir(tok.inner(), &out).unwrap();
    out
}

/// `n` world prompts with K mixed answers ranked by the noiseless scripted labeler, as a rankings file.
fn world_rankings(dir: &Path, n: usize, k: usize) -> PathBuf {
    let mut labeler = ScriptedWorldLabeler::new(0.0, 0);
    let mix = DemoConfig { wrong_fraction: 0.3, rambling_fraction: 0.3, curt_fraction: 0.3 };
    let mut rng = WorldRng::new(5);
    let mut text = String::new();
    for (i, p) in World::new(1).prompts(Split::Reward, n).into_iter().enumerate() {
        let responses: Vec<String> = (0..k).map(|_| demo_response(&p.task, &mix, &mut rng).0).collect();
        let request = RankRequest { prompt: &p.text, messages: None, responses: &responses, position: i + 1, total: n };
        let Verdict::Ranked(ranking) = labeler.rank(&request).unwrap() else { panic!("the scripted labeler always ranks") };
        text.push_str(&serde_json::to_string(&LabeledRanking::new(&p.text, responses, &ranking, &labeler.name())).unwrap());
        text.push('\n');
    }
    let path = dir.join("rankings.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is the summary JSON")
}

fn failure(out: Output) -> String {
    assert!(!out.status.success(), "expected a failure; stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn train(base: &Path, rankings: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "reward", "train", "--base", base.to_str().unwrap(), "--rankings", rankings.to_str().unwrap(), "--out", out.to_str().unwrap(),
        "--threads", "1", "--warmup", "2",
    ];
    for (flag, value) in [("--batch-prompts", "4"), ("--lr", "1e-3")] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    rlhf(&args)
}

/// `rlhf reward score` on `{"prompt", "responses"}` lines of `records`: the scores, flat.
fn score_cli(model: &Path, records: &[LabeledRanking], dir: &Path) -> Vec<f32> {
    let input: String = records.iter().map(|r| serde_json::json!({"prompt": r.prompt, "responses": r.responses}).to_string() + "\n").collect();
    let path = dir.join("answers.jsonl");
    std::fs::write(&path, input).unwrap();
    let out = rlhf(&["reward", "score", "--model", model.to_str().unwrap(), "--input", path.to_str().unwrap(), "--threads", "1", "--batch", "5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap() as f32).collect::<Vec<_>>()
        })
        .collect()
}

fn library_scores(model: &Path, records: &[LabeledRanking]) -> Vec<f32> {
    let scorer = RewardScorer::load(model).unwrap();
    let items: Vec<(Conversation, String)> = records.iter().flat_map(|r| r.responses.iter().map(|a| (r.conversation(), a.clone()))).collect();
    scorer.score(&items, 7).unwrap()
}

#[test]
fn a_bert_reward_model_learns_from_the_command_line_and_scores() {
    let dir = temp_dir("learns");
    let base = tiny_bert(&dir);
    let rankings = world_rankings(&dir, 200, 4);
    let out = dir.join("run");
    let summary = ok(&train(&base, &rankings, &out, &["--epochs", "2", "--batch-prompts", "8", "--lr", "3e-3", "--eval-every", "10", "--timed-prompts", "4"]));
    let extra = &summary["extra"];
    assert_eq!(summary["stage"], "reward");
    // 200 prompts, none with all answers tied; 15% held out by prompt: 30 held out, 170 to train in
    // batches of 8 -> 22 steps an epoch.
    assert_eq!(extra["skipped_all_tied"], 0);
    assert_eq!((extra["held_out_prompts"].as_u64(), extra["train_prompts"].as_u64(), summary["steps"].as_u64()), (Some(30), Some(170), Some(44)));
    for f in ["metrics.jsonl", "loss.svg", "accuracy.svg", "summary.json", "checkpoint/checkpoint.json", "model/config.json", "model/model.safetensors", "model/vocab.txt"] {
        assert!(out.join(f).exists(), "{f} is missing");
    }
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap()).unwrap();
    assert_eq!((config["architectures"][0].as_str(), config["model_type"].as_str(), config["num_labels"].as_u64()), (Some("BertForSequenceClassification"), Some("bert"), Some(1)));
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let losses: Vec<f64> = records.iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect();
    assert_eq!(losses.len(), 44);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&losses[losses.len() - 10..]) < 0.9 * mean(&losses[..10]), "the training loss did not fall: {losses:?}");
    let before = extra["held_out_accuracy_before"].as_f64().unwrap();
    let after = extra["held_out_accuracy"].as_f64().unwrap();
    eprintln!("held-out pairwise accuracy {after:.3} (before training {before:.3})");
    // A random 2-layer BERT on 169 prompts learns the style cues first (the labeler ranks correctness
    // above them): above chance on 30 held-out prompts (~160 pairs), and above the untrained head.
    assert!(after > 0.55 && after > before, "held-out pairwise accuracy {after} (before training {before})");
    assert!(extra["batching"]["kwise_epoch_s"].as_f64().unwrap() > 0.0);
    assert!(extra["elo"]["players"].as_array().unwrap().len() >= 2);

    // Scoring from the command line agrees with the library, and the SFT answers average 0 after normalisation.
    let ranked: Vec<LabeledRanking> = rlhf::labeling::load_labeled(&rankings).unwrap();
    let cli = score_cli(&out, &ranked, &dir);
    let lib = library_scores(&out, &ranked);
    assert_eq!(cli.len(), 800);
    for (i, (a, b)) in cli.iter().zip(&lib).enumerate() {
        assert!((a - b).abs() < 1e-5, "answer {i}: CLI {a} vs library {b}");
    }
    let m = cli.iter().map(|&s| s as f64).sum::<f64>() / cli.len() as f64;
    assert!(m.abs() < 1e-3, "mean score of the SFT answers after normalisation: {m} ({} normalised)", extra["normalized_answers"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn padding_does_not_change_the_score_read_at_cls() {
    let wp = world_vocab();
    let mut rng = Rng::new(3);
    let model = bert_reward_model(BertModel::new(&tiny_config(wp.vocab_size(), 2), false, &mut rng).unwrap(), &mut rng).unwrap();
    let enc = BertRowEncoder::new(wp).unwrap();
    let answers: Vec<String> = ["Sure! 2 + 3 = 5.", "5", "Glad to help! Let me think about it step by step. 2 + 3 = 6.", "Of course! 5."]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (prompt, rows) = enc.encode(&Conversation::from_prompt("What is 2 plus 3?"), &answers, 96);
    let example = KwiseExample { prompt: prompt.clone(), answers: rows.clone(), ranking: Ranking::from_order(&[0, 3, 1, 2]) };
    let batch = pack_kwise(std::slice::from_ref(&example), enc.pad_id(), Padding::Right, Some(96)).unwrap();
    assert!(batch.lengths.iter().any(|&l| l < batch.input_ids.shape()[1]), "the batch must hold padding");
    let alone = |i: usize| -> f32 {
        let mut ids: Vec<i64> = prompt.iter().chain(&rows[i]).map(|&t| t as i64).collect();
        let n = ids.len();
        let t = Tensor::from_vec(std::mem::take(&mut ids), &[1, n]).unwrap();
        let mask = Tensor::from_vec(vec![1i64; n], &[1, n]).unwrap();
        let last = Tensor::from_vec(vec![n as i64 - 1], &[1]).unwrap();
        model.rewards(&t, &mask, &last).unwrap().tensor().to_vec::<f32>().unwrap()[0]
    };
    let singles: Vec<f32> = (0..answers.len()).map(alone).collect();
    // With the graph (training) and without it (scoring: BERT's inference path).
    let graph = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    let fast = {
        let _guard = no_grad();
        model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap()
    };
    for i in 0..answers.len() {
        assert!((graph[i] - singles[i]).abs() < 1e-5, "row {i}: padded {} vs alone {}", graph[i], singles[i]);
        assert!((fast[i] - singles[i]).abs() < 1e-5, "row {i}: padded (no grad) {} vs alone {}", fast[i], singles[i]);
    }
    // The score at [CLS] does see the answer (distinct answers, distinct scores), and BERT refuses left padding.
    assert!((singles[0] - singles[2]).abs() > 1e-6, "the score does not depend on the answer: {singles:?}");
    let left = pack_kwise(&[example], enc.pad_id(), Padding::Left, Some(96)).unwrap();
    assert!(model.rewards_for(&left).unwrap_err().to_string().contains("right padding"));
    // The gradient reaches the encoder through the [CLS] read.
    let (loss, _) = model.loss(&batch).unwrap();
    loss.backward().unwrap();
    let grad = model.trunk.bert.layers[0].named_parameters()[0].1.grad().expect("a gradient in the first block");
    assert!(grad.to_vec::<f32>().unwrap().iter().any(|&g| g != 0.0));
}

#[test]
fn a_stopped_bert_run_resumes_bit_for_bit() {
    let dir = temp_dir("resume");
    let base = tiny_bert(&dir);
    let rankings = world_rankings(&dir, 30, 4);
    let (whole, halves) = (dir.join("whole"), dir.join("halves"));
    let common = ["--epochs", "2", "--eval-every", "4", "--timed-prompts", "0"];
    let a = ok(&train(&base, &rankings, &whole, &common));
    let b1 = ok(&train(&base, &rankings, &halves, &[&common[..], &["--stop-after", "5"]].concat()));
    assert_eq!((b1["steps"].as_u64(), b1["interrupted"].as_bool()), (Some(5), Some(true)));
    let b2 = ok(&train(&base, &rankings, &halves, &[&common[..], &["--resume"]].concat()));
    assert_eq!(b2["steps"], a["steps"]);
    let wa = std::fs::read(whole.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(halves.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "resumed weights differ from the uninterrupted run's");
    assert_eq!(a["extra"]["held_out_accuracy"], b2["extra"]["held_out_accuracy"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reward_score_reads_gpt_and_bert_folders() {
    let dir = temp_dir("score");
    let ranked: Vec<LabeledRanking> = rlhf::labeling::load_labeled(world_rankings(&dir, 6, 3)).unwrap();
    let gpt = tiny_gpt_reward(&dir);
    let bert = dir.join("bert_reward");
    let wp = world_vocab();
    let mut rng = Rng::new(4);
    let model = bert_reward_model(BertModel::new(&tiny_config(wp.vocab_size(), 1), false, &mut rng).unwrap(), &mut rng).unwrap();
    rlhf::reward::save_bert_reward_dir(&model, &wp, &bert).unwrap();
    for (kind, folder) in [("GPT", &gpt), ("BERT", &bert)] {
        let cli = score_cli(folder, &ranked, &dir);
        let lib = library_scores(folder, &ranked);
        assert_eq!(cli.len(), 18, "{kind}");
        assert!(cli.iter().all(|s| s.is_finite()));
        for (i, (a, b)) in cli.iter().zip(&lib).enumerate() {
            assert!((a - b).abs() < 1e-5, "{kind} answer {i}: CLI {a} vs library {b}");
        }
        assert!(cli.iter().any(|&s| (s - cli[0]).abs() > 1e-6), "{kind}: every answer scored the same");
    }
    // The BERT folder scores its answers as the model in memory does ([CLS] prompt [SEP] answer [SEP]).
    let enc = BertRowEncoder::new(wp).unwrap();
    let r = &ranked[0];
    let (prompt, rows) = enc.encode(&r.conversation(), &r.responses, 96);
    let batch = pack_kwise(&[KwiseExample { prompt, answers: rows, ranking: Ranking::from_order(&[0, 1, 2]) }], 0, Padding::Right, None).unwrap();
    let direct = model.rewards_for(&batch).unwrap().tensor().to_vec::<f32>().unwrap();
    let loaded = library_scores(&bert, &ranked[..1]);
    for (a, b) in direct.iter().zip(&loaded) {
        assert!((a - b).abs() < 1e-5, "in memory {a} vs loaded {b}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_bases_fail_with_a_message() {
    let dir = temp_dir("errors");
    let rankings = world_rankings(&dir, 10, 3);
    let t5 = dir.join("t5");
    std::fs::create_dir_all(&t5).unwrap();
    std::fs::write(t5.join("config.json"), r#"{"model_type": "t5", "d_model": 8}"#).unwrap();
    let e = failure(train(&t5, &rankings, &dir.join("a"), &[]));
    assert!(e.contains("neither a GPT") && e.contains("t5"), "{e}");
    // A BERT folder without its vocabulary.
    let bert = tiny_bert(&dir);
    std::fs::remove_file(bert.join("vocab.txt")).unwrap();
    assert!(failure(train(&bert, &rankings, &dir.join("b"), &[])).contains("vocab.txt"));
    let bert = tiny_bert(&dir);
    assert!(failure(train(&bert, &rankings, &dir.join("c"), &["--trunk-layers", "3"])).contains("only 2 layers"));
    assert!(failure(train(&bert, &rankings, &dir.join("d"), &["--train-layers", "3"])).contains("--train-layers 3"));
    // A BERT reward folder where a GPT one is needed is an error that says so.
    let out = dir.join("run");
    ok(&train(&bert, &rankings, &out, &["--timed-prompts", "0"]));
    let e = rlhf::reward::load_reward_dir(out.join("model")).unwrap_err().to_string();
    assert!(e.contains("a BERT reward model") && e.contains("RewardScorer::load"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn train_layers_and_trunk_layers_on_bert() {
    let dir = temp_dir("freeze");
    let base = tiny_bert(&dir);
    let rankings = world_rankings(&dir, 20, 3);
    let out = dir.join("run");
    ok(&train(&base, &rankings, &out, &["--timed-prompts", "0", "--train-layers", "1"]));
    let before = BertModel::from_pretrained(&base).unwrap();
    let (after, _) = load_bert_reward_dir(out.join("model")).unwrap();
    let values = |m: &dyn Module| -> Vec<Vec<f32>> { m.parameters().iter().map(|p| p.value().to_vec::<f32>().unwrap()).collect() };
    assert_eq!(values(&after.trunk.bert.embeddings), values(&before.embeddings), "the embeddings are frozen");
    assert_eq!(values(&after.trunk.bert.layers[0]), values(&before.layers[0]), "block 0 of 2 is frozen");
    assert_ne!(values(&after.trunk.bert.layers[1]), values(&before.layers[1]), "the last block trains");
    // A reward model smaller than its base: only the first block kept.
    let small = dir.join("small");
    ok(&train(&base, &rankings, &small, &["--timed-prompts", "0", "--trunk-layers", "1"]));
    let (one, _) = load_bert_reward_dir(small.join("model")).unwrap();
    assert_eq!((one.trunk.bert.layers.len(), one.trunk.bert.config.num_hidden_layers), (1, 1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pg_and_ppo_optimise_a_bert_reward_model_read_from_text() {
    let dir = temp_dir("rl");
    tiny_gpt_reward(&dir);
    let sft = dir.join("sft");
    let wp = world_vocab();
    let mut rng = Rng::new(8);
    let model = bert_reward_model(BertModel::new(&tiny_config(wp.vocab_size(), 1), false, &mut rng).unwrap(), &mut rng).unwrap();
    let bert = dir.join("bert_reward");
    rlhf::reward::save_bert_reward_dir(&model, &wp, &bert).unwrap();
    let prompts = dir.join("prompts.txt");
    std::fs::write(&prompts, "Hi\nWhat is 2 plus 3?\nSpell cat.\nGo on.\n").unwrap();
    let scorer = RewardScorer::load(&bert).unwrap();
    for stage in ["pg", "ppo"] {
        let out = dir.join(stage);
        let summary = ok(&rlhf(&[
            stage, "--policy", sft.to_str().unwrap(), "--reward", bert.to_str().unwrap(), "--prompts", prompts.to_str().unwrap(),
            "--out", out.to_str().unwrap(), "--iterations", "2", "--batch-size", "4", "--minibatch-size", "2", "--max-new-tokens", "8",
            "--samples", "4", "--lr", "1e-3", "--threads", "1",
        ]));
        assert_eq!(summary["iterations"], 2, "{stage}");
        assert!(out.join("model/model.safetensors").exists());
        // PPO's critic starts from the policy's trunk (a GPT critic, saved beside the model).
        assert_eq!(out.join("critic/config.json").exists(), stage == "ppo");
        // The iteration's mean reward is the BERT model's mean score of its answers, read from their text.
        let metrics: Vec<serde_json::Value> =
            std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let first = metrics.iter().find(|m| m["iteration"] == 1).expect("iteration 1 in metrics.jsonl");
        let samples: Vec<(Conversation, String)> = std::fs::read_to_string(out.join("samples.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["iteration"] == 1)
            .map(|v| (Conversation::from_prompt(v["prompt"].as_str().unwrap()), v["answer"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(samples.len(), 4, "{stage}: every answer of iteration 1 is in samples.jsonl");
        let scores = scorer.score(&samples, 8).unwrap();
        let mean = scores.iter().sum::<f32>() / 4.0;
        let logged = first["reward_mean"].as_f64().unwrap() as f32;
        assert!((mean - logged).abs() < 1e-4, "{stage}: logged reward mean {logged} vs the BERT scores' mean {mean} ({scores:?})");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Hugging Face's `BertForSequenceClassification` state dict for this config, name and shape.
fn hf_sequence_classification_tensors(c: &BertConfig) -> Vec<(String, Vec<usize>)> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let mut t: Vec<(String, Vec<usize>)> = vec![
        ("bert.embeddings.word_embeddings.weight".into(), vec![c.vocab_size, h]),
        ("bert.embeddings.position_embeddings.weight".into(), vec![c.max_position_embeddings, h]),
        ("bert.embeddings.token_type_embeddings.weight".into(), vec![c.type_vocab_size, h]),
        ("bert.embeddings.LayerNorm.weight".into(), vec![h]),
        ("bert.embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for l in 0..c.num_hidden_layers {
        let p = format!("bert.encoder.layer.{l}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", i, h),
            ("output.dense", h, i),
        ] {
            t.push((format!("{p}.{name}.weight"), vec![out, inp]));
            t.push((format!("{p}.{name}.bias"), vec![out]));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((format!("{p}.{ln}.weight"), vec![h]));
            t.push((format!("{p}.{ln}.bias"), vec![h]));
        }
    }
    t.push(("bert.pooler.dense.weight".into(), vec![h, h]));
    t.push(("bert.pooler.dense.bias".into(), vec![h]));
    t.push(("classifier.weight".into(), vec![1, h]));
    t.push(("classifier.bias".into(), vec![1]));
    t.sort();
    t
}

#[test]
fn the_bert_reward_folder_is_hugging_faces_bert_for_sequence_classification() {
    let dir = temp_dir("hf");
    let wp = world_vocab();
    let config = tiny_config(wp.vocab_size(), 2);
    let mut rng = Rng::new(6);
    let model = bert_reward_model(BertModel::new(&config, false, &mut rng).unwrap(), &mut rng).unwrap();
    model.add_to_bias(0.25).unwrap();
    let folder = dir.join("rm");
    rlhf::reward::save_bert_reward_dir(&model, &wp, &folder).unwrap();
    let saved = engine::io::safetensors::load(folder.join("model.safetensors")).unwrap();
    let mut ours: Vec<(String, Vec<usize>)> = saved.iter().map(|(n, t)| (n.clone(), t.shape().to_vec())).collect();
    ours.sort();
    assert_eq!(ours, hf_sequence_classification_tensors(&config));
    assert_eq!(hf_parameters(&model).len(), ours.len());
    // The round trip keeps every weight.
    let (back, _) = load_bert_reward_dir(&folder).unwrap();
    for ((n, a), (_, b)) in model.named_parameters().iter().zip(back.named_parameters()) {
        assert_eq!(a.value().to_vec::<f32>().unwrap(), b.value().to_vec::<f32>().unwrap(), "{n}");
    }

    // transformers, when installed, computes the same scores from the folder (unpadded and right-padded).
    let probe = Command::new("python3").args(["-c", "import torch, transformers"]).output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        eprintln!("SKIPPED: the transformers comparison needs python3 with torch and transformers");
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    let enc = BertRowEncoder::new(wp).unwrap();
    let answers: Vec<String> = ["Sure! 7 is bigger.", "7", "Glad to help! The answer is 7, because 7 > 4."].iter().map(|s| s.to_string()).collect();
    let (prompt, rows) = enc.encode(&Conversation::from_prompt("Which is bigger, 4 or 7?"), &answers, 96);
    let ids: Vec<Vec<u32>> = rows.iter().map(|a| prompt.iter().chain(a).copied().collect()).collect();
    let batch = pack_kwise(&[KwiseExample { prompt, answers: rows, ranking: Ranking::from_order(&[0, 2, 1]) }], enc.pad_id(), Padding::Right, None).unwrap();
    let ours: Vec<f32> = model.rewards_for(&batch).unwrap().tensor().to_vec().unwrap();
    let script = r#"
import json, sys, torch
from transformers import BertForSequenceClassification
model = BertForSequenceClassification.from_pretrained(sys.argv[1]).eval()
rows = json.loads(sys.argv[2])
with torch.no_grad():
    alone = [model(input_ids=torch.tensor([r])).logits[0, 0].item() for r in rows]
    t = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (t - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (t - len(r)) for r in rows])
    padded = model(input_ids=ids, attention_mask=mask).logits[:, 0].tolist()
print(json.dumps({"alone": alone, "padded": padded}))
"#;
    let out = Command::new("python3").args(["-c", script, folder.to_str().unwrap(), &serde_json::to_string(&ids).unwrap()]).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["alone", "padded"] {
        let t: Vec<f64> = theirs[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (i, (a, b)) in ours.iter().zip(&t).enumerate() {
            assert!((*a as f64 - b).abs() < 1e-4, "{key} row {i}: ours {a} vs transformers {b}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
