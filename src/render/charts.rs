//! Charts drawn with plotters: one drawing function, two backends (SVG inline in the report, PNG
//! beside it). Text uses the DejaVu Sans font bundled in `assets/fonts`, so PNGs render on a bare
//! machine. Meaning is never carried by colour alone: every bar has its value and label in text.

use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

fn register_fonts() {
    REGISTER.call_once(|| {
        // The bundled fonts are valid; a failure here would be a packaging bug caught by tests.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT_BOLD);
    });
}

/// GOV.UK blue (5.2:1 on white) for groups; dark grey (7.0:1) for the reference group.
const BAR: RGBColor = RGBColor(0x1d, 0x70, 0xb8);
const REFERENCE: RGBColor = RGBColor(0x50, 0x5a, 0x5f);
const INK: RGBColor = RGBColor(0x0b, 0x0c, 0x0c);
const GRID: RGBColor = RGBColor(0xb1, 0xb4, 0xb6);

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

const WIDTH: u32 = 820;
const LEFT: i32 = 300;
const RIGHT: i32 = 590;
const TOP: i32 = 56;
const ROW: i32 = 46;

fn height(chart: &BarChart) -> u32 {
    (TOP + ROW * chart.bars.len() as i32 + 76) as u32
}

fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * mag)
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &BarChart,
) -> Result<()> {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| {
        Error::Internal(format!("chart drawing failed: {err}"))
    };
    root.fill(&WHITE).map_err(e)?;
    let title = ("sans-serif", 18)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK);
    let text = ("sans-serif", 14).into_font().color(&INK);
    let small = ("sans-serif", 12).into_font().color(&INK);
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

fn tick(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        fmt(v)
    }
}

/// Splits a label into lines of at most `width` characters at spaces; a second line that would
/// still overflow ends with an ellipsis.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in s.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if last.is_empty() {
            last.push_str(word);
        } else if last.chars().count() + 1 + word.chars().count() <= width {
            last.push(' ');
            last.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    if lines.len() > 2 {
        let rest = lines[1..].join(" ");
        lines.truncate(1);
        lines.push(format!(
            "{}…",
            rest.chars().take(width - 1).collect::<String>()
        ));
    }
    lines
}

/// The chart as an SVG document.
pub fn svg(chart: &BarChart) -> Result<String> {
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height(chart))).into_drawing_area();
        draw(root, chart)?;
    }
    Ok(out)
}

/// Writes the chart as a PNG file.
pub fn png(chart: &BarChart, path: &Path) -> Result<()> {
    register_fonts();
    let root = BitMapBackend::new(path, (WIDTH, height(chart))).into_drawing_area();
    draw(root, chart)
}
