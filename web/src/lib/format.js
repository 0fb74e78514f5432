// Display helpers. Every one returns DASH for a missing or malformed value.
export const DASH = '—';

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

export function num(v) {
  return isNum(v) ? v.toLocaleString('en-US') : DASH;
}

export function text(v) {
  return typeof v === 'string' && v !== '' ? v : isNum(v) ? String(v) : DASH;
}

export function bool(v) {
  return v === true ? 'yes' : v === false ? 'no' : DASH;
}

export function bytes(v) {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  if (a < 1024) return `${v} B`;
  if (a < 1024 * 1024) return `${trim(v / 1024)} KiB`;
  return `${trim(v / (1024 * 1024))} MiB`;
}

function trim(x) {
  return x.toFixed(x >= 100 ? 0 : 1).replace(/\.0$/, '');
}

/** Milliseconds as a short duration: "850 ms", "4.2 s", "3m 05s", "2h 03m 04s", "1d 02h 03m". */
export function duration(ms) {
  if (!isNum(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${p(h)}h ${p(m)}m`;
  if (h > 0) return `${h}h ${p(m)}m ${p(sec)}s`;
  if (m > 0) return `${m}m ${p(sec)}s`;
  return `${sec}s`;
}

/** Uptime, always down to the second: "0s", "2m 05s", "1h 00m 07s", "3d 04h 05m 06s". */
export function uptime(ms) {
  if (!isNum(ms) || ms < 0) return DASH;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${p(h)}h ${p(m)}m ${p(sec)}s`;
  if (h > 0) return `${h}h ${p(m)}m ${p(sec)}s`;
  if (m > 0) return `${m}m ${p(sec)}s`;
  return `${sec}s`;
}

/** Fraction 0..1 of part/whole, or null when it cannot be computed. */
export function ratio(part, whole) {
  if (!isNum(part) || !isNum(whole) || whole <= 0) return null;
  return Math.min(1, Math.max(0, part / whole));
}

export function pct(part, whole) {
  const r = ratio(part, whole);
  return r === null ? DASH : `${Math.round(r * 100)}%`;
}

/** Safe property access on possibly-missing objects. */
export function obj(v) {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

export function arr(v) {
  return Array.isArray(v) ? v : [];
}
