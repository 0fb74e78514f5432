import { writable } from 'svelte/store';
import { getAll } from './api.js';

export const HISTORY_LEN = 180;
const PARTS = ['status', 'connections', 'pool', 'memory', 'link'];

/**
 * Live data source for the dashboard.
 *
 * 1. start(): fetches every endpoint once (through trackedFetch), then opens
 *    the server-sent event stream at /api/events ("snapshot" events).
 * 2. EventSource reconnects by itself; while it does, mode is "reconnecting".
 * 3. After `maxErrors` errors without a message in between, the stream is
 *    closed and the endpoints are polled every `pollMs` through trackedFetch
 *    (mode "polling", or "offline" when nothing answers); a new stream is
 *    tried every `sseRetryMs` and polling stops at its first message.
 * 4. A stream silent for `staleMs` counts as an error and is reopened.
 *
 * State: { mode, data: {status, connections, pool, memory, link}, updatedAt,
 *          error, history: { t: [], sockets: [], freeInternal: [] } }
 */
export function createLive(options = {}) {
  const {
    url = '/api/events',
    EventSourceImpl = globalThis.EventSource,
    fetchAll = getAll,
    pollMs = 2000,
    maxErrors = 3,
    sseRetryMs = 15_000,
    staleMs = 10_000,
    reopenMs = 1000,
    sampleMinMs = 900,
    now = () => Date.now(),
  } = options;

  const initial = () => ({
    mode: 'connecting',
    data: {},
    updatedAt: null,
    error: null,
    history: { t: [], sockets: [], freeInternal: [] },
  });
  const store = writable(initial());
  let state = initial();
  const set = (patch) => {
    state = { ...state, ...patch };
    store.set(state);
  };

  let running = false;
  let source = null;
  let sseErrors = 0;
  let polling = false;
  let pollTimer = null;
  let probeTimer = null;
  let reopenTimer = null;
  let watchdog = null;
  let lastSample = -Infinity;

  function apply(parts, mode) {
    const data = { ...state.data };
    let any = false;
    for (const k of PARTS) {
      const v = parts && parts[k];
      if (v && typeof v === 'object') {
        data[k] = v;
        any = true;
      }
    }
    if (!any) return false;
    const t = now();
    let history = state.history;
    if (t - lastSample >= sampleMinMs) {
      lastSample = t;
      const internal = Array.isArray(data.memory?.regions)
        ? data.memory.regions.find((r) => r && r.name === 'internal')
        : null;
      const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      const push = (a, v) => {
        const out = a.length >= HISTORY_LEN ? a.slice(a.length - HISTORY_LEN + 1) : a.slice();
        out.push(v);
        return out;
      };
      history = {
        t: push(history.t, t),
        sockets: push(history.sockets, n(data.connections?.open)),
        freeInternal: push(history.freeInternal, n(internal?.free)),
      };
    }
    set({ data, updatedAt: t, history, mode: mode ?? state.mode, error: null });
    return true;
  }

  // ---- server-sent events -------------------------------------------------

  function closeSse() {
    clearTimeout(watchdog);
    clearTimeout(reopenTimer);
    watchdog = reopenTimer = null;
    if (source) {
      const es = source;
      source = null;
      es.onerror = es.onopen = null;
      try {
        es.close();
      } catch {
        /* ignore */
      }
    }
  }

  function armWatchdog(es) {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => sseFailed(es, true), staleMs);
  }

  function openSse() {
    closeSse();
    if (!running || typeof EventSourceImpl !== 'function') {
      if (running && !polling) startPolling();
      return;
    }
    let es;
    try {
      es = new EventSourceImpl(url);
    } catch {
      sseErrors = maxErrors;
      startPolling();
      return;
    }
    source = es;
    es.addEventListener('snapshot', (ev) => {
      if (source !== es) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // malformed message: ignore, the watchdog catches a dead stream
      }
      sseErrors = 0;
      armWatchdog(es);
      if (polling) stopPolling();
      apply(msg, 'live');
      if (state.mode !== 'live') set({ mode: 'live' });
    });
    es.onopen = () => {
      if (source === es) armWatchdog(es);
    };
    es.onerror = () => sseFailed(es, false);
    armWatchdog(es);
  }

  // An error on the stream (or a stream that went silent: forced).
  function sseFailed(es, forced) {
    if (source !== es || !running) return;
    sseErrors += 1;
    if (polling) {
      // A probe failed while we poll: drop it and try again later.
      closeSse();
      scheduleProbe();
      return;
    }
    if (sseErrors >= maxErrors) {
      closeSse();
      startPolling();
      scheduleProbe();
      return;
    }
    set({ mode: 'reconnecting' });
    // EventSource retries by itself unless it gave up (readyState CLOSED, e.g.
    // after an HTTP error or a wrong content type) or we forced it.
    const CLOSED = EventSourceImpl.CLOSED ?? 2;
    if (forced || es.readyState === CLOSED) {
      closeSse();
      reopenTimer = setTimeout(openSse, reopenMs * sseErrors);
    } else {
      armWatchdog(es);
    }
  }

  function scheduleProbe() {
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => {
      probeTimer = null;
      if (running && polling) openSse();
    }, sseRetryMs);
  }

  // ---- polling fallback ---------------------------------------------------

  function startPolling() {
    if (polling || !running) return;
    polling = true;
    set({ mode: 'polling' });
    pollOnce();
  }

  function stopPolling() {
    polling = false;
    clearTimeout(pollTimer);
    clearTimeout(probeTimer);
    pollTimer = probeTimer = null;
  }

  async function pollOnce() {
    pollTimer = null;
    let result;
    try {
      result = await fetchAll();
    } catch (e) {
      result = { snapshot: {}, errors: [e] };
    }
    if (!polling || !running) return;
    if (!apply(result.snapshot, 'polling')) {
      set({ mode: 'offline', error: firstMessage(result.errors) });
    }
    pollTimer = setTimeout(pollOnce, pollMs);
  }

  // ---- lifecycle ----------------------------------------------------------

  async function start() {
    if (running) return;
    running = true;
    sseErrors = 0;
    let result;
    try {
      result = await fetchAll();
    } catch (e) {
      result = { snapshot: {}, errors: [e] };
    }
    if (!running) return;
    if (!apply(result.snapshot) && result.errors.length) {
      set({ error: firstMessage(result.errors) });
    }
    if (!source && !polling) openSse();
  }

  function stop() {
    running = false;
    closeSse();
    stopPolling();
  }

  return { subscribe: store.subscribe, start, stop };
}

function firstMessage(errors) {
  const e = errors && errors[0];
  return e ? String(e.message || e) : 'no answer';
}
