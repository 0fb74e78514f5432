"""An independent WebSocket server (Python `websockets`) for the portico-ws tests.

Prints `PORT <n>` once listening. Paths choose the behaviour:
  /echo       echo every message
  /fragments  send a text and a binary message in fragments, then echo
  /ping       ping the client, wait for its pong, then send "pong-ok"
  /close      close with 4001 "bye"
  /midframe   write half a frame, then drop the TCP connection
  /deflate    send the negotiated Sec-WebSocket-Extensions value, then echo
"""

import argparse
import asyncio
import sys

from websockets.asyncio.server import serve


async def handler(ws):
    path = ws.request.path
    if path == "/fragments":
        await ws.send(["frag", "men", "ted"])
        await ws.send([b"\x01\x02", b"\x03"])
    elif path == "/ping":
        waiter = await ws.ping(b"srv")
        await asyncio.wait_for(waiter, timeout=5)
        await ws.send("pong-ok")
    elif path == "/close":
        await ws.close(4001, "bye")
        return
    elif path == "/deflate":
        await ws.send(ws.response.headers.get("Sec-WebSocket-Extensions", "none"))
    elif path == "/midframe":
        # A binary frame announcing 100 bytes, of which only 10 arrive.
        ws.transport.write(b"\x82\x64" + b"x" * 10)
        await asyncio.sleep(0.05)
        ws.transport.abort()
        return
    async for msg in ws:
        await ws.send(msg)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    async with serve(handler, "127.0.0.1", args.port, ping_interval=None, max_size=2**24) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
