"""An independent DuckDB computation of a pipeline's record indicators, for benches/e2e.sh.

Reads the same pipeline file and the same Parquet records as `jsna run`, and computes what the
indicator stage computes for the records source: for every proportion and median indicator,
population group, area, region, the total and financial year, the numerator and denominator
counts (or the median), with Wilson 95% and 99.8% intervals for proportions. Rates and
representation indexes of records get their record counts the same way (the numerator is every
record meeting the conditions); their population denominators are not joined. It applies the
basic row checks (a date that parses, an age from 0 to 120, an area in the lookup, an
assessment not before its referral) but not the code-list checks, so counts can differ from
jsna's by the few rows jsna quarantines. It does not do disclosure control, comparisons, gaps,
trends or rendering, so it is a lower bound for the same work, not a like-for-like run.

    python3 benches/duckdb_indicators.py PIPELINE.toml OUT.parquet
"""

import pathlib
import sys
import time
import tomllib

import duckdb


def date(col: str) -> str:
    return (
        f"COALESCE(TRY_STRPTIME(TRIM({col}), '%Y-%m-%d'), "
        f"TRY_STRPTIME(TRIM({col}), '%d/%m/%Y'))::DATE"
    )


def main() -> None:
    pipeline = pathlib.Path(sys.argv[1]).resolve()
    out = pathlib.Path(sys.argv[2]).resolve()
    base = pipeline.parent
    spec = tomllib.loads(pipeline.read_text())
    records = next(s for s in spec["sources"].values() if s["kind"] == "records")
    lookup = base / spec["areas"]["lookup"]
    groups = spec.get("groups", {})
    indicators = [
        i
        for i in spec["indicators"]
        if spec["sources"][i["source"]]["kind"] == "records"
    ]

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(
        f"CREATE TABLE areas AS SELECT lad_code, region_code FROM read_csv('{lookup}', all_varchar = true)"
    )
    con.execute(
        f"""
        CREATE VIEW typed AS
        SELECT * REPLACE (
                 TRY_CAST(TRIM(age) AS INTEGER) AS age,
                 {date('referral_date')} AS referral_date,
                 {date('assessment_date')} AS assessment_date,
                 {date('decision_date')} AS decision_date)
        FROM read_parquet('{base / records['path']}')
        """
    )
    con.execute(
        """
        CREATE VIEW r AS
        SELECT t.*, a.region_code,
               date_diff('day', referral_date, assessment_date) AS days_to_assessment,
               date_diff('day', referral_date, decision_date) AS days_to_decision,
               year(referral_date) - CASE WHEN month(referral_date) < 4 THEN 1 ELSE 0 END AS period
        FROM typed t JOIN areas a ON a.lad_code = t.area_code
        WHERE referral_date IS NOT NULL AND age BETWEEN 0 AND 120
          AND (assessment_date IS NULL OR assessment_date >= referral_date)
        """
    )
    # One row per record and group it belongs to.
    members = " UNION ALL ".join(
        f"SELECT '{gid}' AS grp, * FROM r WHERE {g['filter']}" for gid, g in groups.items()
    )
    aggs = []
    for k, ind in enumerate(indicators):
        allowed = ind.get("groups")
        only = f" AND grp IN ({', '.join(repr(g) for g in allowed)})" if allowed else ""
        if ind["method"] == "median":
            den = ind.get("denominator", f"{ind['value']} IS NOT NULL")
            aggs.append(
                f"median({ind['value']}) FILTER (WHERE ({den}){only}) AS n{k}, "
                f"count(*) FILTER (WHERE ({den}){only}) AS d{k}"
            )
        else:
            den = ind.get("denominator", "TRUE")
            aggs.append(
                f"count(*) FILTER (WHERE ({den}) AND ({ind.get('numerator', 'TRUE')}){only}) AS n{k}, "
                f"count(*) FILTER (WHERE ({den}){only}) AS d{k}"
            )
    con.execute(
        f"""
        CREATE TABLE wide AS
        SELECT grp, COALESCE(area_code, region_code, 'total') AS area, period, {', '.join(aggs)}
        FROM ({members})
        GROUP BY GROUPING SETS ((grp, area_code, region_code, period), (grp, region_code, period), (grp, period))
        """
    )
    pairs = ", ".join(f"(n{k}, d{k}) AS \"{ind['id']}\"" for k, ind in enumerate(indicators))
    z95, z998 = 1.959963984540054, 3.090232306167813
    wilson = lambda z, sign: (  # noqa: E731
        f"100 * (2 * n + {z * z} {sign} {z} * sqrt({z * z} + 4 * n * (1 - n / d))) / (2 * (d + {z * z}))"
    )
    con.execute(
        f"""
        COPY (
          SELECT indicator, grp, area, period, n AS numerator, d AS denominator,
                 CASE WHEN d > 0 THEN 100 * n / d END AS value,
                 CASE WHEN d > 0 THEN {wilson(z95, '-')} END AS lower95,
                 CASE WHEN d > 0 THEN {wilson(z95, '+')} END AS upper95,
                 CASE WHEN d > 0 THEN {wilson(z998, '-')} END AS lower998,
                 CASE WHEN d > 0 THEN {wilson(z998, '+')} END AS upper998
          FROM (UNPIVOT wide ON {pairs} INTO NAME indicator VALUE n, d)
          WHERE d IS NOT NULL
          ORDER BY ALL
        ) TO '{out}' (FORMAT parquet)
        """
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    print(f"duckdb {duckdb.__version__}: {rows} indicator rows in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
