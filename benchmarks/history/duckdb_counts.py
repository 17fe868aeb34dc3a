#!/usr/bin/env python3
"""DuckDB's per-event counts of a history.jsonl: the comparison for `swiftdeploy audit --format json`.

Usage: duckdb_counts.py HISTORY   → {"records": N, "events": {"deploy": n, …}} on stdout.
Torn (unparseable) lines are skipped, as the audit skips them.
"""
import json
import sys

import duckdb


def main():
    path = sys.argv[1]
    con = duckdb.connect()
    rows = con.execute(
        "SELECT event, count(*) FROM read_json(?, format = 'newline_delimited', ignore_errors = true, "
        "columns = {'event': 'VARCHAR'}) WHERE event IS NOT NULL GROUP BY event",
        [path],
    ).fetchall()
    events = {event: count for event, count in rows}
    print(json.dumps({"records": sum(events.values()), "events": events}, sort_keys=True))


if __name__ == "__main__":
    main()
