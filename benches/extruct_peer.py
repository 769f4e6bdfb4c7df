#!/usr/bin/env python3
"""The peer side of crawler/benches/extract.rs: Python's extruct on the same saved pages.

Usage: extruct_peer.py MANIFEST

MANIFEST is a TSV written by the Rust benchmark: one page per line, its file path and the
URL it is read as. Every file is read into memory first; the timed part is one pass of
extruct.extract() over every page, with JSON-LD and microdata (extruct's RDFa extractor is
a full RDFa processor and is left out; see the Rust side's docs), uniform=False (extruct's
plain output) and errors="ignore" (a syntax that raises on a page is skipped for that page,
and counted below, as a crawler would have to).

Prints one JSON object on stdout:
  seconds          wall time of the pass
  pages            pages extracted
  json_ld_items    JSON-LD items found, over all pages
  microdata_items  top-level microdata items found, over all pages
  errors           pages where extract() itself raised (it should not, with errors="ignore")
"""

import json
import sys
import time

try:
    import extruct
except ImportError:
    sys.stderr.write(
        "extruct is not installed for %s; run benches/run-extract.sh, which installs it "
        "into a virtualenv and runs the benchmark with it\n" % sys.executable
    )
    sys.exit(3)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: extruct_peer.py MANIFEST\n")
        sys.exit(2)
    pages = []
    with open(sys.argv[1], encoding="utf-8") as manifest:
        for line in manifest:
            if line.strip():
                path, url = line.rstrip("\n").split("\t")
                with open(path, "rb") as f:
                    pages.append((url, f.read()))

    json_ld = microdata = errors = 0
    start = time.perf_counter()
    for url, data in pages:
        try:
            found = extruct.extract(
                data,
                base_url=url,
                syntaxes=["json-ld", "microdata"],
                uniform=False,
                errors="ignore",
            )
        except Exception:  # noqa: BLE001 - counted, as the crawler would record it
            errors += 1
            continue
        json_ld += len(found.get("json-ld", []))
        microdata += len(found.get("microdata", []))
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "pages": len(pages),
                "json_ld_items": json_ld,
                "microdata_items": microdata,
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
