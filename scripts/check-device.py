#!/usr/bin/env python3
"""The device's name and login, checked from its network (run inside the test's
namespace).

Usage: check-device.py DEVICE_ADDR LOCAL_ADDR NAME [PASSWORD]

Asks for NAME (e.g. portico.local) over mDNS (RFC 6762) the two ways a client does: as
a one-shot "legacy" resolver from an ephemeral port (the answer comes back unicast, with
the query's id) and as a full mDNS querier on port 5353 (the answer is multicast to
224.0.0.251). Each must give DEVICE_ADDR. Then fetches http://NAME/ with the device
reached at its address: the Host allowlist must answer 200, and 421 for a name that is
not the device's; a malformed head gets the core's 400 with the security headers.
LOCAL_ADDR is this side's address on the link (the interface the
multicast query leaves by). With PASSWORD (the device started with it), through NAME:
/api/status answers 401 without a session, POST /api/login 401 for a wrong password and
200 with a session cookie for the right one, and /api/status 200 with that cookie.
Exits non-zero with the reason on any failure.
"""
import http.client
import json
import random
import socket
import struct
import sys

GROUP, PORT = "224.0.0.251", 5353


def query(name, qid):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", 1, 1)


def skip_name(msg, at):
    while True:
        n = msg[at]
        if n == 0:
            return at + 1
        if n & 0xC0 == 0xC0:  # compression pointer
            return at + 2
        at += 1 + n


def read_name(msg, at):
    labels = []
    while True:
        n = msg[at]
        if n == 0:
            return ".".join(labels)
        if n & 0xC0 == 0xC0:
            at = ((n & 0x3F) << 8) | msg[at + 1]
            continue
        labels.append(msg[at + 1 : at + 1 + n].decode())
        at += 1 + n


def a_records(msg):
    """(id, [(name, address)]) of a DNS response."""
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if not flags & 0x8000:
        return qid, []  # a query (our own, looped back), not an answer
    at = 12
    for _ in range(qd):
        at = skip_name(msg, at) + 4
    out = []
    for _ in range(an):
        name = read_name(msg, at)
        at = skip_name(msg, at)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[at : at + 10])
        at += 10
        if rtype == 1 and rdlen == 4:
            out.append((name.lower(), socket.inet_ntoa(msg[at : at + 4])))
        at += rdlen
    return qid, out


def ask(name, local, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    iface = socket.inet_aton(local)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    if port == PORT:  # a full querier hears the multicast answer
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + iface)
    s.settimeout(1.0)
    qid = 0 if port == PORT else random.randrange(1, 65535)  # §18.1: multicast id 0
    for _attempt in range(5):
        s.sendto(query(name, qid), (GROUP, PORT))
        try:
            while True:
                msg, peer = s.recvfrom(9000)
                rid, records = a_records(msg)
                hits = [a for n, a in records if n == name.lower()]
                if hits and (port == PORT or rid == qid):
                    return hits[0], peer
        except socket.timeout:
            continue
    return None, None


def status(addr, host):
    c = http.client.HTTPConnection(addr, 80, timeout=10)
    c.request("GET", "/", headers={"Host": host})
    r = c.getresponse()
    r.read()
    return r.status


def malformed_answer_headers(addr):
    """The status and header names of the device's answer to a malformed head (written by
    the core's loop, not the application)."""
    s = socket.create_connection((addr, 80), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost " + addr.encode() + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    return status, {l.split(":")[0].strip().lower() for l in lines[1:] if ":" in l}


def request(addr, method, path, headers, body=None):
    c = http.client.HTTPConnection(addr, 80, timeout=10)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    return r.status, r.getheader("Set-Cookie")


def answer(addr, method, path, headers, body=None):
    """(status, headers) of one request; the path is sent as written (no normalising)."""
    c = http.client.HTTPConnection(addr, 80, timeout=10)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in headers.items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body.encode() if body is not None else None)
    r = c.getresponse()
    r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def http_checks(device, name):
    """(what, got, want) for the shared-network rules that need no password."""
    host = {"Host": name}
    out = []
    # Another site's page may not change anything: 403, and the sessions stay.
    cross = dict(host, Origin="http://evil.example", **{"Content-Type": "application/json"})
    out.append(("POST /api/logout from another site", answer(device, "POST", "/api/logout", cross, "")[0], 403))
    # Paths that climb above the root are malformed.
    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"):
        out.append((f"GET {path}", answer(device, "GET", path, host)[0], 400))
    # A cache that holds one representation revalidates it whatever it asks for next.
    _, plain = answer(device, "GET", "/", host)
    _, gz = answer(device, "GET", "/", dict(host, **{"Accept-Encoding": "gzip"}))
    for what, tag in (("identity", plain.get("etag")), ("gzip", gz.get("etag"))):
        status, h = answer(device, "GET", "/", dict(host, **{"Accept-Encoding": "gzip", "If-None-Match": tag or '"none"'}))
        ok = status == 304 and h.get("etag") == tag
        out.append((f"If-None-Match with the {what} ETag {tag} (304 naming it; got ETag {h.get('etag')})", 304 if ok else status, 304))
    return out


def login_checks(device, name, password):
    """(what, got, want) for each step of a login through the mDNS name."""
    host = {"Host": name}
    post = dict(host, Origin=f"http://{name}", **{"Content-Type": "application/json"})
    out = [("GET /api/status without a session", request(device, "GET", "/api/status", host)[0], 401)]
    wrong = json.dumps({"password": password + "x"})
    out.append(("POST /api/login, wrong password", request(device, "POST", "/api/login", post, wrong)[0], 401))
    status, cookie = request(device, "POST", "/api/login", post, json.dumps({"password": password}))
    out.append(("POST /api/login", status, 200))
    session = (cookie or "").split(";")[0]
    got = request(device, "GET", "/api/status", dict(host, Cookie=session))[0]
    out.append(("GET /api/status with the session cookie", got, 200))
    # Guessing is slowed: wrong passwords soon get 429 with a Retry-After of at most a
    # minute (the owner is never locked out for longer).
    limited = None
    for _ in range(30):
        status, h = answer(device, "POST", "/api/login", post, wrong)
        if status == 429:
            limited = h.get("retry-after")
            break
    ok = limited is not None and 0 < int(limited) <= 60
    out.append((f"repeated wrong passwords -> 429, Retry-After {limited}", 429 if ok else status, 429))
    return out


def main():
    device, local, name = sys.argv[1:4]
    password = sys.argv[4] if len(sys.argv) > 4 else None
    failed = False
    for how, port in (("legacy query from an ephemeral port (unicast answer)", 0),
                      ("mDNS querier on port 5353 (multicast answer)", PORT)):
        got, peer = ask(name, local, port)
        ok = got == device
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {name} by {how}: {got} from {peer}")
    for host, want in ((name, 200), ("evil.example", 421)):
        got = status(device, host)
        ok = got == want
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: GET / with Host: {host} -> {got} (want {want})")
    for what, got, want in http_checks(device, name):
        ok = got == want
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {what} -> {got} (want {want})")
    code, names = malformed_answer_headers(device)
    ok = code == 400 and {"x-content-type-options", "referrer-policy"} <= names
    failed |= not ok
    print(f"{'ok' if ok else 'FAIL'}: a malformed head -> {code} with {sorted(names)}")
    for what, got, want in login_checks(device, name, password) if password else []:
        ok = got == want
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {what} -> {got} (want {want})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
