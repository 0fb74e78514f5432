// Colour tones (CSS classes "ok" | "warn" | "bad" | "muted") for states.
export function linkTone(state) {
  switch (state) {
    case 'connected':
      return 'ok';
    case 'connecting':
    case 'backoff':
      return 'warn';
    case 'stopped':
      return 'bad';
    default:
      return 'muted';
  }
}

export function connTone(state) {
  switch (state) {
    case 'idle':
      return 'muted';
    case 'stream':
      return 'ok';
    case 'head':
    case 'body':
    case 'handler':
    case 'response':
      return 'warn';
    default:
      return 'muted';
  }
}

export function modeTone(mode) {
  return mode === 'live' ? 'ok' : mode === 'offline' ? 'bad' : 'warn';
}

// Every name below is one the server sends; labels.test.js checks both directions
// against a captured /api/connections (src/lib/fixtures/connections.json, written by
// scripts/capture-connections.mjs) and against the Rust sources that define them.

/** Why a connection was evicted (`recent_evictions[].reason`, `conn::EvictReason`). */
export const REASONS = {
  lru_idle: 'Idle keep-alive, least recently used',
  peer_cap: 'Idle keep-alive of a peer over its per-peer cap',
  silent: 'Opened, then silent past the grace period (preconnect)',
  slow_head: 'Request head still dripping past the grace period (slowloris)',
  stream: 'Event stream (--evict-streams)',
};

/** The eviction counters (`evicted_*`): what each one counts. */
const EVICTED = {
  evicted_idle: 'idle (LRU)',
  evicted_silent: 'silent preconnect',
  evicted_peer_cap: 'per-peer cap',
  evicted_slow: 'slow head',
  evicted_stream: 'stream',
};

/** Counters of `/api/connections` (`conn::Counters`). */
export const COUNTER_LABELS = {
  accepted: 'Accepted',
  requests: 'Requests answered',
  closed: 'Closed',
  ...Object.fromEntries(Object.entries(EVICTED).map(([k, v]) => [k, `Evicted: ${v}`])),
  refused_503: 'Refused (503)',
  timeout_head: 'Timeout: head',
  timeout_body: 'Timeout: body',
  timeout_send: 'Timeout: send',
  timeout_idle: 'Timeout: idle',
};

/** `evicted_slow` → "Evicted slow": a key a newer server sends is still shown as words. */
export function humanize(key) {
  const words = String(key).replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function reasonText(reason) {
  return REASONS[reason] ?? humanize(reason);
}

export function counterLabel(key) {
  return COUNTER_LABELS[key] ?? humanize(key);
}

/** What an eviction counter counts, for a line under the total. */
export function evictedLabel(key) {
  return EVICTED[key] ?? humanize(String(key).replace(/^evicted_/, '')).toLowerCase();
}

/** Eviction counters (`evicted_*`), whatever the server sends, for the total. */
export function evictionCounters(counters) {
  return Object.keys(counters ?? {}).filter((k) => k.startsWith('evicted_'));
}
