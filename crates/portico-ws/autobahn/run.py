"""Runs Autobahn cases 1-10, 12 and 13 against the portico-ws echo client through kosoku.

Usage: python run.py CLIENT_BINARY EXPECTED_JSON [--update] [--out RESULTS_JSON]
                     [--all | --cases 1.* 12.1.* ...]

kosoku exits non-zero whenever a case is UNIMPLEMENTED, so the verdict here comes from
the per-case behaviours, compared with the committed baseline: any case worse than its
expected behaviour is a regression and fails the run.
"""

import argparse
import asyncio
import fnmatch
import json
import sys
import time

from kosoku import FailureError, run_fuzzingserver

from verdicts import BASE, RANK, case_key, collect

# 11 does not exist. 12 and 13 are permessage-deflate: 216 cases of 1,000 echoes each, up to 128 KiB per message (about
# 11 GB in all, ten minutes here). CI runs every one of their 12 groups (5 kinds of data,
# 7 negotiations) at five message shapes: 16 B, 256 B, 4 KiB, 16 KiB, and 8 KiB in
# 256-byte fragments; `--all` runs the rest too.
DEFLATE_SHAPES = (1, 3, 5, 7, 11)
DEFLATE_CI = [f"12.{g}.{i}" for g in range(1, 6) for i in DEFLATE_SHAPES] + \
    [f"13.{g}.{i}" for g in range(1, 8) for i in DEFLATE_SHAPES]
CASES = BASE + DEFLATE_CI
ALL = BASE + ["12.*", "13.*"]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("client")
    ap.add_argument("expected")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=150)
    ap.add_argument("--cases", nargs="+", default=CASES)
    ap.add_argument("--all", action="store_true", help="every case of 12 and 13 too")
    args = ap.parse_args()
    if args.all:
        args.cases = ALL

    t0 = time.monotonic()
    async with run_fuzzingserver(args.cases, None, host="127.0.0.1", port=0) as server:
        url = f"ws://127.0.0.1:{server.port}"
        proc = await asyncio.create_subprocess_exec(args.client, url, "portico-ws")
        try:
            try:
                results = await asyncio.wait_for(server.get_result(), timeout=args.timeout)
            except FailureError as f:
                results = f.results
        finally:
            if proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), timeout=10)
                except asyncio.TimeoutError:
                    proc.kill()
    elapsed = time.monotonic() - t0

    got, details = collect(results, "autobahn", elapsed, args.out)

    if args.update:
        # Merge: a partial run updates its cases and keeps the others.
        try:
            with open(args.expected) as f:
                merged = json.load(f)
        except FileNotFoundError:
            merged = {}
        merged.update(got)
        with open(args.expected, "w") as f:
            json.dump(dict(sorted(merged.items(), key=lambda kv: case_key(kv[0]))), f, indent=1)
            f.write("\n")
        print(f"wrote {args.expected}")
        return 0

    with open(args.expected) as f:
        expected = json.load(f)
    # The baseline holds every case; compare those this run was asked for.
    expected = {c: v for c, v in expected.items()
                if any(fnmatch.fnmatchcase(c, p) for p in args.cases)}
    bad = []
    for case, want in sorted(expected.items(), key=lambda kv: case_key(kv[0])):
        have = got.get(case, "MISSING")
        if RANK.get(have, 3) > RANK.get(want, 3):
            bad.append(f"  {case}: expected {want}, got {have}  {details.get(case, {}).get('result', '')}")
    failed = [c for c, v in got.items() if v in ("FAILED", "ERROR")]
    if bad:
        print("autobahn: REGRESSIONS:\n" + "\n".join(bad))
        return 1
    print(f"autobahn: no regression against {args.expected} ({len(failed)} FAILED/ERROR in baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
