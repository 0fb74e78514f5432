// Every counter and eviction reason the server can send has a label, and the label set
// holds nothing the server never sends. "What the server sends" is a real
// /api/connections document captured from the provider with every reason provoked
// (fixtures/connections.json, scripts/capture-connections.mjs), cross-checked against
// the Rust sources that define the names, so a new key fails here until it has a label
// (and until the fixture is captured again).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import Connections from '../views/Connections.svelte';
import Overview from '../views/Overview.svelte';
import { COUNTER_LABELS, REASONS, counterLabel, reasonText } from './labels.js';
import captured from './fixtures/connections.json';

// vitest runs from web/ (npm test).
const repo = join(process.cwd(), '..');
const sorted = (xs) => [...new Set(xs)].sort();
const fixtureCounters = sorted(Object.keys(captured.counters));
const fixtureReasons = sorted(captured.recent_evictions.map((e) => e.reason));

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? rustFiles(p) : p.endsWith('.rs') ? [p] : [];
  });
}

/** Names in `EvictReason::name()`: `EvictReason::LruIdle => "lru_idle"`. */
function rustReasons() {
  const src = rustFiles(join(repo, 'crates/portico/src'))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
  return sorted([...src.matchAll(/EvictReason::\w+\s*=>\s*"(\w+)"/g)].map((m) => m[1]));
}

/** Members the application writes for the counters (`.field("accepted", c.accepted)`). */
function rustCounters() {
  const src = readFileSync(join(repo, 'crates/portico-app/src/documents.rs'), 'utf8');
  const body = src.slice(src.indexOf('fn counters('));
  const end = body.indexOf('.end_object()');
  return sorted([...body.slice(0, end).matchAll(/\.field\("(\w+)",\s*c\./g)].map((m) => m[1]));
}

describe('labels cover exactly what the server sends', () => {
  it('the capture holds every reason and counter the Rust sources define', () => {
    expect(fixtureReasons).toEqual(rustReasons());
    expect(fixtureCounters).toEqual(rustCounters());
    expect(fixtureReasons.length).toBeGreaterThanOrEqual(5);
  });

  it('every counter has a label, and no label is for a counter the server never sends', () => {
    expect(sorted(Object.keys(COUNTER_LABELS))).toEqual(fixtureCounters);
  });

  it('every eviction reason has a label, and no label is for a reason the server never sends', () => {
    expect(sorted(Object.keys(REASONS))).toEqual(fixtureReasons);
  });
});

describe('the dashboard shows labels, never raw keys', () => {
  let app;
  afterEach(() => {
    if (app) unmount(app);
    app = null;
    document.body.innerHTML = '';
  });

  it('Connections: every counter and reason by its label', () => {
    app = mount(Connections, { target: document.body, props: { data: { connections: captured } } });
    flushSync();
    const text = document.body.textContent;
    for (const k of fixtureCounters) expect(text).toContain(counterLabel(k));
    for (const r of fixtureReasons) expect(text).toContain(reasonText(r));
    // Keys that are not words (`evicted_slow`, `lru_idle`) must not show at all.
    for (const k of [...fixtureCounters, ...fixtureReasons].filter((k) => k.includes('_'))) {
      expect(text).not.toContain(k);
    }
  });

  it('a key a newer server sends is shown as words, not as a raw key', () => {
    const doc = { ...captured, counters: { ...captured.counters, evicted_other: 3 } };
    app = mount(Connections, { target: document.body, props: { data: { connections: doc } } });
    flushSync();
    expect(document.body.textContent).toContain('Evicted other');
    expect(document.body.textContent).not.toContain('evicted_other');
  });

  it('Overview: "Evicted (total)" counts every eviction counter, slow heads included', () => {
    app = mount(Overview, { target: document.body, props: { data: { connections: captured } } });
    flushSync();
    const c = captured.counters;
    const total = Object.keys(c)
      .filter((k) => k.startsWith('evicted_'))
      .reduce((a, k) => a + c[k], 0);
    expect(c.evicted_slow).toBeGreaterThan(0);
    expect(Number(document.querySelector('[data-testid="evicted-total"]').textContent)).toBe(total);
    expect(total).toBe(
      c.evicted_idle + c.evicted_silent + c.evicted_peer_cap + c.evicted_stream + c.evicted_slow,
    );
  });
});
