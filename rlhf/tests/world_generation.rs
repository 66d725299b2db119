//! The world's generators: determinism, splits, the demonstration mix, the corpus.
use rlhf::world::{charset, DemoConfig, Family, Split, Style, Task, World};
use std::collections::HashSet;

#[test]
fn same_seed_same_data_different_seed_different_data() {
    let (a, b, c) = (World::new(7), World::new(7), World::new(8));
    let cfg = DemoConfig::default();
    assert_eq!(a.sft_demos(200, &cfg), b.sft_demos(200, &cfg));
    assert_eq!(a.prompts(Split::Reward, 100), b.prompts(Split::Reward, 100));
    assert_eq!(a.pretraining_corpus(5_000), b.pretraining_corpus(5_000));
    assert_ne!(a.sft_demos(200, &cfg), c.sft_demos(200, &cfg));
    assert_ne!(a.prompts(Split::Eval, 100), c.prompts(Split::Eval, 100));
    assert_ne!(a.pretraining_corpus(5_000), c.pretraining_corpus(5_000));
}

#[test]
fn a_split_does_not_depend_on_how_many_prompts_were_drawn() {
    let w = World::new(3);
    let short = w.prompts(Split::Ppo, 50);
    let long = w.prompts(Split::Ppo, 300);
    assert_eq!(short[..], long[..50]);
}

#[test]
fn sft_and_held_out_prompts_are_disjoint_and_each_split_is_pure() {
    let w = World::new(11);
    let mut texts: Vec<HashSet<String>> = Vec::new();
    for split in Split::ALL {
        let prompts = w.prompts(split, 1_500);
        assert_eq!(prompts.len(), 1_500, "{split:?}");
        let set: HashSet<String> = prompts.iter().map(|p| p.text.clone()).collect();
        assert!(prompts.iter().all(|p| Split::of(&p.text) == split));
        texts.push(set);
    }
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            let common = texts[i].intersection(&texts[j]).count();
            assert_eq!(common, 0, "{:?} and {:?} share {common} prompts", Split::ALL[i], Split::ALL[j]);
        }
    }
    // Disjoint across seeds too: the split is a function of the text alone.
    let other_sft: HashSet<String> = World::new(12).prompts(Split::Sft, 1_500).into_iter().map(|p| p.text).collect();
    assert_eq!(other_sft.intersection(&texts[1]).count(), 0);
    // Demonstrations use SFT prompts only.
    let demos = w.sft_demos(500, &DemoConfig::default());
    assert!(demos.iter().all(|d| Split::of(&d.prompt) == Split::Sft));
}

#[test]
fn the_task_mix_does_not_drift_with_the_number_of_prompts() {
    // Counting asks about a letter of the word two times in three. Drawing distinct texts only once made
    // 80% of 3,000 reward prompts ask about an absent letter; drawing from the distribution keeps 2/3.
    let w = World::new(1337);
    for split in [Split::Reward, Split::Sft] {
        let prompts = w.prompts(split, 7_000);
        let present = |ps: &[rlhf::world::Prompt]| {
            let counting: Vec<_> = ps.iter().filter_map(|p| match &p.task {
                Task::Counting(c) => Some(c.count() > 0),
                _ => None,
            }).collect();
            counting.iter().filter(|&&x| x).count() as f64 / counting.len() as f64
        };
        let (early, all) = (present(&prompts[..700]), present(&prompts));
        // The split realises its own share of each sub-space (0.62 for Reward), not exactly 2/3.
        assert!((all - 2.0 / 3.0).abs() < 0.08, "{split:?}: {all:.3} of counting prompts ask about a present letter");
        assert!((early - all).abs() < 0.12, "{split:?}: {early:.3} in the first 700, {all:.3} in 7,000");
        for family in Family::ALL {
            let n = prompts.iter().filter(|p| p.task.family() == family).count();
            assert_eq!(n, 1_000, "{family:?}");
        }
    }
}

#[test]
fn evaluation_prompts_are_distinct() {
    let prompts = World::new(1337).distinct_prompts(Split::Eval, 300);
    assert_eq!(prompts.len(), 300);
    let texts: HashSet<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts.len(), 300);
    assert!(prompts.iter().all(|p| Split::of(&p.text) == Split::Eval));
    assert_eq!(rlhf::evaluate::eval_prompts(1337, 300), prompts);
}

#[test]
fn every_family_appears_and_prompts_read_back_to_their_task() {
    let w = World::new(5);
    let prompts = w.prompts(Split::Sft, 700);
    for family in Family::ALL {
        let n = prompts.iter().filter(|p| p.task.family() == family).count();
        assert!(n >= 50, "{family:?}: {n}");
    }
    for p in &prompts {
        assert_eq!(Task::from_prompt(&p.text).as_ref(), Some(&p.task), "{}", p.text);
        for phrasing in p.task.all_phrasings() {
            assert_eq!(Task::from_prompt(&phrasing).as_ref(), Some(&p.task), "{phrasing}");
        }
    }
}

#[test]
fn the_stated_wrong_fraction_and_style_mix_hold() {
    let w = World::new(21);
    for cfg in [DemoConfig::default(), DemoConfig { wrong_fraction: 0.4, rambling_fraction: 0.3, curt_fraction: 0.1 }] {
        let demos = w.sft_demos(4_000, &cfg);
        let n = demos.len() as f64;
        let frac = |f: &dyn Fn(&rlhf::world::Demo) -> bool| demos.iter().filter(|d| f(d)).count() as f64 / n;
        let wrong = frac(&|d| !d.correct);
        let rambling = frac(&|d| d.style == Style::Rambling);
        let curt = frac(&|d| d.style == Style::Curt);
        // Binomial standard deviation at n = 4000 is below 0.008; 0.03 is about four of them.
        assert!((wrong - cfg.wrong_fraction).abs() < 0.03, "wrong {wrong} vs {}", cfg.wrong_fraction);
        assert!((rambling - cfg.rambling_fraction).abs() < 0.03, "rambling {rambling}");
        assert!((curt - cfg.curt_fraction).abs() < 0.03, "curt {curt}");
        // The labels are the truth: the checker agrees with every one of them.
        for d in &demos {
            let g = rlhf::world::grade(&d.task, &d.response);
            assert_eq!(g.correct, d.correct, "{} -> {}", d.prompt, d.response);
            assert_eq!(g.polite, d.style != Style::Curt, "{} -> {}", d.prompt, d.response);
        }
    }
    let none_wrong = w.sft_demos(300, &DemoConfig { wrong_fraction: 0.0, ..DemoConfig::default() });
    assert!(none_wrong.iter().all(|d| d.correct));
}

#[test]
fn corpus_states_every_fact_and_fits_a_char_vocabulary() {
    let corpus = World::new(0).pretraining_corpus(60_000);
    assert!(corpus.len() >= 60_000 && corpus.len() < 61_000, "{}", corpus.len());
    assert!(World::is_world_text(&corpus));
    for (country, city) in rlhf::world::tables::CAPITALS {
        assert!(corpus.contains(&format!("capital of {country} is {city}")) || corpus.contains(&format!("{city} is the capital of {country}")), "{country}");
    }
    for f in rlhf::world::tables::CHOICE_FACTS {
        assert!(corpus.contains(&format!("{} The answer is {}.", f.question, f.answer)));
    }
    assert!(corpus.contains(" = ") && corpus.contains(" reversed is ") && corpus.contains(" is spelled "));
    // No prompt text of any split is in the corpus.
    let w = World::new(0);
    for split in Split::ALL {
        for p in w.prompts(split, 200) {
            assert!(!corpus.contains(&p.text), "{}", p.text);
        }
    }
    let vocab = models::tokenizer::CharTokenizer::from_corpus(&charset()).unwrap();
    assert_eq!(vocab.vocab_size(), 96);
    assert!(vocab.encode(&corpus).is_ok());
    for d in w.sft_demos(500, &DemoConfig::default()) {
        assert!(World::is_world_text(&d.prompt) && World::is_world_text(&d.response));
    }
}

#[test]
fn print_samples() {
    let w = World::new(42);
    for d in w.sft_demos(10, &DemoConfig::default()) {
        println!("[{} {} correct={}] {} => {}", d.task.family().name(), d.style.name(), d.correct, d.prompt, d.response);
    }
    println!("{}", &w.pretraining_corpus(600));
}

#[test]
fn split_proportions_and_pinned_hashes() {
    // Distinct texts from a neutral stream, bucketed by the split rule.
    let mut rng = rlhf::world::rng::WorldRng::new(1234);
    let mut texts = HashSet::new();
    while texts.len() < 20_000 {
        let family = Family::ALL[rng.below(7)];
        let task = Task::generate(family, &mut rng);
        texts.insert(task.phrase(&mut rng));
    }
    let n = texts.len() as f64;
    for (split, want) in [(Split::Sft, 0.55), (Split::Reward, 0.15), (Split::Ppo, 0.15), (Split::Eval, 0.15)] {
        let got = texts.iter().filter(|t| Split::of(t) == split).count() as f64 / n;
        assert!((got - want).abs() < 0.02, "{split:?}: {got}");
    }
    // The split of saved data depends on this hash: it must never change between machines or releases.
    assert_eq!(rlhf::world::rng::hash_str(""), PINNED_EMPTY);
    assert_eq!(rlhf::world::rng::hash_str("What is 47 plus 38?"), PINNED_PROMPT);
}

// FNV-1a (64-bit) then one SplitMix64 step, computed independently in Python from the published constants.
const PINNED_EMPTY: u64 = 0xc381_7c01_6ba4_ff30;
const PINNED_PROMPT: u64 = 0x18f7_88c1_fb8c_0ce9;
