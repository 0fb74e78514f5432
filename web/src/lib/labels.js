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

const REASONS = {
  lru_idle: 'idle connection reclaimed (LRU)',
  idle: 'idle connection reclaimed',
  peer_cap: 'per-peer cap reached',
  per_peer_cap: 'per-peer cap reached',
  stream: 'stream evicted',
  timeout: 'timed out',
  idle_timeout: 'idle timeout expired',
};

export function reasonText(reason) {
  return REASONS[reason] || null;
}

export const COUNTER_LABELS = {
  accepted: 'Accepted',
  closed: 'Closed',
  evicted_idle: 'Evicted: idle (LRU)',
  evicted_peer_cap: 'Evicted: per-peer cap',
  evicted_stream: 'Evicted: stream',
  refused_503: 'Refused (503)',
  timeout_head: 'Timeout: head',
  timeout_body: 'Timeout: body',
  timeout_send: 'Timeout: send',
  timeout_idle: 'Timeout: idle',
};
