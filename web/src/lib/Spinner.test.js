import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import Spinner from './Spinner.svelte';
import { requests } from './requests.svelte.js';
import { trackedFetch } from './api.js';

const spinner = () => document.querySelector('[data-testid="spinner"]');

describe('Spinner', () => {
  let app;
  beforeEach(() => {
    vi.useFakeTimers();
    requests.pending = 0;
    app = mount(Spinner, { target: document.body });
    flushSync();
  });
  afterEach(() => {
    unmount(app);
    vi.useRealTimers();
    vi.unstubAllGlobals();
    document.body.innerHTML = '';
  });

  const step = (ms) => {
    vi.advanceTimersByTime(ms);
    flushSync();
  };
  const setPending = (n) => {
    requests.pending = n;
    flushSync();
  };

  it('is absent while idle', () => {
    expect(spinner()).toBeNull();
  });

  it('stays hidden for a 100 ms call', () => {
    setPending(1);
    step(100);
    expect(spinner()).toBeNull();
    setPending(0);
    step(1000);
    expect(spinner()).toBeNull();
  });

  it('shows for a 1 s call after 300 ms and hides when the count returns to 0', () => {
    setPending(1);
    step(299);
    expect(spinner()).toBeNull();
    step(2);
    const el = spinner();
    expect(el).not.toBeNull();
    expect(el.getAttribute('role')).toBe('status');
    expect(el.getAttribute('aria-busy')).toBe('true');
    expect(el.textContent).toContain('Loading…');
    step(699);
    expect(spinner()).not.toBeNull();
    setPending(0);
    expect(spinner()).toBeNull();
  });

  it('does not restart the delay when overlapping calls come and go', () => {
    setPending(1);
    step(200);
    setPending(2);
    step(50);
    setPending(1);
    step(60);
    expect(spinner()).not.toBeNull();
    setPending(0);
    expect(spinner()).toBeNull();
  });

  it('a new busy stretch waits the full delay again', () => {
    setPending(1);
    step(400);
    expect(spinner()).not.toBeNull();
    setPending(0);
    setPending(1);
    step(250);
    expect(spinner()).toBeNull();
    step(100);
    expect(spinner()).not.toBeNull();
  });

  it('follows real trackedFetch calls (fast: never shown, slow: shown then hidden)', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn((url) => new Promise((r) => setTimeout(() => r(new Response('{}')), url === '/fast' ? 100 : 1000)))
    );
    const fast = trackedFetch('/fast');
    flushSync();
    await vi.advanceTimersByTimeAsync(100);
    await fast;
    flushSync();
    expect(spinner()).toBeNull();
    await vi.advanceTimersByTimeAsync(500);
    flushSync();
    expect(spinner()).toBeNull();

    const slow = trackedFetch('/slow');
    flushSync();
    await vi.advanceTimersByTimeAsync(350);
    flushSync();
    expect(spinner()).not.toBeNull();
    await vi.advanceTimersByTimeAsync(650);
    await slow;
    flushSync();
    expect(spinner()).toBeNull();
  });
});
