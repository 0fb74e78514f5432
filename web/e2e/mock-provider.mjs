#!/usr/bin/env node
// Stand-in for the Rust provider, for developing the dashboard and running the
// e2e without it. Serves web/dist and the documented JSON API plus the SSE
// stream. Its own HTTP sockets are reported as the connection table.
//
//   node e2e/mock-provider.mjs [--bind 127.0.0.1:8080] [--api-delay-ms N] [--dist DIR]
//
// --api-delay-ms delays every JSON endpoint under /api/ (not the event stream).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

function parseArgs(argv) {
  const out = { bind: '127.0.0.1:8080', apiDelayMs: 0, dist: fileURLToPath(new URL('../dist', import.meta.url)) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? a.split(/=(.*)/s) : [a, undefined];
    const val = () => (inline !== undefined ? inline : argv[++i]);
    if (flag === '--bind') out.bind = val();
    else if (flag === '--api-delay-ms') out.apiDelayMs = Number(val()) || 0;
    else if (flag === '--dist') out.dist = resolve(val());
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: mock-provider.mjs [--bind HOST:PORT] [--api-delay-ms N] [--dist DIR]');
      process.exit(0);
    } else {
      console.error(`mock-provider: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const m = /^(.*):(\d+)$/.exec(args.bind);
if (!m) {
  console.error(`mock-provider: --bind wants HOST:PORT, got ${args.bind}`);
  process.exit(2);
}
const host = m[1].replace(/^\[|\]$/g, '');
const port = Number(m[2]);

const started = Date.now();
const uptime = () => Date.now() - started;
const MAX_SOCKETS = 24;
const KiB = 1024;

const config = {
  bind: args.bind,
  max_sockets: MAX_SOCKETS,
  stack_sockets: 32,
  lru_purge: true,
  pool_buffers: 10,
  pool_chunk: 4096,
  internal_ram: 320 * KiB,
  psram: 0,
  upstream: null,
  api_delay_ms: args.apiDelayMs,
  idle_timeout_ms: 10000,
  head_timeout_ms: 5000,
  per_peer_cap: 8,
};

// The provider's counters, in its order (src/lib/fixtures/connections.json is a real one).
const counters = {
  accepted: 0,
  evicted_idle: 0,
  evicted_silent: 0,
  evicted_peer_cap: 0,
  evicted_stream: 0,
  evicted_slow: 0,
  refused_503: 0,
  timeout_head: 0,
  timeout_body: 0,
  timeout_send: 0,
  timeout_idle: 0,
  closed: 0,
  requests: 0,
};
const recentEvictions = [];
const sockets = new Map(); // socket -> info
let nextId = 0;

function connectionsJson() {
  const now = Date.now();
  const list = [...sockets.values()].map((c) => ({
    id: c.id,
    peer: c.peer,
    state: c.state,
    age_ms: now - c.opened,
    idle_ms: c.state === 'idle' ? now - c.lastActive : 0,
    requests: c.requests,
  }));
  const by = (s) => list.filter((c) => c.state === s).length;
  return {
    open: list.length,
    cap: MAX_SOCKETS,
    idle: by('idle'),
    active: list.length - by('idle') - by('stream'),
    streams: by('stream'),
    pending: 0,
    counters: { ...counters },
    connections: list,
    recent_evictions: recentEvictions.slice(-8),
  };
}

function poolJson() {
  const leased = Math.min(10, [...sockets.values()].filter((c) => c.state !== 'idle').length);
  poolJson.high = Math.max(poolJson.high || 0, leased);
  return {
    chunks: 10,
    chunk_size: 4096,
    allocated: Math.max(leased, 2),
    leased,
    high_water: poolJson.high,
    waits: 0,
    timeouts: 0,
    alloc_failures: 0,
    placement: 'prefer_internal',
  };
}

function memoryJson() {
  const pool = poolJson();
  const used = 48 * KiB + pool.allocated * 4096 + sockets.size * 1536 + Math.round(2048 * Math.sin(uptime() / 7000) + 2048);
  memoryJson.peak = Math.max(memoryJson.peak || 0, used);
  return {
    regions: [
      { name: 'internal', capacity: config.internal_ram, used, peak: memoryJson.peak, free: config.internal_ram - used, failures: 0 },
      { name: 'external', capacity: 0, used: 0, peak: 0, free: 0, failures: 0 },
    ],
  };
}

const linkJson = () => ({
  configured: false,
  url: null,
  state: 'disabled',
  connects: 0,
  reconnects: 0,
  last_error: null,
  rtt_ms: null,
  memory: [{ block: 'rx_buffer', bytes: 4096, region: 'external' }],
});

const statusJson = () => ({ version: '0.1.0', uptime_ms: uptime(), config });

const snapshot = () => ({
  status: statusJson(),
  connections: connectionsJson(),
  pool: poolJson(),
  memory: memoryJson(),
  link: linkJson(),
});

const API = {
  '/api/status': statusJson,
  '/api/connections': connectionsJson,
  '/api/pool': poolJson,
  '/api/memory': memoryJson,
  '/api/link': linkJson,
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function serveStatic(req, res, path) {
  const rel = path === '/' ? 'index.html' : decodeURIComponent(path.slice(1));
  const file = normalize(join(args.dist, rel));
  if (!file.startsWith(args.dist + sep)) return send(res, 403, 'text/plain', 'forbidden');
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    send(res, 404, 'text/plain', 'not found');
  }
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function serveEvents(req, res, info) {
  if (info) info.state = 'stream';
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  const push = () => res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`);
  push();
  const timer = setInterval(push, 1000);
  req.on('close', () => clearInterval(timer));
}

const server = http.createServer(async (req, res) => {
  const info = sockets.get(req.socket);
  if (info) {
    info.state = 'handler';
    info.requests += 1;
    counters.requests += 1;
    info.lastActive = Date.now();
    res.on('finish', () => {
      info.state = 'idle';
      info.lastActive = Date.now();
    });
  }
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
  if (path === '/api/events') return serveEvents(req, res, info);
  if (API[path]) {
    if (args.apiDelayMs > 0) await sleep(args.apiDelayMs);
    return send(res, 200, 'application/json', JSON.stringify(API[path]()));
  }
  if (path.startsWith('/api/')) return send(res, 404, 'application/json', '{"error":"not found"}');
  return serveStatic(req, res, path);
});

server.keepAliveTimeout = config.idle_timeout_ms;
server.on('connection', (socket) => {
  counters.accepted += 1;
  const id = `${nextId++}.0`;
  sockets.set(socket, {
    id,
    peer: `${socket.remoteAddress}:${socket.remotePort}`,
    state: 'head',
    opened: Date.now(),
    lastActive: Date.now(),
    requests: 0,
  });
  socket.on('close', () => {
    const c = sockets.get(socket);
    sockets.delete(socket);
    counters.closed += 1;
    // An idle timeout is a timeout, not an eviction: the provider lists only evictions.
    if (c && c.state === 'idle' && Date.now() - c.lastActive >= config.idle_timeout_ms - 50) {
      counters.timeout_idle += 1;
    }
  });
});

server.listen(port, host, () => {
  console.log(`mock-provider listening on http://${args.bind} (api delay ${args.apiDelayMs} ms, dist ${args.dist})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}
