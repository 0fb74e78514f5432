// What the browser end-to-end scripts (run.mjs, settings.mjs) share: the PASS/FAIL
// tally, the exit code it gives, a free loopback port, a pause.
import net from 'node:net';

let passed = 0;
let failed = 0;

/// Records one check and prints it as `PASS name` or `FAIL name — detail`.
export function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

/// Prints `<prefix>N passed, M failed` and exits: 1 when a check failed or none ran, so
/// a script that silently checked nothing does not pass.
export function finish(prefix = '') {
  console.log(`${prefix}${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// A port free on 127.0.0.1 now (bound, read, released), for a server the script starts.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
