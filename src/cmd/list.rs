use crate::error::{Error, Result};
use crate::pipeline::plan;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

pub fn run(pipeline_file: &Path) -> Result<i32> {
    let plan = plan::load(pipeline_file, None)?;
    let text = listing(&plan);
    // A reader that stops early (`jsna list | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(Path::new("<stdout>"), e))
        }
        _ => Ok(0),
    }
}

/// The sources, groups, indicators and breakdowns, one per line.
fn listing(plan: &plan::Plan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    macro_rules! println {
        ($($arg:tt)*) => {{
            let _ = writeln!(out, $($arg)*);
        }};
    }
    println!("Sources:");
    for s in &plan.sources {
        println!(
            "  {:<20} {:<12} {}",
            s.id,
            plan::kind_name(s.kind),
            s.display_path
        );
    }
    println!("Groups:");
    for g in &plan.groups {
        let mark = if g.reference { " (reference)" } else { "" };
        println!(
            "  {:<20} {}{}\n  {:<20}   where {}",
            g.id, g.label, mark, "", g.sql
        );
    }
    println!("Indicators:");
    for i in &plan.indicators {
        let groups: Vec<&str> = i
            .groups
            .iter()
            .map(|&g| plan.groups[g].id.as_str())
            .collect();
        let per = if groups.is_empty() {
            "per area".to_string()
        } else {
            format!("groups: {}", groups.join(", "))
        };
        let by: Vec<&str> = i
            .breakdowns
            .iter()
            .map(|&b| plan.breakdowns[b].id.as_str())
            .collect();
        let by = if by.is_empty() {
            String::new()
        } else {
            format!("; by {}", by.join(", "))
        };
        println!(
            "  {:<20} {} [{}, {}{by}]",
            i.id,
            i.name,
            plan::method_name(i.method),
            per
        );
    }
    println!("Breakdowns (first matching category; the last takes the rest):");
    for b in &plan.breakdowns {
        println!("  {:<20} {}: {}", b.id, b.label, b.categories.join(" | "));
    }
    out
}
