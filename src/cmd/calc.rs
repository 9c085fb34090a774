use crate::calc::{self, CalcOptions, OnError};
use crate::cli::CalcArgs;
use crate::error::{Error, Result};
use crate::log::Log;

/// How many bad rows are printed before a count of the rest.
const SHOWN: usize = 20;

pub fn run(a: &CalcArgs, log: &Log) -> Result<i32> {
    let opts = CalcOptions {
        method: a.method,
        input: a.input.clone(),
        output: a.output.clone(),
        numerator: a.numerator.clone(),
        denominator: a.denominator.clone(),
        group_by: a.group_by.clone(),
        confidence: a.confidence.clone(),
        multiplier: a.multiplier,
        on_error: a.on_error,
        age_band: a.age_band.clone(),
        standard: a.standard.clone(),
        frequency: a.frequency.clone(),
        ref_numerator: a.ref_numerator.clone(),
        ref_denominator: a.ref_denominator.clone(),
        value: a.value.clone(),
    };
    let summary = calc::run(&opts)?;
    // Bad rows stop the run unless --on-error na writes NA for them.
    let report = |m: &str| match opts.on_error {
        OnError::Fail => log.error(m),
        _ => log.warn(m),
    };
    for p in summary.problems.iter().take(SHOWN) {
        report(&p.to_string());
    }
    for note in &summary.notes {
        log.info(&format!("note: {note}"));
    }
    if summary.problems.len() > SHOWN {
        report(&format!(
            "… and {} more problems",
            summary.problems.len() - SHOWN
        ));
    }
    if !summary.problems.is_empty() && opts.on_error == OnError::Fail {
        return Err(Error::ChecksFailed(format!(
            "{} bad value(s) in {}; nothing written (use --on-error na to write NA for those rows)",
            summary.problems.len(),
            opts.input.display()
        )));
    }
    log.info(&format!(
        "jsna calc: {} rows in, {} rows written to {}",
        summary.rows_in,
        summary.rows_out,
        opts.output.display()
    ));
    Ok(0)
}
