import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { requests } from './requests.svelte.js';
import { trackedFetch, getStatus, getAll, HttpError, TimeoutError, DEFAULT_TIMEOUT_MS } from './api.js';

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

// A fetch that never settles on its own, only when its signal aborts (like the real one).
const hangingFetch = () =>
  vi.fn(
    (_url, init) =>
      new Promise((_, reject) => {
        init.signal.addEventListener('abort', () => reject(init.signal.reason));
      })
  );

describe('trackedFetch keeps requests.pending balanced', () => {
  beforeEach(() => (requests.pending = 0));
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('counts while in flight and returns the response on success', async () => {
    let resolve;
    vi.stubGlobal('fetch', vi.fn(() => new Promise((r) => (resolve = r))));
    const p = trackedFetch('/api/status');
    expect(requests.pending).toBe(1);
    resolve(json({ ok: 1 }));
    const res = await p;
    expect(res.status).toBe(200);
    expect(requests.pending).toBe(0);
  });

  it('balances on HTTP 500 (resolves with the response)', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ error: 'x' }, 500)));
    const p = trackedFetch('/api/status');
    expect(requests.pending).toBe(1);
    const res = await p;
    expect(res.status).toBe(500);
    expect(requests.pending).toBe(0);
  });

  it('balances on a network error (fetch rejects)', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const p = trackedFetch('/api/status');
    expect(requests.pending).toBe(1);
    await expect(p).rejects.toThrow('Failed to fetch');
    expect(requests.pending).toBe(0);
  });

  it('balances when fetch throws synchronously', async () => {
    vi.stubGlobal('fetch', () => {
      throw new TypeError('bad url');
    });
    await expect(trackedFetch('/api/status')).rejects.toThrow('bad url');
    expect(requests.pending).toBe(0);
  });

  it('balances when the caller aborts', async () => {
    vi.stubGlobal('fetch', hangingFetch());
    const ctl = new AbortController();
    const p = trackedFetch('/api/status', { signal: ctl.signal });
    expect(requests.pending).toBe(1);
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests.pending).toBe(0);
  });

  it('balances with an already-aborted signal', async () => {
    vi.stubGlobal('fetch', hangingFetch());
    const ctl = new AbortController();
    ctl.abort();
    await expect(trackedFetch('/api/status', { signal: ctl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests.pending).toBe(0);
  });

  it('times out after the default 10 s', async () => {
    vi.useFakeTimers();
    vi.stubGlobal('fetch', hangingFetch());
    const p = trackedFetch('/api/status');
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMEOUT_MS - 1);
    expect(requests.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settled;
    expect(requests.pending).toBe(0);
  });

  it('honours a timeout override, even if fetch ignores the signal', async () => {
    vi.useFakeTimers();
    vi.stubGlobal('fetch', vi.fn(() => new Promise(() => {})));
    const p = trackedFetch('/api/status', { timeoutMs: 250 });
    const settled = expect(p).rejects.toThrow('/api/status timed out after 250 ms');
    await vi.advanceTimersByTimeAsync(250);
    await settled;
    expect(requests.pending).toBe(0);
  });

  it('counts concurrent calls', async () => {
    const resolvers = [];
    vi.stubGlobal('fetch', vi.fn(() => new Promise((r) => resolvers.push(r))));
    const a = trackedFetch('/a');
    const b = trackedFetch('/b').catch(() => {});
    expect(requests.pending).toBe(2);
    resolvers[0](json({}));
    await a;
    expect(requests.pending).toBe(1);
    resolvers[1](json({}));
    await b;
    expect(requests.pending).toBe(0);
  });

  it('keeps counting while `read` consumes the body', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ a: 1 })));
    let seen = null;
    const value = await trackedFetch('/x', {
      read: async (res) => {
        seen = requests.pending;
        return res.json();
      },
    });
    expect(seen).toBe(1);
    expect(value).toEqual({ a: 1 });
    expect(requests.pending).toBe(0);
  });
});

describe('JSON helpers', () => {
  beforeEach(() => (requests.pending = 0));
  afterEach(() => vi.unstubAllGlobals());

  it('getStatus parses JSON', async () => {
    const fetch = vi.fn(async () => json({ version: '0.1.0', uptime_ms: 5 }));
    vi.stubGlobal('fetch', fetch);
    await expect(getStatus()).resolves.toEqual({ version: '0.1.0', uptime_ms: 5 });
    expect(fetch.mock.calls[0][0]).toBe('/api/status');
    expect(requests.pending).toBe(0);
  });

  it('getStatus throws a clear HttpError on non-2xx', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('busy', { status: 503, statusText: 'Service Unavailable' })));
    const err = await getStatus().catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(503);
    expect(err.message).toBe('GET /api/status failed: HTTP 503 Service Unavailable');
    expect(requests.pending).toBe(0);
  });

  it('getStatus throws on invalid JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>', { status: 200 })));
    await expect(getStatus()).rejects.toThrow(/GET \/api\/status: invalid JSON/);
    expect(requests.pending).toBe(0);
  });

  it('getAll collects parts and errors', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url) => (url === '/api/pool' ? json({}, 500) : json({ url })))
    );
    const { snapshot, errors } = await getAll();
    expect(Object.keys(snapshot).sort()).toEqual(['connections', 'link', 'memory', 'status']);
    expect(errors).toHaveLength(1);
    expect(requests.pending).toBe(0);
  });
});

describe('admin actions', () => {
  beforeEach(() => (requests.pending = 0));
  afterEach(() => vi.unstubAllGlobals());

  it('closeConnection sends DELETE to the id and reports the API error', async () => {
    const { closeConnection } = await import('./api.js');
    const fetchMock = vi.fn(async () => json({ error: 'no open connection has this id', field: 'id' }, 404));
    vi.stubGlobal('fetch', fetchMock);
    const r = await closeConnection('3.17');
    expect(fetchMock.mock.calls[0][0]).toBe('/api/connections/3.17');
    expect(fetchMock.mock.calls[0][1].method).toBe('DELETE');
    expect(r).toEqual({ ok: false, status: 404, error: 'no open connection has this id' });
    expect(requests.pending).toBe(0);
  });

  it('restartLink POSTs and resolves ok on 204', async () => {
    const { restartLink } = await import('./api.js');
    const fetchMock = vi.fn(async () => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', fetchMock);
    const r = await restartLink();
    expect(fetchMock.mock.calls[0][0]).toBe('/api/link/restart');
    expect(fetchMock.mock.calls[0][1].method).toBe('POST');
    expect(r).toEqual({ ok: true, status: 204, error: '' });
    expect(requests.pending).toBe(0);
  });
});
