// The PE's end of PE-CE BGP sessions on one attachment, run by the agent
// inside the attachment's punt namespace (`ip netns exec <ns> node
// listener.js ...`, punt.ts): the agent cannot enter a namespace itself.
// It listens on port 179 (RFC 4271 §8) of each PE address, and bridges
// each accepted connection to the agent's unix socket (not bound to a
// namespace), first telling which attachment and which (CE, PE) pair it
// is (one JSON line); the agent decides whether the session is listed and
// relays it to the controller (relay.ts). A line "close <ce> <pe>" on its
// stdin closes that session's connections, answered "closed <ce> <pe>" on
// stdout once the CE has closed its side too (or did not within
// CLOSE_WAIT_MS): the agent removes a session's flows only after the CE
// has seen the session end, not on a guess of how long that takes. It exits when the
// agent does (its stdin closes): a listener never outlives the agent that
// started it.
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { splice } from './splice.js';

export const BGP_PORT = 179;
/** How long a CE has to answer our FIN with its own before the connection is reset. */
export const CLOSE_WAIT_MS = 1000;

/** What a listener tells the agent first about a connection it accepted. */
export interface ListenerHello {
  vrf: string;
  interface: string;
  vlan: number;
  ce: string;
  pe: string;
}

/** An IPv4 peer as Node names it on a dual-stack socket ("::ffff:a.b.c.d") is a.b.c.d. */
export const plainAddress = (a: string | undefined): string => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

function main(): void {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      vrf: { type: 'string' },
      interface: { type: 'string' },
      vlan: { type: 'string', default: '0' },
      listen: { type: 'string', multiple: true },
      port: { type: 'string', default: String(BGP_PORT) },
    },
  });
  const { socket: path, vrf, interface: iface } = values;
  const addresses = values.listen ?? [];
  if (!path || !vrf || !iface || !addresses.length) {
    process.stderr.write('usage: listener --socket PATH --vrf NAME --interface NAME [--vlan N] --listen ADDRESS...\n');
    process.exit(2);
  }
  const vlan = Number(values.vlan);
  const port = Number(values.port);
  let pending = addresses.length;
  const open = new Set<{ ce: string; pe: string; tcp: Socket }>();
  for (const host of addresses) {
    const server = createServer({ pauseOnConnect: true }, (tcp: Socket) => {
      const hello: ListenerHello = { vrf, interface: iface, vlan, ce: plainAddress(tcp.remoteAddress), pe: host };
      const agent = connect(path);
      agent.write(`${JSON.stringify(hello)}\n`);
      splice(tcp, agent);
      const entry = { ce: hello.ce, pe: host, tcp };
      open.add(entry);
      tcp.on('close', () => open.delete(entry));
    });
    server.on('error', (err) => {
      process.stderr.write(`cannot listen on [${host}]:${port}: ${err.message}\n`);
      process.exit(1);
    });
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      if (--pending === 0) process.stdout.write('listening\n');
    });
  }
  // The agent holds our stdin: when it goes, so do we (and every relayed connection with us).
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const [verb, ce, pe] = line.trim().split(/\s+/);
    if (verb !== 'close' || !ce || !pe) return;
    const closing = [...open].filter((c) => c.ce === ce && c.pe === pe);
    void Promise.all(closing.map((c) => closeGracefully(c.tcp))).then(() => process.stdout.write(`closed ${ce} ${pe}\n`));
  });
  commands.on('close', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

/**
 * Sends our FIN (after what is queued for the CE) and resolves when the
 * connection is closed: the CE's FIN back (a BGP speaker closes on end of
 * stream: RFC 4271 §8.1.4, event 18), or a reset after CLOSE_WAIT_MS.
 */
function closeGracefully(tcp: Socket): Promise<void> {
  if (tcp.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => tcp.destroy(), CLOSE_WAIT_MS);
    tcp.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    tcp.end();
  });
}

if (process.argv[1]?.endsWith('listener.js')) main();
