//! The checker and the scripted labeler.
use rlhf::world::{canonical_answer, grade, grade_prompt, pairwise_agreement, rank, ScriptedLabeler, Split, Task, World};
use rlhf::world::rng::WorldRng;

fn all_prompts() -> Vec<rlhf::world::Prompt> {
    let w = World::new(99);
    Split::ALL.iter().flat_map(|&s| w.prompts(s, 400)).collect()
}

#[test]
fn canonical_answers_are_all_correct_polite_and_concise() {
    for p in all_prompts() {
        let answer = canonical_answer(&p.task);
        let g = grade(&p.task, &answer);
        assert!(g.correct && g.polite && g.concise, "{} -> {answer}: {g:?}", p.text);
        assert_eq!(g.score, 3.0);
        assert_eq!(grade_prompt(&p.text, &answer), Some(g), "{}", p.text);
    }
}

#[test]
fn wrong_answers_are_never_correct() {
    let mut rng = WorldRng::new(5);
    for p in all_prompts() {
        for _ in 0..3 {
            let wrong = p.task.wrong_reply(&mut rng);
            for text in [format!("Sure! {}", wrong.statement), wrong.bare.clone()] {
                let g = grade(&p.task, &text);
                assert!(!g.correct, "{} -> {text}", p.text);
                assert!(g.score < 2.0);
            }
        }
    }
}

#[test]
fn corrupted_and_free_form_answers() {
    let t = |s: &str| Task::from_prompt(s).unwrap();
    let add = t("What is 47 plus 38?");
    assert!(add.judge("47 plus 38 makes 85"));
    assert!(add.judge("I believe it is 85!"));
    assert!(!add.judge("85 or maybe 86"));
    assert!(!add.judge("eighty-five"));
    assert!(!grade(&add, "").correct);
    let cmp = t("Which is smaller, 52 or 37?");
    assert!(cmp.judge("37 is smaller than 52."));
    assert!(!cmp.judge("52 is not smaller than 37."));
    let rev = t("Reverse the word apple.");
    assert!(rev.judge("ELPPA"));
    assert!(!rev.judge("apple"));
    assert!(!rev.judge("elpa"));
    let spell = t("How do you spell apple?");
    assert!(spell.judge("A P P L E"));
    assert!(spell.judge("It is a-p-p-l-e."));
    assert!(!spell.judge("a-p-l-e"));
    let count = t("How many p's are in apple?");
    assert!(count.judge("There are 2."));
    assert!(!count.judge("There are 3."));
    let mc = t("Who invented the computer? A. von Neumann B. Liu Bo C. Dunjiao");
    assert!(mc.judge("A"));
    assert!(mc.judge("(A) von Neumann"));
    assert!(mc.judge("It was von Neumann."));
    assert!(mc.judge("A good question! The answer is A."), "article 'A' is not an option letter");
    assert!(!mc.judge("B. Liu Bo"));
    assert!(!mc.judge("Liu Bo, not von Neumann"));
    let cap = t("Which city is the capital of Japan?");
    assert!(cap.judge("tokyo"));
    assert!(!cap.judge("Tokyo or Kyoto or Paris"));
    let opp = t("What is the opposite of hot?");
    assert!(opp.judge("The opposite of hot is cold."));
    assert!(!opp.judge("warm"));
    assert!(!opp.judge("cold or dry"));
    let sort = t("Put 15, 3, 8 in decreasing order.");
    assert!(sort.judge("Sure! 15, 8, 3."));
    assert!(!sort.judge("3, 8, 15"));
    assert!(!sort.judge("15, 3, 8"));
    assert!(grade_prompt("Write me a poem.", "no").is_none());
}

#[test]
fn politeness_and_concision_are_graded() {
    let task = Task::from_prompt("What is 47 plus 38?").unwrap();
    let polite = grade(&task, "Sure! 47 + 38 = 85.");
    let curt = grade(&task, "85");
    let rude = grade(&task, "Obviously 85. Sure.");
    let rambling = grade(&task, &format!("{} 47 + 38 = 85. I hope this helps!", "Let me think about it. ".repeat(6)));
    assert!(!curt.polite && !rude.polite && polite.polite && rambling.polite);
    assert!(curt.concise && !rambling.concise);
    assert!(polite.score > rambling.score && polite.score > curt.score);
    assert!(curt.score > grade(&task, "Sure! 47 + 38 = 84.").score);
}

#[test]
fn rank_is_best_to_worst_with_ties_in_given_order() {
    let task = Task::from_prompt("What is the capital of Peru?").unwrap();
    let answers = ["Lima", "Sure! The capital of Peru is Quito.", "Sure! The capital of Peru is Lima.", "Lima"];
    assert_eq!(rank(&task, &answers), vec![2, 0, 3, 1]);
    let labeler = ScriptedLabeler::new(0.0, 0);
    assert_eq!(labeler.rank("What is the capital of Peru?", &answers), Some(vec![2, 0, 3, 1]));
}

#[test]
fn noise_lowers_self_agreement_monotonically_and_is_deterministic() {
    let w = World::new(4);
    let mut rng = WorldRng::new(17);
    let items: Vec<(String, Vec<String>)> = w
        .prompts(Split::Reward, 300)
        .into_iter()
        .map(|p| {
            let answers: Vec<String> = (0..6)
                .map(|_| rlhf::world::demos::demo_response(&p.task, &rlhf::world::DemoConfig { wrong_fraction: 0.5, ..Default::default() }, &mut rng).0)
                .collect();
            (p.text, answers)
        })
        .collect();
    let agreement = |noise: f64| {
        let (a, b) = (ScriptedLabeler::new(noise, 1), ScriptedLabeler::new(noise, 2));
        let sum: f64 = items.iter().map(|(p, ans)| pairwise_agreement(&a.rank(p, ans).unwrap(), &b.rank(p, ans).unwrap())).sum();
        sum / items.len() as f64
    };
    let mut last = 1.01;
    for noise in [0.0, 0.1, 0.2, 0.3, 0.5, 0.8] {
        let ag = agreement(noise);
        println!("noise {noise}: self-agreement {ag:.3}");
        assert!(ag < last, "agreement should fall with noise");
        last = ag;
    }
    assert_eq!(agreement(0.0), 1.0);
    // Same labeler, same content: same ranking, whatever the order the items come in.
    let l = ScriptedLabeler::new(0.5, 9);
    let first: Vec<_> = items.iter().map(|(p, a)| l.rank(p, a)).collect();
    let again: Vec<_> = items.iter().rev().map(|(p, a)| l.rank(p, a)).collect();
    assert_eq!(first, again.into_iter().rev().collect::<Vec<_>>());
}
