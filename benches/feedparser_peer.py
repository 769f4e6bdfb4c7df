#!/usr/bin/env python3
"""The peer side of benches/ingest.rs: Python's feedparser parsing the same feed files.

Usage: feedparser_peer.py DIR

DIR holds the generated feeds and manifest.tsv (file, format, content type, base URL,
items), both written by the Rust benchmark. Every file is read into memory first; the
timed part is feedparser.parse() alone over every file feedparser can read, repeated
EARSHOT_BENCH_REPS times (default 5). feedparser is called as a user would call it: with
its defaults (sanitising HTML, resolving relative links) and told the Content-Type and
the URL the bytes came from, as an HTTP fetch would have told it.

Prints one JSON object on stdout:
  items            entries per run (all runs must agree)
  expected_items   entries the generator wrote into the parsed files
  files            files parsed per run
  median_seconds   median wall time of one run
  runs             every run's wall time, in seconds
  bozo_files       files feedparser flagged as ill-formed (in the last run)
  skipped          files left out of the timing, with why
"""

import json
import os
import statistics
import sys
import time

try:
    import feedparser
except ImportError:
    sys.stderr.write(
        "feedparser is not installed for %s; run benches/run-ingest.sh, which installs it "
        "into a virtualenv and runs the benchmark with it\n" % sys.executable
    )
    sys.exit(3)


def load(directory):
    """Every manifest row with its bytes: (name, format, content_type, base, items, data)."""
    rows = []
    with open(os.path.join(directory, "manifest.tsv"), encoding="utf-8") as manifest:
        for line in manifest:
            if not line.strip() or line.startswith("#"):
                continue
            name, fmt, content_type, base, items = line.rstrip("\n").split("\t")
            with open(os.path.join(directory, name), "rb") as f:
                rows.append((name, fmt, content_type, base, int(items), f.read()))
    return rows


def parse_all(rows):
    """Parses every row once; returns (entries, bozo file names)."""
    entries = 0
    bozo = []
    for name, _fmt, content_type, base, _items, data in rows:
        result = feedparser.parse(
            data,
            response_headers={"content-type": content_type, "content-location": base},
        )
        entries += len(result.entries)
        if result.bozo:
            bozo.append(name)
    return entries, bozo


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: feedparser_peer.py DIR\n")
        sys.exit(2)
    reps = int(os.environ.get("EARSHOT_BENCH_REPS", "5"))
    rows = load(sys.argv[1])
    # feedparser 6.0.x has no JSON Feed parser: handed one, it returns no entries. Those
    # files are left out of the timing, and the untimed check below shows what it made
    # of them, so the report can say so instead of assuming it.
    xml = [r for r in rows if r[1] != "json"]
    json_rows = [r for r in rows if r[1] == "json"]
    json_entries, _ = parse_all(json_rows)

    runs = []
    counts = set()
    bozo = []
    for _ in range(reps):
        start = time.perf_counter()
        entries, bozo = parse_all(xml)
        runs.append(time.perf_counter() - start)
        counts.add(entries)
    if len(counts) != 1:
        sys.stderr.write("feedparser returned different entry counts across runs: %r\n" % counts)
        sys.exit(1)
    print(
        json.dumps(
            {
                "feedparser_version": feedparser.__version__,
                "python_version": sys.version.split()[0],
                "items": counts.pop(),
                "expected_items": sum(r[4] for r in xml),
                "files": len(xml),
                "median_seconds": statistics.median(runs),
                "runs": runs,
                "bozo_files": bozo,
                "skipped": {
                    "files": len(json_rows),
                    "items": sum(r[4] for r in json_rows),
                    "entries_feedparser_found_in_them": json_entries,
                    "why": "JSON Feed: feedparser %s has no JSON Feed parser" % feedparser.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
