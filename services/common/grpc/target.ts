// The gRPC target of a replicated service given as several addresses (an
// agent's vpn replicas): gRPC's static address list (the ipv4:/ipv6:
// schemes of gRPC's naming document), which the channel uses pick-first —
// the first address that answers, the next one when it goes away, while
// the calls on it (the desired-state stream) are opened again by their
// callers. One address, or one DNS name (a Kubernetes Service, which may
// resolve to every replica), is used as it is.
import { ConfigError } from '../config.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;

/** The channel target of `value` ("host:port", or "a:port,b:port,..."); `setting` names it in errors. */
export function grpcTarget(value: string, setting: string): string {
  const list = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (list.length <= 1) return list[0] ?? value;
  if (list.every((a) => IPV4.test(a))) return `ipv4:${list.join(',')}`;
  if (list.every((a) => IPV6.test(a))) return `ipv6:${list.join(',')}`;
  throw new ConfigError(
    `${setting}: several addresses must all be IPv4 (a.b.c.d:port) or all IPv6 ([address]:port); give a name as one DNS name that resolves to every replica (a Kubernetes Service)`,
  );
}
