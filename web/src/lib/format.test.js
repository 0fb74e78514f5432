import { describe, expect, it } from 'vitest';
import { bytes, duration, num, pct, text, uptime, DASH } from './format.js';

describe('format', () => {
  it('shows a dash for missing values', () => {
    for (const f of [bytes, duration, num, text, uptime]) {
      expect(f(undefined)).toBe(DASH);
      expect(f(null)).toBe(DASH);
    }
    expect(num('3')).toBe(DASH);
    expect(pct(1, 0)).toBe(DASH);
  });
  it('formats values', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(8192)).toBe('8 KiB');
    expect(bytes(319488)).toBe('312 KiB');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(duration(300)).toBe('300 ms');
    expect(duration(1234)).toBe('1.2 s');
    expect(duration(65_000)).toBe('1m 05s');
    expect(uptime(1234)).toBe('1s');
    expect(uptime(3_723_000)).toBe('1h 02m 03s');
    expect(uptime(90_061_000)).toBe('1d 01h 01m 01s');
    expect(num(12345)).toBe('12,345');
    expect(pct(1, 4)).toBe('25%');
  });
});
