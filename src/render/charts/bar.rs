//! Bar chart by group with 95% interval whiskers, the reference group in grey.

use super::{
    fmt, nice_max, small_font, text_font, tick, title_font, wrap, BAR, GRID, INK, REFERENCE,
};
use crate::error::Result;
use plotters::prelude::*;

/// One bar: a label, and either a value with its 95% interval or a marker such as `[c]`.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: Option<(f64, f64, f64)>,
    pub marker: String,
    pub reference: bool,
    pub annotation: String,
}

#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub axis_label: String,
    /// A line under the axis saying what the bar annotations compare against.
    pub note: String,
    pub bars: Vec<Bar>,
}

const LEFT: i32 = 300;
const RIGHT: i32 = 590;
const TOP: i32 = 56;
const ROW: i32 = 46;

pub(super) fn height(chart: &BarChart) -> u32 {
    (TOP + ROW * chart.bars.len() as i32 + 76) as u32
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &BarChart,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let (title, text, small) = (title_font(), text_font(), small_font());
    root.draw(&Text::new(chart.title.clone(), (16, 14), title))
        .map_err(e)?;

    let max = nice_max(
        chart
            .bars
            .iter()
            .filter_map(|b| b.value.map(|v| v.2.max(v.0)))
            .fold(0.0, f64::max),
    );
    let x = |v: f64| LEFT + ((v / max).clamp(0.0, 1.0) * (RIGHT - LEFT) as f64).round() as i32;
    let bottom = TOP + ROW * chart.bars.len() as i32;
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        root.draw(&PathElement::new(
            vec![(x(v), TOP - 6), (x(v), bottom)],
            GRID.stroke_width(1),
        ))
        .map_err(e)?;
        root.draw(&Text::new(tick(v), (x(v) - 10, bottom + 6), small.clone()))
            .map_err(e)?;
    }
    root.draw(&Text::new(
        chart.axis_label.clone(),
        (16, bottom + 26),
        text.clone(),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        chart.note.clone(),
        (16, bottom + 48),
        small.clone(),
    ))
    .map_err(e)?;

    for (i, bar) in chart.bars.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        let label = if bar.reference {
            format!("{} (reference)", bar.label)
        } else {
            bar.label.clone()
        };
        let lines = wrap(&label, 36);
        let first_y = if lines.len() > 1 { y + 3 } else { y + 12 };
        for (k, line) in lines.iter().take(2).enumerate() {
            root.draw(&Text::new(
                line.clone(),
                (16, first_y + 18 * k as i32),
                text.clone(),
            ))
            .map_err(e)?;
        }
        match bar.value {
            Some((value, lower, upper)) => {
                let colour = if bar.reference { REFERENCE } else { BAR };
                root.draw(&Rectangle::new(
                    [(LEFT, y + 8), (x(value).max(LEFT + 1), y + 32)],
                    colour.filled(),
                ))
                .map_err(e)?;
                let whisker = INK.stroke_width(2);
                root.draw(&PathElement::new(
                    vec![(x(lower), y + 20), (x(upper), y + 20)],
                    whisker,
                ))
                .map_err(e)?;
                for end in [lower, upper] {
                    root.draw(&PathElement::new(
                        vec![(x(end), y + 13), (x(end), y + 27)],
                        whisker,
                    ))
                    .map_err(e)?;
                }
                let note = format!(
                    "{} ({}–{}) {}",
                    fmt(value),
                    fmt(lower),
                    fmt(upper),
                    bar.annotation
                );
                root.draw(&Text::new(note, (RIGHT + 12, y + 12), small.clone()))
                    .map_err(e)?;
            }
            None => {
                root.draw(&Text::new(
                    format!("{} no bar drawn", bar.marker),
                    (LEFT + 4, y + 12),
                    small.clone(),
                ))
                .map_err(e)?;
            }
        }
    }
    root.present().map_err(e)?;
    Ok(())
}
