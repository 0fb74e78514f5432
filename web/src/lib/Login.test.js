import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount, tick } from 'svelte';
import { get } from 'svelte/store';
import Login from '../views/Login.svelte';
import App from '../App.svelte';
import { writable } from 'svelte/store';
import { login, logout, loginRequired, session, LoginError } from './session.js';
import { getJson } from './api.js';

const tid = (id) => document.querySelector(`[data-testid="${id}"]`);

function type(value) {
  const input = tid('login-password');
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    await tick();
    await Promise.resolve();
  }
  flushSync();
}

const response = (status, headers = {}) => ({
  ok: status >= 200 && status < 300,
  status,
  statusText: '',
  headers: { get: (k) => headers[k] ?? null },
  json: async () => ({}),
});

describe('Login form', () => {
  let app;
  afterEach(() => {
    if (app) unmount(app);
    app = null;
    document.body.innerHTML = '';
    session.set({ required: false, loggedIn: false });
  });

  it('sends the password and reports success', async () => {
    const loginImpl = vi.fn(async () => {});
    const onsuccess = vi.fn();
    app = mount(Login, { target: document.body, props: { loginImpl, onsuccess } });
    flushSync();
    expect(tid('login-submit').disabled).toBe(true);
    type('hunter2');
    expect(tid('login-submit').disabled).toBe(false);
    tid('login-form').dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await settle();
    expect(loginImpl).toHaveBeenCalledWith('hunter2');
    expect(onsuccess).toHaveBeenCalledTimes(1);
    expect(tid('login-error')).toBeNull();
    expect(tid('login-password').value).toBe('');
  });

  it('shows why a login failed and stays', async () => {
    const loginImpl = vi.fn(async () => {
      throw new LoginError('wrong password', 401);
    });
    const onsuccess = vi.fn();
    app = mount(Login, { target: document.body, props: { loginImpl, onsuccess } });
    type('nope');
    tid('login-form').dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await settle();
    expect(tid('login-error').textContent).toBe('wrong password');
    expect(tid('login-error').getAttribute('role')).toBe('alert');
    expect(onsuccess).not.toHaveBeenCalled();
  });
});

describe('App with a password', () => {
  afterEach(() => {
    document.body.innerHTML = '';
    session.set({ required: false, loggedIn: false });
  });

  it('shows the login form instead of the views on 401, and a logout button after login', () => {
    const s = writable({ mode: 'offline', data: {}, updatedAt: null, error: 'HTTP 401', history: { t: [], sockets: [], freeInternal: [] } });
    const live = { subscribe: s.subscribe, start() {}, stop() {} };
    const app = mount(App, { target: document.body, props: { live } });
    flushSync();
    expect(tid('login-form')).toBeNull();
    expect(tid('logout')).toBeNull();
    loginRequired();
    flushSync();
    expect(tid('login-form')).not.toBeNull();
    expect(tid('sockets-open')).toBeNull();
    session.set({ required: false, loggedIn: true });
    flushSync();
    expect(tid('login-form')).toBeNull();
    expect(tid('logout')).not.toBeNull();
    expect(tid('sockets-open')).not.toBeNull();
    unmount(app);
  });
});

describe('session', () => {
  afterEach(() => session.set({ required: false, loggedIn: false }));

  it('posts JSON to /api/login and marks the session', async () => {
    const fetchImpl = vi.fn(async () => response(200));
    loginRequired();
    await login('p@ss "w"', { fetchImpl });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe('/api/login');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ password: 'p@ss "w"' });
    expect(get(session)).toEqual({ required: false, loggedIn: true });
  });

  it('turns 401 and 429 into messages', async () => {
    await expect(login('x', { fetchImpl: async () => response(401) })).rejects.toMatchObject({
      message: 'wrong password',
      status: 401,
    });
    await expect(
      login('x', { fetchImpl: async () => response(429, { 'Retry-After': '8' }) })
    ).rejects.toMatchObject({ status: 429, retryAfter: 8, message: 'too many wrong passwords: try again in 8 s' });
    await expect(
      login('x', {
        fetchImpl: async () => {
          throw new Error('offline');
        },
      })
    ).rejects.toMatchObject({ status: 0 });
  });

  it('an API call answered 401 asks for the login', async () => {
    const real = globalThis.fetch;
    globalThis.fetch = async () => response(401);
    try {
      await expect(getJson('/api/status')).rejects.toMatchObject({ status: 401 });
    } finally {
      globalThis.fetch = real;
    }
    expect(get(session).required).toBe(true);
  });

  it('logout posts and brings the form back', async () => {
    session.set({ required: false, loggedIn: true });
    const fetchImpl = vi.fn(async () => response(200));
    await logout({ fetchImpl });
    expect(fetchImpl.mock.calls[0][0]).toBe('/api/logout');
    expect(fetchImpl.mock.calls[0][1].method).toBe('POST');
    expect(get(session)).toEqual({ required: true, loggedIn: false });
  });
});
