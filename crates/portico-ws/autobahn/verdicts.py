"""What run.py (the client under Autobahn's fuzzing server) and run_server.py (the server
endpoint under its fuzzing client) share: the base cases, each case's verdict, the
tally line and the results file."""

import collections
import json

# Sections 1-10 (there is no section 8 in the suite).
BASE = [f"{n}.*" for n in (1, 2, 3, 4, 5, 6, 7, 9, 10)]
# Worse is higher. NON-STRICT and INFORMATIONAL are conformant.
RANK = {"OK": 0, "NON-STRICT": 1, "INFORMATIONAL": 1, "UNIMPLEMENTED": 2, "FAILED": 3, "ERROR": 3}


def verdict(r):
    b = r.behavior.value
    # A case whose closing handshake failed is not passed, whatever `behavior` says.
    if not r.passed and RANK.get(b, 3) < 2:
        return "FAILED"
    return b


def case_key(case):
    """Sorts "9.10" after "9.2"."""
    return [int(x) for x in case.split(".")]


def collect(results, label, elapsed, out=None):
    """Each case's verdict and details; prints `<label>: N cases in Ts: <tally>` and
    writes the details to `out` when given."""
    got = {r.case_id: verdict(r) for r in results}
    details = {r.case_id: {"behavior": r.behavior.value, "close": r.behavior_close.value,
                           "result": r.result, "result_close": r.result_close} for r in results}
    tally = collections.Counter(got.values())
    print(f"{label}: {len(got)} cases in {elapsed:.1f}s: " +
          ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    if out:
        with open(out, "w") as f:
            json.dump(details, f, indent=1, sort_keys=True)
    return got, details
