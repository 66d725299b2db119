//! `accuracy.svg`: the reward model's pairwise accuracy over training, held out and on training
//! rankings, from the `scores` records of `metrics.jsonl`, with chance (0.5) drawn for reference.
use std::path::Path;

use plotters::prelude::*;

use crate::run::metrics::{read_all, MetricRecord};
use crate::run::RunError;

/// Draws the accuracy curves of the metrics log `metrics` into an SVG at `path`.
pub fn write_accuracy_chart(metrics: &Path, path: &Path) -> Result<(), RunError> {
    let (mut held, mut train) = (Vec::new(), Vec::new());
    for r in read_all(metrics)? {
        if let MetricRecord::Scores { step, scores } = r {
            if let Some(&a) = scores.get("held_out_accuracy") {
                held.push((step as f64, a));
            }
            if let Some(&a) = scores.get("train_accuracy") {
                train.push((step as f64, a));
            }
        }
    }
    let max_step = held.iter().chain(&train).map(|p| p.0).fold(1.0, f64::max);
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("reward model: pairwise accuracy", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..max_step, 0.4f64..1.0)?;
    chart.configure_mesh().x_desc("step").y_desc("accuracy").draw()?;
    chart
        .draw_series(LineSeries::new(vec![(0.0, 0.5), (max_step, 0.5)], BLACK.mix(0.4)))?
        .label("chance")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.4)));
    chart
        .draw_series(LineSeries::new(train, GREEN.stroke_width(2)))?
        .label("train rankings")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREEN));
    chart
        .draw_series(LineSeries::new(held, RED.stroke_width(2)))?
        .label("held-out rankings")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    root.present()?;
    Ok(())
}
