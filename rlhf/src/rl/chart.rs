//! `rl.svg`: the curves of a PPO or policy-gradient run, one small panel per quantity (reward ± std, KL to
//! the reference, entropy, answer length, the checker's correct fraction on world prompts, and for PPO clip
//! fraction and value loss), drawn with plotters'
//! SVG backend like `loss.svg`.
use std::path::Path;

use plotters::prelude::*;

use super::stats::RlStats;

type ChartError = Box<dyn std::error::Error + Send + Sync>;

/// One panel: a title and its (iteration, value) points.
struct Panel {
    title: &'static str,
    points: Vec<(f64, f64)>,
    band: Option<Vec<(f64, f64, f64)>>,
}

fn series(stats: &[RlStats], f: impl Fn(&RlStats) -> Option<f32>) -> Vec<(f64, f64)> {
    stats.iter().filter_map(|s| f(s).filter(|v| v.is_finite()).map(|v| (s.iteration as f64, v as f64))).collect()
}

/// Draws the panels of `stats` into an SVG at `path`.
pub fn write_rl_chart(path: &Path, title: &str, stats: &[RlStats]) -> Result<(), ChartError> {
    let mut panels = vec![
        Panel {
            title: "reward-model score (mean ± std)",
            points: series(stats, |s| Some(s.reward_mean)),
            band: Some(stats.iter().map(|s| (s.iteration as f64, (s.reward_mean - s.reward_std) as f64, (s.reward_mean + s.reward_std) as f64)).collect()),
        },
        Panel { title: "KL to the SFT model (per answer)", points: series(stats, |s| Some(s.kl)), band: None },
        Panel { title: "entropy (per token)", points: series(stats, |s| Some(s.entropy)), band: None },
        Panel { title: "answer length (tokens)", points: series(stats, |s| Some(s.answer_len)), band: None },
    ];
    if stats.iter().any(|s| s.checker_correct.is_some()) {
        panels.push(Panel { title: "checker: correct fraction (gold)", points: series(stats, |s| s.checker_correct), band: None });
    }
    if stats.iter().any(|s| s.clip_fraction.is_some()) {
        panels.push(Panel { title: "clip fraction", points: series(stats, |s| s.clip_fraction), band: None });
        panels.push(Panel { title: "value loss", points: series(stats, |s| s.value_loss), band: None });
    } else {
        panels.push(Panel { title: "baseline", points: series(stats, |s| s.baseline), band: None });
        panels.push(Panel { title: "policy loss", points: series(stats, |s| s.policy_loss), band: None });
    }
    let columns = panels.len().div_ceil(2) as u32;
    let root = SVGBackend::new(path, (360 * columns, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let areas = root.split_evenly((2, columns as usize));
    let max_x = stats.iter().map(|s| s.iteration as f64).fold(1.0, f64::max);
    for (area, panel) in areas.iter().zip(&panels) {
        let values = panel.points.iter().map(|p| p.1).chain(panel.band.iter().flatten().flat_map(|b| [b.1, b.2]));
        let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() {
            let pad = ((hi - lo) * 0.08).max(1e-3);
            (lo - pad, hi + pad)
        } else {
            (0.0, 1.0)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..max_x, lo..hi)?;
        chart.configure_mesh().x_desc("iteration").x_labels(6).y_labels(6).draw()?;
        if let Some(band) = &panel.band {
            let upper: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
            let lower: Vec<(f64, f64)> = band.iter().rev().map(|b| (b.0, b.1)).collect();
            chart.draw_series(std::iter::once(Polygon::new(upper.into_iter().chain(lower).collect::<Vec<_>>(), BLUE.mix(0.15))))?;
        }
        chart.draw_series(LineSeries::new(panel.points.clone(), BLUE.stroke_width(2)))?;
    }
    root.present()?;
    Ok(())
}
