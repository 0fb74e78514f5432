"""Runs Autobahn cases 1-10 against the portico-ws server endpoint through kosoku's
fuzzing client (12 and 13 are permessage-deflate, which the server does not offer).

Usage: python run_server.py SERVER_BINARY [--out RESULTS_JSON] [--cases 1.* ...]

Prints the tally of behaviours; exits non-zero if any case FAILED (or errored).
"""

import argparse
import asyncio
import sys
import time

from kosoku import FailureError, run_fuzzingclient

from verdicts import BASE as CASES, case_key, collect


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--out")
    ap.add_argument("--cases", nargs="+", default=CASES)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    proc = await asyncio.create_subprocess_exec(args.server, "127.0.0.1:0",
                                                stdout=asyncio.subprocess.PIPE)
    try:
        addr = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
        t0 = time.monotonic()
        try:
            results = await asyncio.wait_for(
                run_fuzzingclient(f"ws://{addr}/", cases=args.cases), timeout=args.timeout)
        except FailureError as f:
            results = f.results
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
        await proc.wait()

    got, details = collect(results, "autobahn (server)", elapsed, args.out)
    bad = sorted((c for c, v in got.items() if v in ("FAILED", "ERROR")), key=case_key)
    for c in bad:
        print(f"  {c}: {got[c]}  {details[c]['result']}  / {details[c]['result_close']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
