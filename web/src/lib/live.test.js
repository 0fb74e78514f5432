import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import { createLive, HISTORY_LEN } from './live.js';

class FakeES {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeES.CONNECTING;
    this.listeners = {};
    this.closed = false;
    FakeES.all.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = FakeES.CLOSED;
  }
  emit(data) {
    this.readyState = FakeES.OPEN;
    for (const fn of this.listeners.snapshot || []) fn({ data: JSON.stringify(data) });
  }
  fail(closed = false) {
    this.readyState = closed ? FakeES.CLOSED : FakeES.CONNECTING;
    this.onerror?.({});
  }
}
const latest = () => FakeES.all[FakeES.all.length - 1];
const snap = (uptime, open = 1) => ({
  status: { uptime_ms: uptime },
  connections: { open, cap: 24 },
  pool: {},
  memory: { regions: [{ name: 'internal', free: 1000 - uptime }] },
  link: { state: 'disabled' },
});

describe('createLive', () => {
  let fetchAll;
  let live;
  beforeEach(() => {
    vi.useFakeTimers();
    FakeES.all = [];
    fetchAll = vi.fn(async () => ({ snapshot: snap(1), errors: [] }));
  });
  afterEach(() => {
    live?.stop();
    vi.useRealTimers();
  });
  const make = (o = {}) => (live = createLive({ EventSourceImpl: FakeES, fetchAll, ...o }));

  it('fetches once, then goes live on the first snapshot event', async () => {
    make();
    await live.start();
    expect(fetchAll).toHaveBeenCalledTimes(1);
    expect(get(live).data.status.uptime_ms).toBe(1);
    expect(get(live).mode).toBe('connecting');
    expect(latest().url).toBe('/api/events');
    vi.advanceTimersByTime(1000);
    latest().emit(snap(2000, 3));
    const s = get(live);
    expect(s.mode).toBe('live');
    expect(s.data.connections.open).toBe(3);
    expect(s.history.sockets).toEqual([1, 3]);
    expect(s.history.freeInternal).toEqual([999, -1000]);
  });

  it('shows reconnecting on error, falls back to polling after 3 errors, returns to live', async () => {
    make();
    await live.start();
    latest().fail();
    expect(get(live).mode).toBe('reconnecting');
    latest().fail();
    latest().fail();
    expect(get(live).mode).toBe('polling');
    expect(latest().closed).toBe(true);
    const before = fetchAll.mock.calls.length;
    await vi.advanceTimersByTimeAsync(2000 * 3);
    expect(fetchAll.mock.calls.length - before).toBeGreaterThanOrEqual(3);
    // a new stream is tried later; its first message ends polling
    const n = FakeES.all.length;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(FakeES.all.length).toBe(n + 1);
    latest().emit(snap(50_000));
    expect(get(live).mode).toBe('live');
    const calls = fetchAll.mock.calls.length;
    await vi.advanceTimersByTimeAsync(10_000 - 1);
    expect(fetchAll.mock.calls.length).toBe(calls);
  });

  it('a message resets the error count', async () => {
    make();
    await live.start();
    latest().fail();
    latest().fail();
    latest().emit(snap(5));
    latest().fail();
    latest().fail();
    expect(get(live).mode).toBe('reconnecting');
  });

  it('reopens a stream the browser gave up on', async () => {
    make();
    await live.start();
    const first = latest();
    first.fail(true);
    expect(first.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(latest()).not.toBe(first);
  });

  it('is offline when polling gets no answer', async () => {
    fetchAll = vi.fn(async () => ({ snapshot: {}, errors: [new Error('GET /api/status failed: HTTP 503')] }));
    make();
    await live.start();
    for (let i = 0; i < 3; i++) latest().fail();
    await vi.advanceTimersByTimeAsync(0);
    expect(get(live).mode).toBe('offline');
    expect(get(live).error).toMatch(/503/);
  });

  it('treats a silent stream as an error', async () => {
    make();
    await live.start();
    latest().emit(snap(1));
    const es = latest();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(es.closed).toBe(true);
    expect(get(live).mode).toBe('reconnecting');
  });

  it(`keeps at most ${HISTORY_LEN} samples, at most one per ~second`, async () => {
    make();
    await live.start();
    for (let i = 0; i < HISTORY_LEN + 20; i++) {
      latest().emit(snap(i));
      latest().emit(snap(i)); // same instant: not sampled twice
      vi.advanceTimersByTime(1000);
    }
    expect(get(live).history.sockets).toHaveLength(HISTORY_LEN);
  });
});
