import { requests } from './requests.svelte.js';
import { loginRequired } from './session.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

/** A call got an HTTP status outside 200–299. */
export class HttpError extends Error {
  constructor(url, status, statusText) {
    super(`GET ${url} failed: HTTP ${status}${statusText ? ' ' + statusText : ''}`);
    this.name = 'HttpError';
    this.url = url;
    this.status = status;
  }
}

/** A call did not finish within its timeout. */
export class TimeoutError extends Error {
  constructor(url, ms) {
    super(`${url} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
    this.url = url;
    this.timeoutMs = ms;
  }
}

/**
 * fetch() wrapper that keeps `requests.pending` balanced: +1 when the call
 * starts, -1 when it settles, whatever the outcome (success, HTTP error,
 * network error, abort, timeout).
 *
 * Extra options (everything else is passed to fetch):
 *  - timeoutMs: abort after this many ms (default 10 s; 0 or Infinity = none)
 *  - signal:    caller's AbortSignal; aborting it aborts the call
 *  - read:      optional async (response) => value; runs inside the tracked
 *               window and under the same timeout (e.g. to read the body),
 *               and its value is returned instead of the Response.
 */
export async function trackedFetch(url, opts = {}) {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, signal, read, ...init } = opts;
  const controller = new AbortController();
  let timedOut = false;
  let timer = null;
  const onCallerAbort = () => controller.abort(signal.reason);

  requests.pending += 1;
  try {
    if (signal) {
      if (signal.aborted) controller.abort(signal.reason);
      else signal.addEventListener('abort', onCallerAbort, { once: true });
    }
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new TimeoutError(url, timeoutMs));
      }, timeoutMs);
    }
    // Race against the abort signal too, so an implementation of fetch (or a
    // body read) that ignores the signal cannot hold the count up forever.
    const aborted = new Promise((_, reject) => {
      const fail = () => reject(controller.signal.reason ?? abortError());
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => {});
    const work = (async () => {
      const res = await fetch(url, { ...init, signal: controller.signal });
      return read ? await read(res) : res;
    })();
    return await Promise.race([work, aborted]);
  } catch (err) {
    if (timedOut) throw new TimeoutError(url, timeoutMs);
    throw err;
  } finally {
    if (timer !== null) clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onCallerAbort);
    requests.pending = Math.max(0, requests.pending - 1);
  }
}

function abortError() {
  try {
    return new DOMException('The operation was aborted.', 'AbortError');
  } catch {
    const e = new Error('The operation was aborted.');
    e.name = 'AbortError';
    return e;
  }
}

/** GET a JSON endpoint through trackedFetch; throws HttpError on non-2xx. */
export function getJson(url, opts = {}) {
  return trackedFetch(url, {
    ...opts,
    headers: { Accept: 'application/json', ...(opts.headers || {}) },
    cache: 'no-store',
    read: async (res) => {
      if (res.status === 401) loginRequired();
      if (!res.ok) throw new HttpError(url, res.status, res.statusText);
      try {
        return await res.json();
      } catch (e) {
        throw new Error(`GET ${url}: invalid JSON (${e.message})`);
      }
    },
  });
}

export const getStatus = (opts) => getJson('/api/status', opts);
export const getConnections = (opts) => getJson('/api/connections', opts);
export const getPool = (opts) => getJson('/api/pool', opts);
export const getMemory = (opts) => getJson('/api/memory', opts);
export const getLink = (opts) => getJson('/api/link', opts);

/**
 * An admin action: `method` on `url` with no body, through trackedFetch (the spinner
 * counts it). Resolves to `{ ok, status, error }`; `error` is the API's JSON message.
 */
export function act(method, url, opts = {}) {
  return trackedFetch(url, {
    ...opts,
    method,
    headers: { Accept: 'application/json', ...(opts.headers || {}) },
    cache: 'no-store',
    read: async (res) => {
      if (res.status === 401) loginRequired();
      let error = '';
      if (!res.ok) {
        try {
          error = (await res.json()).error || '';
        } catch {
          error = res.statusText;
        }
      }
      return { ok: res.ok, status: res.status, error };
    },
  });
}

/** Closes one connection by its id (`slot.generation`). */
export const closeConnection = (id, opts) => act('DELETE', `/api/connections/${encodeURIComponent(id)}`, opts);
/** Reconnects the upstream link at once. */
export const restartLink = (opts) => act('POST', '/api/link/restart', opts);

/**
 * Fetch every endpoint in parallel. Resolves to { snapshot, errors } where
 * snapshot holds each part that answered and errors lists what failed.
 */
export async function getAll(opts) {
  const parts = {
    status: getStatus,
    connections: getConnections,
    pool: getPool,
    memory: getMemory,
    link: getLink,
  };
  const keys = Object.keys(parts);
  const results = await Promise.allSettled(keys.map((k) => parts[k](opts)));
  const snapshot = {};
  const errors = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') snapshot[keys[i]] = r.value;
    else errors.push(r.reason);
  });
  return { snapshot, errors };
}
