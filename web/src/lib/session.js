import { writable } from 'svelte/store';

/**
 * Login state of the dashboard. `required` turns true when any API call answers
 * 401 (the device has a password and this browser has no valid session);
 * `loggedIn` when a login from this page succeeded. The session itself is an
 * HttpOnly cookie the page never sees.
 */
export const session = writable({ required: false, loggedIn: false });

/** An API call answered 401: show the login form. */
export function loginRequired() {
  session.update((s) => ({ ...s, required: true, loggedIn: false }));
}

/** Why a login failed, for the form. */
export class LoginError extends Error {
  constructor(message, status, retryAfter = null) {
    super(message);
    this.name = 'LoginError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * POST /api/login with the password. Resolves when the device set the session
 * cookie; rejects with a LoginError that says what to tell the user.
 */
export async function login(password, { fetchImpl = globalThis.fetch } = {}) {
  let res;
  try {
    res = await fetchImpl('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ password }),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new LoginError(`the device did not answer (${e.message})`, 0);
  }
  if (res.ok) {
    session.set({ required: false, loggedIn: true });
    return;
  }
  if (res.status === 401) throw new LoginError('wrong password', 401);
  if (res.status === 429) {
    const wait = Number(res.headers.get('Retry-After')) || null;
    throw new LoginError(
      wait ? `too many wrong passwords: try again in ${wait} s` : 'too many wrong passwords: try again later',
      429,
      wait
    );
  }
  throw new LoginError(`login failed: HTTP ${res.status}`, res.status);
}

/** POST /api/logout: ends the browser sessions; the form comes back. */
export async function logout({ fetchImpl = globalThis.fetch } = {}) {
  try {
    await fetchImpl('/api/logout', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
  } finally {
    session.set({ required: true, loggedIn: false });
  }
}
