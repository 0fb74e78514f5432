import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { writable } from 'svelte/store';
import App from '../App.svelte';

// A stand-in for createLive(): a store the test sets by hand.
function fakeLive(state) {
  const s = writable({ mode: 'connecting', data: {}, updatedAt: null, error: null, history: { t: [], sockets: [], freeInternal: [] }, ...state });
  return { subscribe: s.subscribe, set: s.set, start() {}, stop() {} };
}

const FULL = {
  status: { version: '0.1.0', uptime_ms: 3_723_000, config: { bind: '127.0.0.1:8080' } },
  connections: {
    open: 3, cap: 24, idle: 2, active: 1, streams: 0, pending: 0,
    counters: { accepted: 10, evicted_idle: 1, refused_503: 0 },
    connections: [{ id: '3.1', peer: '127.0.0.1:5555', state: 'idle', age_ms: 1200, idle_ms: 300, requests: 4 }],
    recent_evictions: [{ id: '2.0', peer: '127.0.0.1:5000', reason: 'lru_idle', at_ms: 1000 }],
  },
  pool: { chunks: 10, chunk_size: 4096, allocated: 2, leased: 1, high_water: 2 },
  memory: { regions: [{ name: 'internal', capacity: 327680, used: 8192, peak: 8192, free: 319488, failures: 0 }] },
  link: { state: 'connected', url: 'ws://example.invalid/x', memory: [{ block: 'rx_buffer', bytes: 4096, region: 'external' }] },
};

const tid = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent.trim();

describe('App', () => {
  let app;
  afterEach(() => {
    unmount(app);
    location.hash = '';
    document.body.innerHTML = '';
  });

  it('shows dashes while data is missing', () => {
    app = mount(App, { target: document.body, props: { live: fakeLive({}) } });
    flushSync();
    expect(tid('uptime')).toBe('—');
    expect(tid('sockets-open')).toBe('—');
    expect(tid('pool-leased')).toBe('—');
    expect(tid('link-state')).toBe('—');
    expect(tid('live-indicator')).toBe('connecting');
    expect(document.querySelector('[data-testid="spinner"]')).toBeNull();
  });

  it('renders values and survives malformed parts', () => {
    const live = fakeLive({ mode: 'live', data: FULL });
    app = mount(App, { target: document.body, props: { live } });
    flushSync();
    expect(tid('uptime')).toBe('1h 02m 03s');
    expect(tid('sockets-open')).toBe('3');
    expect(tid('sockets-cap')).toBe('24');
    expect(tid('pool-leased')).toBe('1');
    expect(tid('mem-internal-used')).toBe('8 KiB');
    expect(tid('link-state')).toBe('connected');
    expect(tid('live-indicator')).toBe('live');

    live.set({ mode: 'polling', data: { connections: { connections: 'nope', counters: null }, memory: { regions: [null, 5] } }, history: {} });
    flushSync();
    expect(tid('sockets-open')).toBe('—');
    expect(tid('live-indicator')).toBe('polling');
  });

  it('shows the device port only when the device reports it', () => {
    const live = fakeLive({ mode: 'live', data: FULL });
    app = mount(App, { target: document.body, props: { live } });
    flushSync();
    expect(document.querySelector('[data-testid="device-port"]')).toBeNull();
    const device = {
      ...FULL,
      status: {
        ...FULL.status,
        platform: 'esp32c3',
        network: { mode: 'station', address: '192.168.1.40' },
        sockets: { pool: 14, cap: 8, listening: 6, handshake: 0, held: 0, serving: 2, closing: 0 },
        port: { accepted: 66, listen_gaps: 0, aborts: 0 },
      },
    };
    live.set({ mode: 'live', data: device, history: {} });
    flushSync();
    expect(tid('sockets-listening')).toBe('6');
    const card = document.querySelector('[data-testid="device-port"]').textContent;
    expect(card).toContain('esp32c3');
    expect(card).toContain('192.168.1.40');
  });

  it('switches views by hash', async () => {
    app = mount(App, { target: document.body, props: { live: fakeLive({ mode: 'live', data: FULL }) } });
    flushSync();
    location.hash = '#/connections';
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    flushSync();
    const rows = document.querySelectorAll('[data-testid="connections-table"] tbody tr');
    expect(rows).toHaveLength(1);
    expect(rows[0].textContent).toContain('127.0.0.1:5555');
    expect(document.body.textContent).toContain('Idle keep-alive, least recently used');
    location.hash = '#/link';
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    flushSync();
    expect(tid('link-state')).toBe('connected');
    expect(document.body.textContent).toContain('rx_buffer');
  });
});
