"""Runs Autobahn cases 1-10, 12 and 13 against the portico-ws echo client through kosoku.

Usage: python run.py CLIENT_BINARY EXPECTED_JSON [--update] [--out RESULTS_JSON]
                     [--cases 1.* 12.1.* ...]

kosoku exits non-zero whenever a case is UNIMPLEMENTED, so the verdict here comes from
the per-case behaviours, compared with the committed baseline: any case worse than its
expected behaviour is a regression and fails the run.
"""

import argparse
import asyncio
import collections
import json
import sys
import time

from kosoku import FailureError, run_fuzzingserver

# There is no section 8 in the suite; 11 does not exist either. 12 and 13 are
# permessage-deflate.
CASES = [f"{n}.*" for n in (1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13)]
# Worse is higher. NON-STRICT and INFORMATIONAL are conformant.
RANK = {"OK": 0, "NON-STRICT": 1, "INFORMATIONAL": 1, "UNIMPLEMENTED": 2, "FAILED": 3, "ERROR": 3}


def verdict(r):
    b = r.behavior.value
    # A case whose closing handshake failed is not passed, whatever `behavior` says.
    if not r.passed and RANK.get(b, 3) < 2:
        return "FAILED"
    return b


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("client")
    ap.add_argument("expected")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=150)
    ap.add_argument("--cases", nargs="+", default=CASES)
    args = ap.parse_args()

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

    got = {r.case_id: verdict(r) for r in results}
    details = {r.case_id: {"behavior": r.behavior.value, "close": r.behavior_close.value,
                           "result": r.result, "result_close": r.result_close} for r in results}
    tally = collections.Counter(got.values())
    print(f"autobahn: {len(got)} cases in {elapsed:.1f}s: " +
          ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(details, f, indent=1, sort_keys=True)

    key = lambda c: [int(x) for x in c.split(".")]
    if args.update:
        with open(args.expected, "w") as f:
            json.dump(dict(sorted(got.items(), key=lambda kv: key(kv[0]))), f, indent=1)
            f.write("\n")
        print(f"wrote {args.expected}")
        return 0

    with open(args.expected) as f:
        expected = json.load(f)
    bad = []
    for case, want in sorted(expected.items(), key=lambda kv: key(kv[0])):
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
