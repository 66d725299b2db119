//! The rankings file: append, resume, a torn last line, damage reported by line.
use rlhf::data::{load_rankings, DataError, RankingRecord, RankingsFile};
use std::io::Write;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf-test-rankings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn record(i: usize) -> RankingRecord {
    RankingRecord {
        prompt: format!("What is {i} plus 1?"),
        responses: vec![format!("{}", i + 1), format!("Sure! {i} + 1 = {}.", i + 1), "no idea".into()],
        ranking: vec![1, 0, 2],
        labeler: "scripted(noise=0,seed=0)".into(),
    }
}

#[test]
fn append_then_resume_skips_ranked_prompts() {
    let path = temp("resume.jsonl");
    {
        let mut f = RankingsFile::open(&path).unwrap();
        assert!(f.records().is_empty());
        for i in 0..5 {
            f.append(&record(i)).unwrap();
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.ends_with('\n'));
    let mut f = RankingsFile::open(&path).unwrap();
    assert_eq!(f.records().len(), 5);
    assert_eq!(f.torn_line(), None);
    let todo: Vec<usize> = (0..8).filter(|&i| !f.is_ranked(&record(i).prompt)).collect();
    assert_eq!(todo, vec![5, 6, 7]);
    for i in todo {
        f.append(&record(i)).unwrap();
    }
    assert_eq!(load_rankings(&path).unwrap(), (0..8).map(record).collect::<Vec<_>>());
}

#[test]
fn a_torn_last_line_is_ignored_and_cut_before_appending() {
    let path = temp("torn.jsonl");
    {
        let mut f = RankingsFile::open(&path).unwrap();
        f.append(&record(0)).unwrap();
        f.append(&record(1)).unwrap();
    }
    // A crash in the middle of writing the third record.
    let full = serde_json::to_string(&record(2)).unwrap();
    let mut raw = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    raw.write_all(&full.as_bytes()[..full.len() / 2]).unwrap();
    drop(raw);
    assert_eq!(load_rankings(&path).unwrap().len(), 2, "readers ignore the torn line");
    let mut f = RankingsFile::open(&path).unwrap();
    assert_eq!(f.torn_line(), Some((3, full.len() / 2)));
    assert_eq!(f.records().len(), 2);
    assert!(!f.is_ranked(&record(2).prompt), "the torn record is ranked again");
    f.append(&record(2)).unwrap();
    drop(f);
    assert_eq!(load_rankings(&path).unwrap(), vec![record(0), record(1), record(2)]);
    let f = RankingsFile::open(&path).unwrap();
    assert_eq!(f.torn_line(), None);
    // A complete record that only lost its newline is torn as well.
    let exact = temp("no-newline.jsonl");
    std::fs::write(&exact, format!("{}\n{}", serde_json::to_string(&record(0)).unwrap(), serde_json::to_string(&record(1)).unwrap())).unwrap();
    assert_eq!(RankingsFile::open(&exact).unwrap().records().len(), 1);
}

#[test]
fn a_damaged_complete_line_is_an_error_with_its_line() {
    let path = temp("damaged.jsonl");
    let good = serde_json::to_string(&record(0)).unwrap();
    let bad_perm = serde_json::to_string(&RankingRecord { ranking: vec![0, 0, 1], ..record(1) }).unwrap();
    std::fs::write(&path, format!("{good}\n{{not json\n{bad_perm}\n{good}\n")).unwrap();
    let err = RankingsFile::open(&path).unwrap_err();
    let DataError::BadLines { errors, .. } = &err else { panic!("{err}") };
    assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3]);
    assert!(err.to_string().contains(&format!("{}:3: ranking [0, 0, 1] is not a permutation", path.display())), "{err}");
    assert!(load_rankings(&path).is_err());
}

#[test]
fn invalid_records_are_refused_and_not_written() {
    let path = temp("refuse.jsonl");
    let mut f = RankingsFile::open(&path).unwrap();
    assert!(f.append(&RankingRecord { ranking: vec![0, 1], ..record(0) }).is_err());
    assert!(f.append(&RankingRecord { responses: vec!["one".into()], ranking: vec![0], ..record(0) }).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn scripted_rankings_of_world_prompts_fill_a_file_and_resume() {
    use rlhf::world::{demos::demo_response, rng::WorldRng, DemoConfig, ScriptedLabeler, Split, World};
    let path = temp("scripted.jsonl");
    let labeler = ScriptedLabeler::new(0.0, 3);
    let prompts = World::new(1).prompts(Split::Reward, 30);
    let mut rng = WorldRng::new(0);
    let cfg = DemoConfig { wrong_fraction: 0.5, ..DemoConfig::default() };
    let answers: Vec<Vec<String>> = prompts.iter().map(|p| (0..4).map(|_| demo_response(&p.task, &cfg, &mut rng).0).collect()).collect();
    let run = |limit: usize| {
        let mut f = RankingsFile::open(&path).unwrap();
        let mut written = 0;
        for (p, a) in prompts.iter().zip(&answers) {
            if f.is_ranked(&p.text) || written == limit {
                continue;
            }
            f.append(&RankingRecord::scripted(&labeler, &p.text, a.clone()).unwrap()).unwrap();
            written += 1;
        }
        written
    };
    assert_eq!(run(12), 12, "interrupted after 12");
    assert_eq!(run(usize::MAX), 18, "the resumed run does the rest only");
    let records = load_rankings(&path).unwrap();
    assert_eq!(records.len(), 30);
    for (r, p) in records.iter().zip(&prompts) {
        assert_eq!(r.prompt, p.text);
        // Best first: scores never rise down the ranking.
        let scores: Vec<f64> = r.ranking.iter().map(|&i| rlhf::world::grade(&p.task, &r.responses[i]).score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert_eq!(r.to_kwise().pairs().len(), 6);
    }
}
