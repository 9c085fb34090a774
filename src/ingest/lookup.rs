//! The area lookup (ONS LAD → UTLA → region layout).

use super::{read_strict, require_columns};
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaInfo {
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub region_name: String,
}

/// Reads the lookup; every row must have a code, a name and a region.
pub fn load(path: &Path) -> Result<(Vec<AreaInfo>, u64)> {
    let df = read_strict(path)?;
    require_columns(
        &df,
        path,
        &["lad_code", "lad_name", "region_code", "region_name"],
    )?;
    let get = |c: &str| -> Result<StringChunked> { Ok(df.column(c)?.str()?.clone()) };
    let (codes, names, rcodes, rnames, rows) = (
        get("lad_code")?,
        get("lad_name")?,
        get("region_code")?,
        get("region_name")?,
        df.column(super::ROW)?.cast(&DataType::UInt64)?,
    );
    let rows = rows.u64()?;
    let mut areas = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let field = |ca: &StringChunked, c: &str| -> Result<String> {
            match ca.get(i).map(str::trim).filter(|s| !s.is_empty()) {
                Some(v) => Ok(v.to_string()),
                None => Err(Error::Data {
                    location: crate::error::Location {
                        file: path.to_path_buf(),
                        row: rows.get(i),
                        column: Some(c.to_string()),
                    },
                    message:
                        "is missing; every area in the lookup needs a code, a name and a region"
                            .into(),
                }),
            }
        };
        areas.push(AreaInfo {
            code: field(&codes, "lad_code")?,
            name: field(&names, "lad_name")?,
            region_code: field(&rcodes, "region_code")?,
            region_name: field(&rnames, "region_name")?,
        });
    }
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    if let Some(w) = areas.windows(2).find(|w| w[0].code == w[1].code) {
        return Err(Error::data(
            path,
            format!("area code {} appears more than once", w[0].code),
        ));
    }
    if areas.is_empty() {
        return Err(Error::data(path, "the area lookup has no rows"));
    }
    let n = areas.len() as u64;
    Ok((areas, n))
}
