// Two byte streams joined both ways, each write paced by the reader's
// backpressure (pipe() waits for 'drain'); either end closing or failing
// closes both.
import type { Duplex } from 'node:stream';

export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', close);
    s.on('close', close);
  }
}
