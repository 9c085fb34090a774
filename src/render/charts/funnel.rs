//! Funnel plot: every area's value against its denominator, with the benchmark average and the
//! 95% and 99.8% control limits. Where a point falls is drawn as a shape (circle inside, triangle
//! up above, down below; larger beyond 99.8%), so colour is never the only cue.

use super::{nice_max, small_font, text_font, tick, wrap, BAR, INK, LOW, REFERENCE};
use crate::error::Result;
use crate::stats::funnel::Significance;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

#[derive(Debug, Clone)]
pub struct FunnelPoint {
    pub label: String,
    /// The denominator.
    pub x: f64,
    pub y: f64,
    pub significance: Significance,
}

#[derive(Debug, Clone)]
pub struct FunnelChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub average: f64,
    /// The highest possible value (100 for a percentage), if any.
    pub cap: Option<f64>,
    /// The limits along the denominator: (x, lower 95%, upper 95%, lower 99.8%, upper 99.8%).
    pub limits: Vec<(f64, f64, f64, f64, f64)>,
    pub points: Vec<FunnelPoint>,
}

pub(super) const HEIGHT: u32 = 486;
const LEFT: i32 = 70;
const RIGHT: i32 = 600;
const TOP: i32 = 72;
const BOTTOM: i32 = 380;

/// A point's shape: (up, down or neither, size in pixels, colour).
fn shape(s: Significance) -> (i32, i32, RGBColor) {
    match s {
        Significance::High001 => (1, 8, BAR),
        Significance::High025 => (1, 6, BAR),
        Significance::NotSignificant => (0, 4, REFERENCE),
        Significance::Low025 => (-1, 6, LOW),
        Significance::Low001 => (-1, 8, LOW),
    }
}

fn marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    (px, py): (i32, i32),
    s: Significance,
) -> Result<()> {
    let (direction, size, colour) = shape(s);
    super::point_marker(root, (px, py), direction, size, colour.filled())
}

/// The words for where a point falls.
pub fn verdict(s: Significance) -> &'static str {
    match s {
        Significance::High001 => "above the 99.8% limit",
        Significance::High025 => "above the 95% limit",
        Significance::NotSignificant => "within the limits",
        Significance::Low025 => "below the 95% limit",
        Significance::Low001 => "below the 99.8% limit",
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &FunnelChart,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let (text, small) = (text_font(), small_font());
    super::title(&root, &chart.title)?;
    let x_max = nice_max(chart.points.iter().map(|p| p.x).fold(0.0, f64::max));
    // Room for every point and the average; limits beyond the top are cut off.
    let y_max = nice_max(
        chart
            .points
            .iter()
            .map(|p| p.y)
            .fold(chart.average * 1.2, f64::max),
    )
    .min(chart.cap.unwrap_or(f64::INFINITY));
    let x = |v: f64| LEFT + ((v / x_max).clamp(0.0, 1.0) * (RIGHT - LEFT) as f64).round() as i32;
    let y = |v: f64| BOTTOM - ((v / y_max).clamp(0.0, 1.0) * (BOTTOM - TOP) as f64).round() as i32;
    super::y_grid(&root, y_max, (LEFT, RIGHT), y)?;
    for k in 0..=4 {
        let xv = x_max * k as f64 / 4.0;
        root.draw(&Text::new(
            tick(xv),
            (x(xv) - 10, BOTTOM + 8),
            small.clone(),
        ))
        .map_err(e)?;
    }
    root.draw(&Text::new(
        chart.x_label.clone(),
        (LEFT, BOTTOM + 30),
        text.clone(),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        chart.y_label.clone(),
        (16, BOTTOM + 54),
        text.clone(),
    ))
    .map_err(e)?;

    // A limit line, drawn only where it lies inside the plot.
    let inside = |v: f64| (0.0..=y_max).contains(&v);
    let line = |pick: fn(&(f64, f64, f64, f64, f64)) -> f64| -> Vec<(i32, i32)> {
        chart
            .limits
            .iter()
            .filter(|l| inside(pick(l)))
            .map(|l| (x(l.0), y(pick(l))))
            .collect()
    };
    let limit_style = REFERENCE.stroke_width(2);
    for pick in [
        |l: &(f64, f64, f64, f64, f64)| l.1,
        |l: &(f64, f64, f64, f64, f64)| l.2,
    ] {
        root.draw(&DashedPathElement::new(line(pick), 6, 4, limit_style))
            .map_err(e)?;
    }
    for pick in [
        |l: &(f64, f64, f64, f64, f64)| l.3,
        |l: &(f64, f64, f64, f64, f64)| l.4,
    ] {
        root.draw(&PathElement::new(line(pick), limit_style))
            .map_err(e)?;
    }
    root.draw(&PathElement::new(
        vec![(LEFT, y(chart.average)), (RIGHT, y(chart.average))],
        INK.stroke_width(2),
    ))
    .map_err(e)?;
    for p in &chart.points {
        marker(&root, (x(p.x), y(p.y)), p.significance)?;
    }

    // Legend: the lines, then each shape with its meaning and how many areas it marks.
    let mut top = TOP + 4;
    let legend_line = |from: (i32, i32), dashed: bool, colour: RGBColor| {
        let to = (from.0 + 30, from.1);
        if dashed {
            root.draw(&DashedPathElement::new(
                vec![from, to],
                6,
                4,
                colour.stroke_width(2),
            ))
        } else {
            root.draw(&PathElement::new(vec![from, to], colour.stroke_width(2)))
        }
    };
    for (label, dashed, colour) in [
        ("Average", false, INK),
        ("95% limits", true, REFERENCE),
        ("99.8% limits", false, REFERENCE),
    ] {
        legend_line((RIGHT + 16, top + 8), dashed, colour).map_err(e)?;
        root.draw(&Text::new(label, (RIGHT + 56, top), small.clone()))
            .map_err(e)?;
        top += 24;
    }
    for s in [
        Significance::High001,
        Significance::High025,
        Significance::NotSignificant,
        Significance::Low025,
        Significance::Low001,
    ] {
        let n = chart.points.iter().filter(|p| p.significance == s).count();
        marker(&root, (RIGHT + 31, top + 8), s)?;
        for (k, part) in wrap(&format!("{} ({n})", capitalise(verdict(s))), 22)
            .into_iter()
            .enumerate()
        {
            root.draw(&Text::new(
                part,
                (RIGHT + 56, top + 16 * k as i32),
                small.clone(),
            ))
            .map_err(e)?;
        }
        top += 38;
    }
    root.present().map_err(e)?;
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
