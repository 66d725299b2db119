//! `loss.svg`: training loss per step and evaluation losses, drawn with plotters' SVG backend.
use std::path::Path;

use plotters::prelude::*;

use super::metrics::MetricRecord;
use super::RunError;

/// Draws the loss curves of `records` into an SVG at `path` (an empty chart when there are no records).
pub fn write_loss_chart(path: &Path, records: &[MetricRecord]) -> Result<(), RunError> {
    let mut train = Vec::new();
    let mut eval_train = Vec::new();
    let mut eval_val = Vec::new();
    for r in records {
        match *r {
            MetricRecord::Train { step, loss, .. } if loss.is_finite() => train.push((step as f64, loss as f64)),
            MetricRecord::Eval { step, train_loss, val_loss } => {
                eval_train.push((step as f64, train_loss as f64));
                eval_val.push((step as f64, val_loss as f64));
            }
            _ => {}
        }
    }
    let all = train.iter().chain(&eval_train).chain(&eval_val);
    let max_step = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all.map(|p| p.1).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo.min(hi - 1e-3) * 0.95, hi * 1.05) } else { (0.0, 1.0) };

    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("loss", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..max_step, lo..hi)?;
    chart.configure_mesh().x_desc("step").y_desc("loss").draw()?;
    chart
        .draw_series(LineSeries::new(train, BLUE.mix(0.5)))?
        .label("train (per step)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    chart
        .draw_series(LineSeries::new(eval_train, GREEN.stroke_width(2)))?
        .label("train (eval)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREEN));
    chart
        .draw_series(LineSeries::new(eval_val, RED.stroke_width(2)))?
        .label("val (eval)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    root.present()?;
    Ok(())
}
