"""Echo client for ws_deflate_bench: Python `websockets` with its default
permessage-deflate (zlib, context takeover both ways), N text round trips.

Usage: python ws_bench_client.py URL N MESSAGE_FILE   (prints round trips per second)
"""

import asyncio
import sys
import time

from websockets.asyncio.client import connect


async def main():
    url, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    msg = open(path, encoding="utf-8").read()
    async with connect(url, max_size=2**24) as ws:
        t0 = time.monotonic()
        for _ in range(n):
            await ws.send(msg)
            await ws.recv()
        print(f"{n / (time.monotonic() - t0):.1f}", flush=True)


asyncio.run(main())
