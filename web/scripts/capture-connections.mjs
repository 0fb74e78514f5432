// Captures a real /api/connections document from the provider for the label test
// (src/lib/labels.test.js): every counter, and an eviction for every reason the
// server has, each provoked on purpose. Run it again when the server gains a counter
// or a reason; the label test then fails until the new key has a label.
//
//   cargo build -p provider
//   PROVIDER_BIN=../target/debug/provider node scripts/capture-connections.mjs
//
// Writes src/lib/fixtures/connections.json. Loopback only: each simulated peer has its
// own 127.0.0.x address, so the per-peer rules see different peers.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../src/lib/fixtures/connections.json', import.meta.url));
const bin = process.env.PROVIDER_BIN || '../target/debug/provider';
// Two sockets, one connection per peer, streams evictable: every victim rule reachable.
const provider = spawn(bin, ['--bind', '127.0.0.1:0', '--max-sockets', '2', '--per-peer-cap', '1', '--evict-streams'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  let seen = '';
  provider.stdout.on('data', (d) => {
    seen += d;
    const m = seen.match(/http:\/\/[\d.]+:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  provider.on('exit', (code) => reject(new Error(`provider exited (${code}) before listening`)));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GRACE_MS = 1000; // conn::Policy::fresh_grace_ms

/** A connection from 127.0.0.`host`, collecting what it receives. */
function open(host) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${host}` }, () => resolve(s));
    s.received = '';
    s.on('data', (d) => (s.received += d));
    s.on('error', () => {});
    s.once('error', reject);
  });
}
/** One GET on `s`; resolves once a whole response (Content-Length framed) is in. */
async function get(s, path) {
  const from = s.received.length;
  s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  for (let i = 0; i < 200; i++) {
    const r = s.received.slice(from);
    const end = r.indexOf('\r\n\r\n');
    const len = /content-length:\s*(\d+)/i.exec(r);
    if (end >= 0 && len && r.length >= end + 4 + Number(len[1])) return r;
    if (end >= 0 && /text\/event-stream/i.test(r)) return r;
    await sleep(10);
  }
  throw new Error(`no answer to ${path}`);
}
const close = async (...socks) => {
  for (const s of socks) s.end();
  await sleep(200);
};

try {
  // peer_cap: .2 already holds its one connection; its second one takes that one's place.
  const a1 = await open(2);
  await get(a1, '/api/status');
  const b1 = await open(3);
  await get(b1, '/api/status');
  const a2 = await open(2);
  await get(a2, '/api/status');
  // lru_idle: a third peer, nobody over the cap: the least recently used idle goes.
  const c1 = await open(4);
  await get(c1, '/api/status');
  await close(a1, b1, a2, c1);
  // silent: a preconnect that never speaks, next to an event stream; past the grace.
  const e1 = await open(5);
  await get(e1, '/api/events');
  const s1 = await open(6);
  await sleep(GRACE_MS + 200);
  const n1 = await open(7);
  await get(n1, '/api/status');
  await close(s1, n1);
  // slow_head: a head still dripping past the grace period.
  const d1 = await open(8);
  d1.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
  await sleep(GRACE_MS + 200);
  const m1 = await open(9);
  await get(m1, '/api/status');
  await close(d1, m1);
  // stream: the only other connection is a head within its grace period.
  const p1 = await open(10);
  p1.write('GET / HTTP/1.1\r\n');
  await sleep(50);
  const q1 = await open(11);
  await get(q1, '/api/status');
  await close(p1, q1, e1);

  const probe = await open(12);
  const r = await get(probe, '/api/connections');
  const doc = JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4));
  probe.end();
  const reasons = [...new Set(doc.recent_evictions.map((e) => e.reason))].sort();
  writeFileSync(OUT, JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${OUT}: counters ${Object.keys(doc.counters).join(', ')}; reasons ${reasons.join(', ')}`);
} finally {
  provider.kill();
}
