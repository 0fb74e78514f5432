// Prints the gzipped size of every file in dist/ and the total; exits 1 when the
// total exceeds the bundle budget (60 KB = 61,440 bytes gzipped).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET = 60 * 1024;
const dist = fileURLToPath(new URL('../dist', import.meta.url));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

let files;
try {
  files = walk(dist).sort();
} catch (e) {
  console.error(`size-check: cannot read ${dist}: ${e.message}`);
  process.exit(1);
}
if (!files.some((f) => relative(dist, f) === 'index.html')) {
  console.error('size-check: dist/index.html is missing');
  process.exit(1);
}

let raw = 0;
let gz = 0;
for (const f of files) {
  const buf = readFileSync(f);
  const z = gzipSync(buf, { level: 9 }).length;
  raw += buf.length;
  gz += z;
  console.log(`  ${relative(dist, f).padEnd(40)} ${String(buf.length).padStart(8)} B  ${String(z).padStart(7)} B gz`);
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`dist total: ${kb(raw)} KB raw, ${kb(gz)} KB gzipped (${gz} bytes; budget ${kb(BUDGET)} KB)`);
if (gz > BUDGET) {
  console.error(`FAIL: gzipped bundle ${gz} bytes exceeds the ${BUDGET}-byte budget`);
  process.exit(1);
}
