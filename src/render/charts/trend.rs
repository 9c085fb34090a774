//! Trend chart: one indicator over every period, the area's line with its 95% interval as a band,
//! and the benchmark as a dashed line with square markers.

use super::{nice_max, small_font, text_font, wrap, BAND, BAR, LOW, REFERENCE};
use crate::error::Result;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// A value with its 95% interval: (value, lower, upper).
pub type Point = (f64, f64, f64);

/// One line: a value with its 95% interval per period, or `None` with the marker shown instead
/// (`[c]`, `[x]`).
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<Option<Point>>,
    pub markers: Vec<String>,
    /// The benchmark: dashed, square markers, no band.
    pub benchmark: bool,
}

#[derive(Debug, Clone)]
pub struct TrendChart {
    pub title: String,
    pub axis_label: String,
    pub periods: Vec<String>,
    /// The area first, then the benchmark if any.
    pub series: Vec<Series>,
    /// Series breaks: the index in `periods` of the first period of each new series. A dashed
    /// vertical rule is drawn before it and no line joins the periods either side.
    pub breaks: Vec<usize>,
}

/// The colour of a series-break rule and its label (over 7:1 against white).
const BREAK: RGBColor = RGBColor(64, 64, 64);

pub(super) const HEIGHT: u32 = 396;

/// How a line is drawn: the area solid with circles; the first comparison dashed grey with
/// squares; a second comparison dotted vermillion with diamonds, so no two look alike.
#[derive(Clone, Copy)]
enum Style {
    Main,
    First,
    Second,
}

fn style_of(chart: &TrendChart, k: usize) -> Style {
    if !chart.series[k].benchmark {
        return Style::Main;
    }
    match chart.series[..k].iter().filter(|s| s.benchmark).count() {
        0 => Style::First,
        _ => Style::Second,
    }
}

impl Style {
    fn colour(self) -> RGBColor {
        match self {
            Style::Main => BAR,
            Style::First => REFERENCE,
            Style::Second => LOW,
        }
    }

    fn dash(self) -> Option<(u32, u32)> {
        match self {
            Style::Main => None,
            Style::First => Some((6, 4)),
            Style::Second => Some((2, 3)),
        }
    }

    fn marker<DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        (px, py): (i32, i32),
    ) -> Result<()> {
        let e = super::drawing::<DB::ErrorType>;
        let c = self.colour().filled();
        match self {
            Style::Second => root.draw(&Polygon::new(
                vec![(px, py - 5), (px + 5, py), (px, py + 5), (px - 5, py)],
                c,
            )),
            _ => root.draw(&Rectangle::new([(px - 4, py - 4), (px + 4, py + 4)], c)),
        }
        .map_err(e)
    }
}
const LEFT: i32 = 70;
const RIGHT: i32 = 600;
const TOP: i32 = 72;
const BOTTOM: i32 = 290;

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &TrendChart,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let (text, small) = (text_font(), small_font());
    super::title(&root, &chart.title)?;
    let max = nice_max(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().flatten())
            .map(|p| p.0.max(p.2))
            .fold(0.0, f64::max),
    );
    let n = chart.periods.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            (LEFT + RIGHT) / 2
        } else {
            LEFT + 20 + ((RIGHT - LEFT - 40) as f64 * i as f64 / (n - 1) as f64).round() as i32
        }
    };
    let y = |v: f64| BOTTOM - ((v / max).clamp(0.0, 1.0) * (BOTTOM - TOP) as f64).round() as i32;

    super::y_grid(&root, max, (LEFT, RIGHT), y)?;
    // Label at most about ten periods so the labels never overlap.
    let every = n.div_ceil(10);
    for (i, label) in chart.periods.iter().enumerate() {
        // The last period is always labelled; a regular label too close to it is left out.
        if i == n - 1 || (i % every == 0 && i + every < n) {
            root.draw(&Text::new(
                label.clone(),
                (x(i) - 22, BOTTOM + 8),
                small.clone(),
            ))
            .map_err(e)?;
        }
    }
    root.draw(&Text::new(
        format!("{}, with 95% confidence interval (band)", chart.axis_label),
        (16, BOTTOM + 32),
        text.clone(),
    ))
    .map_err(e)?;

    // Bands first, so every line is drawn over them; one polygon per unbroken run of values.
    for s in chart.series.iter().filter(|s| !s.benchmark) {
        for run in runs(&s.points, &chart.breaks) {
            let mut band: Vec<(i32, i32)> = run.iter().map(|&(i, p)| (x(i), y(p.2))).collect();
            band.extend(run.iter().rev().map(|&(i, p)| (x(i), y(p.1))));
            root.draw(&Polygon::new(band, BAND.filled())).map_err(e)?;
        }
    }
    for (k, s) in chart.series.iter().enumerate() {
        let style = style_of(chart, k);
        let colour = style.colour();
        for run in runs(&s.points, &chart.breaks) {
            let line: Vec<(i32, i32)> = run.iter().map(|&(i, p)| (x(i), y(p.0))).collect();
            if let Some((dash, gap)) = style.dash() {
                root.draw(&DashedPathElement::new(
                    line,
                    dash,
                    gap,
                    colour.stroke_width(2),
                ))
                .map_err(e)?;
            } else {
                root.draw(&PathElement::new(line, colour.stroke_width(3)))
                    .map_err(e)?;
            }
            for &(i, p) in &run {
                let (px, py) = (x(i), y(p.0));
                if s.benchmark {
                    style.marker(&root, (px, py))?;
                } else {
                    root.draw(&Circle::new((px, py), 5, colour.filled()))
                        .map_err(e)?;
                }
            }
        }
        if !s.benchmark {
            for (i, p) in s.points.iter().enumerate() {
                if p.is_none() {
                    let marker = s.markers.get(i).cloned().unwrap_or_default();
                    root.draw(&Text::new(marker, (x(i) - 10, BOTTOM - 20), small.clone()))
                        .map_err(e)?;
                }
            }
        }
    }

    let mut last_label: Option<i32> = None;
    let mut raised = false;
    for &b in chart.breaks.iter().filter(|&&b| b > 0 && b < n) {
        let bx = (x(b - 1) + x(b)) / 2;
        // Labels of rules close together are staggered so they never overlap.
        raised = last_label.is_some_and(|l| bx - l < 90) && !raised;
        last_label = Some(bx);
        let ly = if raised { TOP - 20 } else { TOP - 4 };
        root.draw(&DashedPathElement::new(
            vec![(bx, TOP - 4), (bx, BOTTOM)],
            5,
            4,
            BREAK.stroke_width(2),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            "Series break",
            (bx + 4, ly),
            small.clone().color(&BREAK),
        ))
        .map_err(e)?;
    }

    // Legend on the right: a sample of each line and its label, each below the last.
    let mut top = TOP + 10;
    for (k, s) in chart.series.iter().enumerate() {
        let style = style_of(chart, k);
        let colour = style.colour();
        let sample = vec![(RIGHT + 16, top + 8), (RIGHT + 48, top + 8)];
        if let Some((dash, gap)) = style.dash() {
            root.draw(&DashedPathElement::new(
                sample,
                dash,
                gap,
                colour.stroke_width(2),
            ))
            .map_err(e)?;
            style.marker(&root, (RIGHT + 32, top + 8))?;
        } else {
            root.draw(&PathElement::new(sample, colour.stroke_width(3)))
                .map_err(e)?;
            root.draw(&Circle::new((RIGHT + 32, top + 8), 5, colour.filled()))
                .map_err(e)?;
        }
        let lines = wrap(&s.label, 20);
        let n = lines.len().max(2) as i32;
        for (line, part) in lines.into_iter().enumerate() {
            root.draw(&Text::new(
                part,
                (RIGHT + 56, top + 18 * line as i32),
                small.clone(),
            ))
            .map_err(e)?;
        }
        top += 18 * n + 20;
    }
    if !chart.breaks.is_empty() {
        root.draw(&DashedPathElement::new(
            vec![(RIGHT + 32, top), (RIGHT + 32, top + 18)],
            5,
            4,
            BREAK.stroke_width(2),
        ))
        .map_err(e)?;
        for (line, part) in wrap("Series break: not comparable across", 20)
            .into_iter()
            .enumerate()
        {
            root.draw(&Text::new(
                part,
                (RIGHT + 56, top + 18 * line as i32),
                small.clone(),
            ))
            .map_err(e)?;
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

/// The unbroken runs of values: (period index, value with interval). A missing value or a
/// series break (the index of a new series' first period) ends a run.
fn runs(points: &[Option<Point>], breaks: &[usize]) -> Vec<Vec<(usize, Point)>> {
    let mut out: Vec<Vec<(usize, Point)>> = Vec::new();
    let mut current = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if breaks.contains(&i) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        match p {
            Some(p) => current.push((i, *p)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_period_breaks_the_line_into_runs() {
        let p = |v: f64| Some((v, v - 1.0, v + 1.0));
        let r = runs(&[p(1.0), p(2.0), None, p(4.0), None], &[]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(r[1].iter().map(|x| x.0).collect::<Vec<_>>(), [3]);
        assert!(runs(&[None, None], &[]).is_empty());
        // A series break at index 2 splits an unbroken line.
        let r = runs(&[p(1.0), p(2.0), p(3.0), p(4.0)], &[2]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].iter().map(|x| x.0).collect::<Vec<_>>(), [2, 3]);
    }
}
