//! The area lookup (ONS LAD → UTLA → region layout).

use super::{read_strict, require_columns};
use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaInfo {
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub region_name: String,
}

/// The areas of a pipeline and the districts (LADs) they are made of.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The pipeline's areas, by code.
    pub areas: Vec<AreaInfo>,
    /// Rows in the lookup file.
    pub rows: u64,
    /// Every district: (LAD code, LAD name, the area it belongs to).
    pub districts: Vec<(String, String, String)>,
}

/// Reads the lookup; every row must have a code, a name and a region. With `upper_tier`, the
/// areas are the upper-tier authorities (`utla_code`, `utla_name`) and districts roll up to
/// them.
pub fn load(path: &Path, upper_tier: bool) -> Result<Lookup> {
    let df = read_strict(path)?;
    let mut required = vec!["lad_code", "lad_name", "region_code", "region_name"];
    if upper_tier {
        required.extend(["utla_code", "utla_name"]);
    }
    require_columns(&df, path, &required)?;
    let get = |c: &str| -> Result<StringChunked> { Ok(df.column(c)?.str()?.clone()) };
    let (codes, names, rcodes, rnames, rows) = (
        get("lad_code")?,
        get("lad_name")?,
        get("region_code")?,
        get("region_name")?,
        df.column(super::ROW)?.cast(&DataType::UInt64)?,
    );
    let upper = if upper_tier {
        Some((get("utla_code")?, get("utla_name")?))
    } else {
        None
    };
    let rows = rows.u64()?;
    let mut areas: Vec<AreaInfo> = Vec::with_capacity(df.height());
    let mut districts = Vec::with_capacity(df.height());
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
        let lad = AreaInfo {
            code: field(&codes, "lad_code")?,
            name: field(&names, "lad_name")?,
            region_code: field(&rcodes, "region_code")?,
            region_name: field(&rnames, "region_name")?,
        };
        let area = match &upper {
            Some((uc, un)) => AreaInfo {
                code: field(uc, "utla_code")?,
                name: field(un, "utla_name")?,
                ..lad.clone()
            },
            None => lad.clone(),
        };
        districts.push((lad.code.clone(), lad.name.clone(), area.code.clone()));
        areas.push(area);
    }
    districts.sort();
    if let Some(w) = districts.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::data(
            path,
            format!("area code {} appears more than once", w[0].0),
        ));
    }
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    if let Some(w) = areas
        .windows(2)
        .find(|w| w[0].code == w[1].code && w[0] != w[1])
    {
        return Err(Error::data(
            path,
            format!(
                "upper-tier area {} is given two names or regions ('{}', {}; '{}', {})",
                w[0].code, w[0].name, w[0].region_code, w[1].name, w[1].region_code
            ),
        ));
    }
    areas.dedup();
    if areas.is_empty() {
        return Err(Error::data(path, "the area lookup has no rows"));
    }
    Ok(Lookup {
        areas,
        rows: df.height() as u64,
        districts,
    })
}

/// Counties abolished and split between two or more unitary authorities, which tables that name
/// authorities (NTS) still list: (name, former code, the April 2023 successors). A figure in
/// such a row belongs to the successors together, so none of them can be given it alone.
pub const SPLIT_COUNTIES: &[(&str, &str, &[&str])] = &[
    // April 2023: Cumberland and Westmorland and Furness.
    ("Cumbria", "E10000006", &["E06000063", "E06000064"]),
    // April 2021: North Northamptonshire and West Northamptonshire.
    ("Northamptonshire", "E10000021", &["E06000061", "E06000062"]),
];

/// The split county a name is, if it is one.
pub fn split_county(
    name: &str,
) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    let n = normalise_name(name);
    SPLIT_COUNTIES
        .iter()
        .find(|(c, _, _)| normalise_name(c) == n)
}

/// How published codes and names resolve to the areas of the lookup.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Older LAD code → its April 2023 LAD (from the ONS code history).
    pub history: HashMap<String, String>,
    /// District code → the pipeline area it is part of (itself, or its upper-tier authority).
    pub parent: HashMap<String, String>,
    /// Normalised area name (current and former) → LAD code.
    pub names: HashMap<String, String>,
}

/// Lowercase, `&` as "and", punctuation as spaces, without ", City of" / ", County of", a
/// leading "The" or a trailing type marker such as "(U)".
pub fn normalise_name(name: &str) -> String {
    let mut lower = name.trim().to_lowercase().replace('&', " and ");
    if let Some(open) = lower.rfind('(') {
        let inner = lower[open..].trim_end_matches(')').trim_start_matches('(');
        if lower.trim_end().ends_with(')') && inner.len() <= 2 {
            lower.truncate(open);
        }
    }
    if let Some(rest) = lower.strip_prefix("the ") {
        lower = rest.to_string();
    }
    let cleaned: String = lower
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 1 < words.len()
            && (words[i] == "city" || words[i] == "county")
            && words[i + 1] == "of"
            && i + 2 == words.len()
        {
            break;
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

impl Resolver {
    /// Names from the lookup, plus codes and former names from an optional ONS code history
    /// (`lad_code, lad_name, lad23_code`, optionally `former_names` separated by `; `).
    pub fn new(lookup: &Lookup, history: Option<&Path>) -> Result<Resolver> {
        let mut r = Resolver::default();
        for (code, name, area) in &lookup.districts {
            r.names.insert(normalise_name(name), area.clone());
            r.parent.insert(code.clone(), area.clone());
        }
        for a in &lookup.areas {
            r.names.insert(normalise_name(&a.name), a.code.clone());
        }
        if let Some(path) = history {
            let df = read_strict(path)?;
            require_columns(&df, path, &["lad_code", "lad_name", "lad23_code"])?;
            let get = |c: &str| -> Result<Vec<String>> {
                Ok(match df.column(c) {
                    Ok(col) => col
                        .str()?
                        .iter()
                        .map(|v| v.unwrap_or("").trim().to_string())
                        .collect(),
                    Err(_) => vec![String::new(); df.height()],
                })
            };
            let (codes, names, lad23, former) = (
                get("lad_code")?,
                get("lad_name")?,
                get("lad23_code")?,
                get("former_names")?,
            );
            for i in 0..df.height() {
                if codes[i].is_empty() || lad23[i].is_empty() {
                    continue;
                }
                r.history.insert(codes[i].clone(), lad23[i].clone());
                let area = r.area_of(&lad23[i]);
                for name in std::iter::once(names[i].as_str()).chain(former[i].split("; ")) {
                    if !name.is_empty() {
                        r.names
                            .entry(normalise_name(name))
                            .or_insert_with(|| area.clone());
                    }
                }
            }
        }
        Ok(r)
    }

    /// The pipeline area a district code (of any vintage) belongs to; other codes unchanged.
    pub fn area_of(&self, code: &str) -> String {
        let lad = self.history.get(code).map(String::as_str).unwrap_or(code);
        self.parent
            .get(lad)
            .cloned()
            .unwrap_or_else(|| lad.to_string())
    }

    /// The area a published name belongs to (current or former name), if any.
    pub fn by_name(&self, name: &str) -> Option<&str> {
        self.names.get(&normalise_name(name)).map(String::as_str)
    }

    /// The area a published (code, name) pair belongs to, and whether the name overrode the code.
    /// The code is mapped through the history; when the name is exactly another area's name, the
    /// name wins (the code was wrong); an unknown name (a typo) leaves the code as it is.
    pub fn resolve(&self, code: &str, name: Option<&str>) -> (String, bool) {
        let code = self.area_of(code);
        match name.and_then(|n| self.names.get(&normalise_name(n))) {
            Some(by_name) if *by_name != code => (by_name.clone(), true),
            _ => (code, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_across_publishers() {
        assert_eq!(normalise_name("Bristol, City of"), "bristol");
        assert_eq!(
            normalise_name("Kingston upon Hull, City of"),
            "kingston upon hull"
        );
        assert_eq!(normalise_name("St. Helens"), normalise_name("St Helens"));
        assert_eq!(normalise_name("Brighton & Hove"), "brighton and hove");
        assert_eq!(normalise_name("City of London"), "city of london");
        assert_eq!(normalise_name("The Vale of Glamorgan"), "vale of glamorgan");
        assert_eq!(normalise_name("Dorset (U)"), "dorset");
        assert_eq!(normalise_name("Belfast HSCT"), "belfast hsct");
        assert_eq!(normalise_name("Armagh (City of)"), "armagh");
    }

    #[test]
    fn a_name_belonging_to_another_area_overrides_a_wrong_code() {
        let areas = [
            ("E06000010", "Kingston upon Hull, City of"),
            ("E08000032", "Bradford"),
            ("E07000200", "Babergh"),
        ]
        .map(|(c, n)| AreaInfo {
            code: c.into(),
            name: n.into(),
            region_code: "R".into(),
            region_name: "R".into(),
        });
        let lookup = Lookup {
            districts: areas
                .iter()
                .map(|a| (a.code.clone(), a.name.clone(), a.code.clone()))
                .collect(),
            areas: areas.to_vec(),
            rows: 3,
        };
        let mut r = Resolver::new(&lookup, None).unwrap();
        r.history.insert("E07000004".into(), "E06000060".into());
        assert_eq!(
            r.resolve("E06000010", Some("Bradford")),
            ("E08000032".into(), true)
        );
        assert_eq!(
            r.resolve("E06000010", Some("Kingston upon Hull, City of")),
            ("E06000010".into(), false)
        );
        assert_eq!(
            r.resolve("E07000200", Some("Bamberg")),
            ("E07000200".into(), false),
            "a typo keeps the code"
        );
        assert_eq!(
            r.resolve("E07000004", Some("Aylesbury Vale")),
            ("E06000060".into(), false)
        );
    }
}
