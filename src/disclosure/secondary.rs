//! Secondary suppression: further cells are suppressed so that no suppressed count can be
//! worked out from published ones by addition or subtraction.
//!
//! Every published count is a variable with its true value. The additive relations an attacker
//! can use are equations `total = Σ parts` that hold exactly in the true counts:
//! - geography: a region is the sum of its areas and the total the sum of the regions, for every
//!   count of every indicator, group and period;
//! - the same count published twice under different definitions (a denominator that equals
//!   another indicator's count everywhere): `x = y`;
//! - categories that split a denominator (recorded, declined, not known, not asked): the
//!   denominator is the sum of their counts;
//! - population groups that split another group for the same count (women and men within all
//!   service users): the larger group's count is the sum.
//!
//! Relations are found from the counts themselves, so an analyst who adds indicators by TOML gets
//! them protected without declaring anything.
//!
//! Two rules apply. Structurally, no equation may hold exactly one suppressed cell (nor a
//! suppressed total with no suppressed part), so no suppressed count is ever a plain difference
//! of published ones. Then each suppressed count must be protected: the range an attacker can
//! narrow it to must be wider than the threshold. The attacker is given the equations, the
//! range each published count was rounded from (10 means 8 to 12 with rounding to 5), that a
//! `[c]` is at least 1 and that a count is at most its denominator. Ranges are found by
//! interval propagation over the equations.
//! Complementary cells are chosen to lose as little as possible: the fewest published cells
//! hidden first (a denominator shared by many indicators comes last), then the smallest value,
//! then the position, so the pattern is deterministic.

use super::{Cell, PublishedRow};
use crate::indicators::{CountRow, Counts, Level};
use crate::pipeline::plan::{DisclosureRule, Plan};
use crate::pipeline::spec::Method;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, VecDeque};

/// `total = Σ parts` in the true counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Equation {
    pub total: usize,
    pub parts: Vec<usize>,
    /// Derived from others through unpublished (auxiliary) variables: it strengthens the
    /// attacker's reasoning but is not a table of its own, so the quick rule does not apply.
    pub derived: bool,
}

/// The counts of one release and the relations between them.
#[derive(Debug, Clone, Default)]
pub struct System {
    /// True (unrounded) value of each variable.
    pub values: Vec<f64>,
    /// Whether each variable is suppressed (primary, then secondary too).
    pub suppressed: Vec<bool>,
    pub equations: Vec<Equation>,
    /// `(count, denominator)`: the count is at most its denominator, and a suppressed
    /// denominator suppresses the count over it.
    pub within: Vec<(usize, usize)>,
    /// The primary rule: counts from 1 to `threshold` are suppressed, others rounded to a
    /// multiple of `rounding`.
    pub threshold: f64,
    pub rounding: f64,
    /// How many published cells suppressing each variable would hide (default 1): a
    /// denominator shared by many indicators is the last choice of complement.
    pub weight: Vec<f64>,
    /// Zeros are suppressed by the primary rule, so a `[c]` may be 0 and a suppressed zero
    /// needs protecting like any other count.
    pub zeros_hidden: bool,
    /// Unpublished helper variables (the records of a denominator outside its count), always
    /// unknown, never protected and never chosen as complements.
    pub auxiliary: Vec<bool>,
    /// See [`System::search_exhausted`].
    exhausted: bool,
}

/// What protection did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Variables suppressed by the secondary rule.
    pub secondary: Vec<usize>,
    /// Suppressed variables that could not be protected further (every related cell is
    /// already suppressed or zero). The run fails, naming them, if there are any.
    pub unprotected: Vec<usize>,
}

impl System {
    pub fn add_var(&mut self, value: f64, suppressed: bool) -> usize {
        self.values.push(value);
        self.suppressed.push(suppressed);
        self.weight.push(1.0);
        self.auxiliary.push(false);
        self.values.len() - 1
    }

    /// Adds an unpublished helper variable.
    fn add_auxiliary(&mut self, value: f64) -> usize {
        let v = self.add_var(value, true);
        self.auxiliary[v] = true;
        self.weight[v] = f64::INFINITY;
        v
    }

    /// Adds `total = Σ parts` if it holds exactly in the true values.
    pub fn add_equation(&mut self, total: usize, parts: Vec<usize>) -> bool {
        self.push_equation(total, parts, false)
    }

    fn push_equation(&mut self, total: usize, parts: Vec<usize>, derived: bool) -> bool {
        let sum: f64 = parts.iter().map(|&p| self.values[p]).sum();
        if parts.is_empty() || (sum - self.values[total]).abs() > 1e-6 {
            return false;
        }
        self.equations.push(Equation {
            total,
            parts,
            derived,
        });
        true
    }

    /// Gives the attacker the records of each denominator outside its count, `s = d − c ≥ 0`, as
    /// unknowns with their own sums: wherever counts add up and their denominators add up in
    /// the same way, so do the differences. Interval propagation then sees what an attacker
    /// solving all equations together sees through `count ≤ denominator`.
    pub fn add_differences(&mut self) {
        let mut den_of: HashMap<usize, Option<usize>> = HashMap::default();
        for &(c, d) in &self.within {
            den_of
                .entry(c)
                .and_modify(|x| {
                    if *x != Some(d) {
                        *x = None
                    }
                })
                .or_insert(Some(d));
        }
        let mut slack: HashMap<usize, usize> = HashMap::default();
        let mut slack_of = |system: &mut System, c: usize| -> Option<usize> {
            let d = den_of.get(&c).copied().flatten()?;
            if let Some(&s) = slack.get(&c) {
                return Some(s);
            }
            let s = system.add_auxiliary(system.values[d] - system.values[c]);
            system.push_equation(d, vec![c, s], true);
            slack.insert(c, s);
            Some(s)
        };
        for e in 0..self.equations.len() {
            let eq = self.equations[e].clone();
            if eq.derived {
                continue;
            }
            let Some(total) = slack_of(self, eq.total) else {
                continue;
            };
            let parts: Option<Vec<usize>> = eq.parts.iter().map(|&p| slack_of(self, p)).collect();
            if let Some(parts) = parts {
                self.push_equation(total, parts, true);
            }
        }
    }

    /// A new system under the primary rule given.
    /// Whether the search for counts that add up to others ran out of steps, so some relations
    /// between published cells may be missing from the system (protection not guaranteed).
    pub fn search_exhausted(&self) -> bool {
        self.exhausted
    }

    pub fn new(threshold: f64, rounding: f64) -> System {
        System {
            threshold,
            rounding: rounding.max(1.0),
            ..Default::default()
        }
    }

    /// The published (rounded) value of a count.
    fn published(&self, v: usize) -> f64 {
        (self.values[v] / self.rounding).round() * self.rounding
    }

    /// Suppresses further cells until every suppressed count is protected.
    pub fn protect(&mut self) -> Outcome {
        let primary = self.suppressed.clone();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); self.values.len()];
        for (e, eq) in self.equations.iter().enumerate() {
            members[eq.total].push(e);
            for &p in &eq.parts {
                members[p].push(e);
            }
        }
        let mut hides: Vec<Vec<usize>> = vec![Vec::new(); self.values.len()];
        for &(count, den) in &self.within {
            hides[den].push(count);
        }
        let mut unprotected = Vec::new();
        // Denominators suppressed by the primary rule already hide their counts.
        let mut queue = VecDeque::new();
        for v in 0..self.values.len() {
            if self.suppressed[v] {
                self.suppress(v, &hides, &members, &mut queue);
            }
        }
        loop {
            self.settle(&hides, &members, &mut queue);
            let failing = self.check();
            if failing.is_empty() {
                break;
            }
            let mut changed = false;
            // One complement per failing count, unless a complement chosen this round already
            // sits in one of its equations (it may be enough; the next check will tell).
            let mut touched = vec![false; self.equations.len()];
            for v in failing {
                if members[v].iter().any(|&e| touched[e]) {
                    continue;
                }
                let best = self.nearest_complement(v, &members);
                match best {
                    Some(c) => {
                        self.suppress(c, &hides, &members, &mut queue);
                        for &e in &members[c] {
                            touched[e] = true;
                        }
                        changed = true;
                    }
                    None => continue,
                }
            }
            if !changed {
                unprotected = self.check();
                break;
            }
        }
        unprotected.sort_unstable();
        unprotected.dedup();
        Outcome {
            secondary: (0..self.values.len())
                .filter(|&v| self.suppressed[v] && !primary[v])
                .collect(),
            unprotected,
        }
    }

    /// The cheapest published cell in an equation with `v`; failing that, in an equation with
    /// a suppressed cell of those equations, one step further out (a count pinned by a published
    /// zero beside it is protected by hiding a total further away).
    fn nearest_complement(&self, v: usize, members: &[Vec<usize>]) -> Option<usize> {
        let mut seen_vars = HashSet::from_iter([v]);
        let mut seen_eqs = HashSet::default();
        let mut frontier = vec![v];
        // Two steps: further out the cheapest cell is often a regional or national total.
        for _hop in 0..2 {
            let mut candidates = Vec::new();
            let mut next = Vec::new();
            for &x in &frontier {
                for &e in &members[x] {
                    if !seen_eqs.insert(e) {
                        continue;
                    }
                    let eq = &self.equations[e];
                    for c in std::iter::once(eq.total).chain(eq.parts.iter().copied()) {
                        if !self.suppressed[c] && self.values[c] > 0.0 {
                            candidates.push(c);
                        } else if self.suppressed[c] && seen_vars.insert(c) {
                            next.push(c);
                        }
                    }
                }
            }
            if let Some(best) = candidates.into_iter().min_by(|&a, &b| self.cost(a, b)) {
                return Some(best);
            }
            if next.is_empty() {
                return None;
            }
            frontier = next;
        }
        None
    }

    /// Which of two candidate complements loses less: fewer cells hidden, then the smaller
    /// value, then the earlier position.
    fn cost(&self, a: usize, b: usize) -> std::cmp::Ordering {
        self.weight[a]
            .total_cmp(&self.weight[b])
            .then(self.values[a].total_cmp(&self.values[b]))
            .then(a.cmp(&b))
    }

    fn suppress(
        &mut self,
        v: usize,
        hides: &[Vec<usize>],
        members: &[Vec<usize>],
        queue: &mut VecDeque<usize>,
    ) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            self.suppressed[v] = true;
            queue.extend(members[v].iter().copied());
            for &c in &hides[v] {
                if !self.suppressed[c] && self.values[c] > 0.0 {
                    stack.push(c);
                }
            }
        }
    }

    /// The quick rule on each equation touched: an equation with one suppressed cell gets a
    /// second (a suppressed total needs a suppressed part), so no suppressed count is ever a
    /// plain difference of published ones.
    fn settle(
        &mut self,
        hides: &[Vec<usize>],
        members: &[Vec<usize>],
        queue: &mut VecDeque<usize>,
    ) {
        while let Some(e) = queue.pop_front() {
            let eq = &self.equations[e];
            if eq.derived {
                continue;
            }
            let total_suppressed = self.suppressed[eq.total];
            let hidden: Vec<usize> = eq
                .parts
                .iter()
                .copied()
                .filter(|&p| self.suppressed[p])
                .collect();
            let short = if total_suppressed {
                hidden.is_empty()
            } else {
                hidden.len() == 1
            };
            if !short {
                continue;
            }
            let part = eq
                .parts
                .iter()
                .copied()
                .filter(|&p| !self.suppressed[p] && self.values[p] > 0.0)
                .min_by(|&a, &b| self.cost(a, b));
            let pick = match part {
                Some(p) => Some(p),
                None if !total_suppressed && self.values[eq.total] > 0.0 => Some(eq.total),
                None => None,
            };
            if let Some(p) = pick {
                self.suppress(p, hides, members, queue);
                queue.push_back(e);
            }
        }
    }

    /// The range an attacker can narrow each variable to, by interval propagation.
    pub fn ranges(&self) -> (Vec<f64>, Vec<f64>) {
        self.propagate(true)
    }

    fn propagate(&self, use_equations: bool) -> (Vec<f64>, Vec<f64>) {
        let n = self.values.len();
        let mut lo = vec![0.0; n];
        let mut hi = vec![0.0; n];
        for v in 0..n {
            if self.auxiliary[v] {
                (lo[v], hi[v]) = (0.0, f64::INFINITY);
            } else if self.suppressed[v] {
                lo[v] = if self.values[v] >= 1.0 && !self.zeros_hidden {
                    1.0
                } else {
                    0.0
                };
                hi[v] = f64::INFINITY;
            } else if self.values[v] == 0.0 {
                (lo[v], hi[v]) = (0.0, 0.0);
            } else {
                // A published count is rounded: the attacker knows the range it came from.
                let p = self.published(v);
                lo[v] = (p - (self.rounding / 2.0).floor()).max(self.threshold + 1.0);
                hi[v] = p + (self.rounding / 2.0).ceil() - 1.0;
            }
        }
        let active: Vec<&Equation> = self
            .equations
            .iter()
            // Equations of published cells only count too: they narrow the rounding ranges, and
            // through `count ≤ denominator` those narrow suppressed counts.
            .filter(|_| use_equations)
            .collect();
        for _sweep in 0..200 {
            let mut changed = false;
            let mut tighten = |v: usize, l: f64, h: f64, lo: &mut [f64], hi: &mut [f64]| {
                if l > lo[v] + 1e-9 {
                    lo[v] = l;
                    changed = true;
                }
                if h < hi[v] - 1e-9 {
                    hi[v] = h;
                    changed = true;
                }
            };
            for eq in &active {
                let (sum_lo, sum_hi, inf) = eq.parts.iter().fold((0.0, 0.0, 0usize), |acc, &p| {
                    if hi[p].is_infinite() {
                        (acc.0 + lo[p], acc.1, acc.2 + 1)
                    } else {
                        (acc.0 + lo[p], acc.1 + hi[p], acc.2)
                    }
                });
                let parts_hi = if inf > 0 { f64::INFINITY } else { sum_hi };
                tighten(eq.total, sum_lo, parts_hi, &mut lo, &mut hi);
                let (t_lo, t_hi) = (lo[eq.total], hi[eq.total]);
                for &p in &eq.parts {
                    let others_hi = if hi[p].is_infinite() {
                        if inf > 1 {
                            f64::INFINITY
                        } else {
                            sum_hi
                        }
                    } else if inf > 0 {
                        f64::INFINITY
                    } else {
                        sum_hi - hi[p]
                    };
                    let others_lo = sum_lo - lo[p];
                    tighten(p, t_lo - others_hi, t_hi - others_lo, &mut lo, &mut hi);
                }
            }
            for &(count, den) in &self.within {
                let (l, h) = (lo[count], hi[den].min(hi[count]));
                tighten(count, l, h, &mut lo, &mut hi);
                let l = lo[den].max(lo[count]);
                let h = hi[den];
                tighten(den, l, h, &mut lo, &mut hi);
            }
            if !changed {
                break;
            }
        }
        (lo, hi)
    }

    /// Suppressed non-zero variables whose range is not wider than the threshold, and narrower
    /// than the published row alone already gives (a count of at most a published denominator
    /// of 8 is known to lie in [1, 8] whatever else is suppressed).
    pub fn check(&self) -> Vec<usize> {
        let threshold = self.threshold;
        let (lo, hi) = self.propagate(true);
        let (base_lo, base_hi) = self.propagate(false);
        (0..self.values.len())
            .filter(|&v| {
                let width = hi[v] - lo[v];
                self.suppressed[v]
                    && !self.auxiliary[v]
                    && (self.values[v] > 0.0 || self.zeros_hidden)
                    && width <= threshold
                    && width < base_hi[v] - base_lo[v] - 1e-9
            })
            .collect()
    }
}

/// The variables of each published row: its count and, for a proportion, its denominator.
#[derive(Debug, Clone, Copy)]
pub struct RowVars {
    pub count: usize,
    pub denominator: Option<usize>,
}

/// A count's definition and population group: one series of cells over areas and periods.
type Series = (usize, Option<usize>, crate::indicators::Slice);

/// What a count counts: two counts with the same definition are the same count. Conditions are
/// kept as (whitespace-normalised) text in their own fields, so no character in a condition can
/// make two definitions look alike or break the link between them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Def {
    /// Records meeting `den` and `num` (a proportion's numerator, a rate of records).
    Count {
        base: Base,
        den: String,
        num: String,
    },
    /// Records meeting `den` (a proportion's denominator, a representation index's count).
    Den { base: Base, den: String },
    /// The values a median is taken over.
    Values {
        base: Base,
        den: String,
        num: String,
    },
    /// A published table's count, per indicator.
    Rate { base: Base, num: String, id: String },
    /// All records meeting `den`, whatever the group (representation).
    All { base: Base, den: String },
}

/// The source a count is taken from and, for a rolling sum, the periods it sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Base {
    source: usize,
    rolling: Option<u32>,
}

impl Def {
    fn base(&self) -> Base {
        match self {
            Def::Count { base, .. }
            | Def::Den { base, .. }
            | Def::Values { base, .. }
            | Def::Rate { base, .. }
            | Def::All { base, .. } => *base,
        }
    }

    /// The same definition over single periods.
    fn single_period(&self) -> Def {
        let mut d = self.clone();
        match &mut d {
            Def::Count { base, .. }
            | Def::Den { base, .. }
            | Def::Values { base, .. }
            | Def::Rate { base, .. }
            | Def::All { base, .. } => base.rolling = None,
        }
        d
    }
}

/// The definitions of an indicator's count and, where it has one that counts people, its
/// denominator.
fn definitions(plan: &Plan, indicator: usize) -> (Def, Option<Def>) {
    let ind = &plan.indicators[indicator];
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    // A rolling sum is another count than a single period's, named by its window.
    let base = Base {
        source: ind.source,
        rolling: ind.rolling,
    };
    let (den, num) = (norm(&ind.denominator_sql), norm(&ind.numerator_sql));
    match ind.method {
        Method::Proportion => (
            Def::Count {
                base,
                den: den.clone(),
                num,
            },
            Some(Def::Den { base, den }),
        ),
        Method::Median => (Def::Values { base, den, num }, None),
        // A rate of records counts what a proportion with the same conditions counts.
        Method::Rate if ind.from_records(plan) => (Def::Count { base, den, num }, None),
        Method::Rate | Method::Count => (
            Def::Rate {
                base,
                num,
                id: ind.id.clone(),
            },
            None,
        ),
        // A group's records meeting the condition are a proportion's denominator; all records
        // meeting it are the same in every group.
        Method::Representation => (
            Def::Den {
                base,
                den: den.clone(),
            },
            Some(Def::All { base, den }),
        ),
    }
}

/// Builds the variables and equations of a release from the unsuppressed counts and the rows
/// after the primary rule.
pub fn link(
    plan: &Plan,
    counts: &Counts,
    rows: &[PublishedRow],
    rule: DisclosureRule,
) -> (System, Vec<Option<RowVars>>) {
    let mut system = System::new(rule.threshold as f64, rule.rounding as f64);
    system.zeros_hidden = rule.suppress_zeros;
    // (definition, group, area, period) → variable
    let mut ids: HashMap<Def, usize> = HashMap::default();
    let mut keys: HashMap<crate::disclosure::RowKey, usize> = HashMap::default();
    // (definition, group) → (area, period) → variable, in order.
    let mut series: BTreeMap<Series, Cells> = BTreeMap::new();
    let mut var_for = |system: &mut System, def: &Def, r: &CountRow, value: f64, hidden: bool| {
        let n = ids.len();
        let d = *ids.entry(def.clone()).or_insert(n);
        let key = (d, r.group, r.slice, r.area, r.period);
        let v = *keys
            .entry(key)
            .or_insert_with(|| system.add_var(value, hidden));
        system.suppressed[v] |= hidden;
        series
            .entry((d, r.group, r.slice))
            .or_default()
            .insert((r.area, r.period), v);
        v
    };
    let mut row_vars: Vec<Option<RowVars>> = Vec::with_capacity(rows.len());
    for (r, row) in counts.rows.iter().zip(rows) {
        if super::exempt(plan, rule, r.indicator) || !r.numerator.is_finite() {
            row_vars.push(None);
            continue;
        }
        let (count_def, den_def) = definitions(plan, r.indicator);
        let count = var_for(
            &mut system,
            &count_def,
            r,
            r.numerator,
            row.count == Cell::Suppressed,
        );
        let denominator = match (den_def, r.denominator) {
            (Some(def), Some(d)) => {
                let v = var_for(&mut system, &def, r, d, row.denominator == Cell::Suppressed);
                system.within.push((count, v));
                Some(v)
            }
            _ => None,
        };
        row_vars.push(Some(RowVars { count, denominator }));
    }
    system.within.sort_unstable();
    system.within.dedup();
    let mut uses = vec![0.0; system.values.len()];
    for rv in row_vars.iter().flatten() {
        uses[rv.count] += 1.0;
        if let Some(d) = rv.denominator {
            uses[d] += 1.0;
        }
    }
    for &(count, den) in &system.within {
        uses[den] += uses[count];
    }
    system.weight = uses;
    let def_index: HashMap<usize, Def> = ids.iter().map(|(k, &v)| (v, k.clone())).collect();

    // Geography: region = Σ its areas, total = Σ regions.
    for map in series.values() {
        let periods: std::collections::BTreeSet<i32> = map.keys().map(|k| k.1).collect();
        for &p in &periods {
            let mut regions = Vec::new();
            for (ri, region) in counts.areas.iter().enumerate() {
                if region.level != Level::Region {
                    continue;
                }
                let Some(&rv) = map.get(&(ri, p)) else {
                    continue;
                };
                regions.push(rv);
                let parts: Vec<usize> = counts
                    .areas
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.level == Level::Area && a.region == Some(ri))
                    .filter_map(|(ai, _)| map.get(&(ai, p)).copied())
                    .collect();
                system.add_equation(rv, parts);
            }
            let total = counts
                .areas
                .iter()
                .position(|a| a.level == Level::Total)
                .and_then(|t| map.get(&(t, p)));
            if let Some(&tv) = total {
                system.add_equation(tv, regions);
            }
        }
    }

    // The same count under two definitions: equal in every cell.
    // (area, period, value bits) of every cell of a series → the first series with them.
    let mut seen: HashMap<Vec<(usize, i32, u64)>, Series> = HashMap::default();
    for (key, map) in &series {
        if map.values().all(|&v| system.values[v] == 0.0) {
            continue;
        }
        let shape: Vec<(usize, i32, u64)> = map
            .iter()
            .map(|(&(a, p), &v)| (a, p, system.values[v].to_bits()))
            .collect();
        match seen.get(&shape) {
            Some(first) => {
                let first = &series[first];
                for (cell, &v) in map {
                    system.add_equation(first[cell], vec![v]);
                }
            }
            None => {
                seen.insert(shape, *key);
            }
        }
    }

    // Categories that split a denominator: counts with the same denominator whose sum is the
    // denominator in every cell.
    let mut families: BTreeMap<Series, Vec<usize>> = BTreeMap::new();
    for &(d, g, s) in series.keys() {
        if let Def::Count { base, den, .. } = &def_index[&d] {
            let den = Def::Den {
                base: *base,
                den: den.clone(),
            };
            if let Some(&dd) = ids.get(&den) {
                families.entry((dd, g, s)).or_default().push(d);
            }
        }
    }
    let mut budget = 200_000usize;
    for ((dd, g, s), members) in &families {
        let Some(den) = series.get(&(*dd, *g, *s)) else {
            continue;
        };
        let parts: Vec<&Cells> = members.iter().map(|m| &series[&(*m, *g, *s)]).collect();
        add_splits(&mut system, den, &parts, &mut budget);
    }

    // Breakdown categories split their group: the group's count is the sum of its
    // categories' counts (every record falls in exactly one category).
    for (&(d, g, s), whole) in &series {
        if s.is_some() {
            continue;
        }
        for (b, breakdown) in plan.breakdowns.iter().enumerate() {
            let parts: Option<Vec<&Cells>> = (0..breakdown.categories.len())
                .map(|c| series.get(&(d, g, Some((b, c)))))
                .collect();
            let Some(parts) = parts else { continue };
            for (cell, &total) in whole {
                let vars: Option<Vec<usize>> = parts.iter().map(|p| p.get(cell).copied()).collect();
                if let Some(vars) = vars {
                    system.add_equation(total, vars);
                }
            }
        }
    }

    // Groups that split another group for the same count (women and men within all users).
    let mut by_def: BTreeMap<(usize, crate::indicators::Slice), Vec<Option<usize>>> =
        BTreeMap::new();
    for &(d, g, s) in series.keys() {
        if g.is_some() {
            by_def.entry((d, s)).or_default().push(g);
        }
    }
    budget = 200_000;
    // Whole groups first, so the search budget goes to them before breakdown categories.
    let mut order: Vec<_> = by_def.iter().collect();
    order.sort_by_key(|((d, s), _)| (s.is_some(), *d, *s));
    for ((d, s), groups) in order {
        if groups.len() < 3 {
            continue;
        }
        for &t in groups {
            let parts: Vec<&Cells> = groups
                .iter()
                .filter(|&&g| g != t)
                .map(|&g| &series[&(*d, g, *s)])
                .collect();
            add_splits(&mut system, &series[&(*d, t, *s)], &parts, &mut budget);
        }
    }
    // A rolling sum is the sum of the single periods of the same count where those are
    // published too (by another indicator with the same conditions).
    for (&(d, g, s), rolled) in &series {
        let def = &def_index[&d];
        let Some(n) = def.base().rolling else {
            continue;
        };
        let base = def.single_period();
        let Some(single) = ids.get(&base).and_then(|b| series.get(&(*b, g, s))) else {
            continue;
        };
        for (&(a, p), &v) in rolled {
            let parts: Option<Vec<usize>> = crate::indicators::period::window(plan.period, p, n)
                .into_iter()
                .map(|q| single.get(&(a, q)).copied())
                .collect();
            if let Some(parts) = parts {
                system.add_equation(v, parts);
            }
        }
    }
    system.add_differences();
    (system, row_vars)
}

/// The cells of one series: (area, period) → variable.
type Cells = BTreeMap<(usize, i32), usize>;

/// Adds `total = Σ parts` in every cell, for each set of at least two of `members` whose counts
/// add up to `total`'s in every cell.
fn add_splits(system: &mut System, total: &Cells, members: &[&Cells], budget: &mut usize) {
    if *budget == 0 {
        system.exhausted = true;
        return;
    }
    let cells: Vec<(usize, i32)> = total.keys().copied().collect();
    let target: Vec<f64> = cells.iter().map(|c| system.values[total[c]]).collect();
    let usable: Vec<&Cells> = members
        .iter()
        .copied()
        .filter(|s| {
            cells.iter().all(|c| s.contains_key(c))
                && cells.iter().any(|c| system.values[s[c]] > 0.0)
        })
        .collect();
    let vectors: Vec<Vec<f64>> = usable
        .iter()
        .map(|s| cells.iter().map(|c| system.values[s[c]]).collect())
        .collect();
    let mut found = Vec::new();
    let mut sums = vec![0.0; cells.len()];
    split(
        &vectors,
        &target,
        0,
        &mut Vec::new(),
        &mut sums,
        &mut found,
        budget,
    );
    if *budget == 0 {
        system.exhausted = true;
    }
    for set in found {
        for cell in &cells {
            let parts: Vec<usize> = set.iter().map(|&k| usable[k][cell]).collect();
            system.add_equation(total[cell], parts);
        }
    }
}

/// Finds sets of at least two vectors that add up to the target in every cell (depth first,
/// within a budget of steps so a catalogue of many indicators stays fast).
fn split(
    vectors: &[Vec<f64>],
    target: &[f64],
    start: usize,
    chosen: &mut Vec<usize>,
    sums: &mut [f64],
    found: &mut Vec<Vec<usize>>,
    budget: &mut usize,
) {
    if chosen.len() >= 2 && sums.iter().zip(target).all(|(s, t)| (s - t).abs() < 1e-9) {
        found.push(chosen.clone());
        return;
    }
    for j in start..vectors.len() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let v = &vectors[j];
        if sums
            .iter()
            .zip(v)
            .zip(target)
            .any(|((s, x), t)| s + x > t + 1e-9)
        {
            continue;
        }
        for (s, x) in sums.iter_mut().zip(v) {
            *s += x;
        }
        chosen.push(j);
        split(vectors, target, j + 1, chosen, sums, found, budget);
        chosen.pop();
        for (s, x) in sums.iter_mut().zip(v) {
            *s -= x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A region of `areas` with its total; returns the system and the variables.
    fn region(areas: &[f64], rounding: f64) -> (System, Vec<usize>, usize) {
        let threshold = 7.0;
        let mut s = System::new(threshold, rounding);
        let vars: Vec<usize> = areas
            .iter()
            .map(|&v| s.add_var(v, v > 0.0 && v <= threshold))
            .collect();
        let sum: f64 = areas.iter().sum();
        let total = s.add_var(sum, sum > 0.0 && sum <= threshold);
        assert!(s.add_equation(total, vars.clone()));
        (s, vars, total)
    }

    #[test]
    fn one_suppressed_area_gets_a_complement_the_smallest_other() {
        let (mut s, vars, total) = region(&[3.0, 40.0, 20.0, 100.0], 1.0);
        let out = s.protect();
        assert_eq!(out.secondary, vec![vars[2]], "the 20, not the 40 or 100");
        assert!(!s.suppressed[total]);
        assert!(out.unprotected.is_empty());
        let (lo, hi) = s.ranges();
        assert_eq!((lo[vars[0]], hi[vars[0]]), (1.0, 22.0));
    }

    #[test]
    fn two_small_suppressed_areas_are_not_enough_on_their_own_unless_rounding_hides_them() {
        // Unrounded, 115 - 50 - 60 = 5 = 3 + 2: each lies in [1, 4], too narrow.
        let (mut exact, vars, _) = region(&[3.0, 2.0, 50.0, 60.0], 1.0);
        let out = exact.protect();
        assert_eq!(out.secondary, vec![vars[2]], "the smaller of 50 and 60");
        assert!(exact.check().is_empty());
        let (lo, hi) = exact.ranges();
        assert!(hi[0] - lo[0] > 7.0);
        // Rounded to 5, the difference is only known to lie in [-1, 11]: each small count lies
        // in [1, 10], which is wide enough without a complement.
        let (mut rounded, vars, _) = region(&[3.0, 2.0, 50.0, 60.0], 5.0);
        assert!(rounded.protect().secondary.is_empty());
        let (lo, hi) = rounded.ranges();
        assert_eq!((lo[vars[0]], hi[vars[0]]), (1.0, 10.0));
    }

    #[test]
    fn an_equation_holding_no_suppressed_cell_is_left_alone() {
        let (mut s, _, _) = region(&[30.0, 40.0, 0.0], 5.0);
        assert_eq!(s.protect(), Outcome::default());
    }

    #[test]
    fn a_suppressed_total_needs_a_suppressed_part() {
        // A region of two areas, 0 and 5: the region total is 5 (suppressed) and equals the area.
        let mut s = System::new(7.0, 5.0);
        let a = s.add_var(0.0, false);
        let b = s.add_var(5.0, true);
        let r = s.add_var(5.0, true);
        let r2 = s.add_var(100.0, false);
        let t = s.add_var(105.0, false);
        assert!(s.add_equation(r, vec![a, b]));
        assert!(s.add_equation(t, vec![r, r2]));
        let out = s.protect();
        // The other region must go, or England minus it gives the 5.
        assert!(s.suppressed[r2], "{out:?}");
        assert!(s.check().is_empty());
    }

    #[test]
    fn a_denominator_suppressed_as_a_complement_hides_its_count_and_bounds_it() {
        let mut s = System::new(7.0, 5.0);
        let count = s.add_var(4.0, true);
        let den = s.add_var(9.0, false);
        s.within.push((count, den));
        // The count's range is [1, 9]: wider than 7, so the published denominator is fine.
        assert!(s.check().is_empty());
        s.within.clear();
        let c2 = s.add_var(6.0, false);
        s.within.push((c2, den));
        let den2 = s.add_var(30.0, false);
        let total = s.add_var(39.0, false);
        assert!(s.add_equation(total, vec![den, den2]));
        s.suppressed[den] = true;
        let out = s.protect();
        assert!(
            s.suppressed[c2],
            "the count over a suppressed denominator is hidden"
        );
        assert!(out.secondary.contains(&den2));
    }

    #[test]
    fn an_equation_that_does_not_hold_is_refused() {
        let mut s = System::new(7.0, 5.0);
        let a = s.add_var(3.0, true);
        let t = s.add_var(4.0, false);
        assert!(!s.add_equation(t, vec![a]));
    }

    #[test]
    fn protection_is_deterministic_and_idempotent() {
        let areas = [3.0, 12.0, 12.0, 5.0, 80.0, 0.0, 7.0, 15.0];
        let (mut a, _, _) = region(&areas, 5.0);
        let (mut b, _, _) = region(&areas, 5.0);
        let first = a.protect();
        assert_eq!(first, b.protect());
        assert_eq!(a.suppressed, b.suppressed);
        let again = a.protect();
        assert!(
            again.secondary.is_empty(),
            "protecting twice changes nothing"
        );
    }
}
