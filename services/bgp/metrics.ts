// Prometheus series of the bgp service, read from the speaker at scrape
// time: sessions by FSM state (RFC 4271 §8.2.2), prefixes and UPDATE
// messages per peer, routes per VRF. Labels are peers, families and VRFs,
// all configured objects: never prefixes.
import { Counter, Gauge } from 'prom-client';
import { serviceRegistry } from '../common/ops/metrics.js';
import type { State } from './fsm/types.js';
import { familyName } from './speaker/config.js';
import type { Speaker } from './speaker/speaker.js';
import type { VrfService } from './vrf-service.js';

const STATES: readonly State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

export function bgpMetrics(speaker: Speaker, vrfs: VrfService) {
  const registry = serviceRegistry('bgp');
  new Gauge({
    name: 'l3vpn_bgp_peers',
    help: 'BGP peers by session state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map<State, number>(STATES.map((s) => [s, 0]));
      for (const p of speaker.listPeers()) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'l3vpn_bgp_peer_up',
    help: '1 while the session with the peer is Established',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.listPeers()) this.set({ peer: p.address }, p.state === 'Established' ? 1 : 0);
    },
  });
  const perFamily = (count: (p: ReturnType<Speaker['listPeers']>[number], f: (typeof p.config.families)[number]) => number) =>
    function (this: Gauge<'peer' | 'family'>) {
      this.reset();
      for (const p of speaker.listPeers()) for (const f of p.config.families) this.set({ peer: p.address, family: familyName(f) }, count(p, f));
    };
  new Gauge({
    name: 'l3vpn_bgp_peer_prefixes_received',
    help: 'Routes held in the Adj-RIB-In of the peer, per address family',
    labelNames: ['peer', 'family'],
    registers: [registry],
    collect: perFamily((p, f) => p.receivedCount(f)),
  });
  new Gauge({
    name: 'l3vpn_bgp_peer_prefixes_advertised',
    help: 'Routes advertised to the peer (its Adj-RIB-Out), per address family',
    labelNames: ['peer', 'family'],
    registers: [registry],
    collect: perFamily((p, f) => p.advertisedCount(f)),
  });
  new Gauge({
    name: 'l3vpn_bgp_peer_prefixes_accepted',
    help: 'Routes accepted from the peer (received minus loops refused), per address family: what max-prefix counts',
    labelNames: ['peer', 'family'],
    registers: [registry],
    collect: perFamily((p, f) => p.acceptedCount(f)),
  });
  new Gauge({
    name: 'l3vpn_bgp_peer_max_prefix_state',
    help: 'max-prefix state of the peer: 0 below the warning mark, 1 at it, 2 past the limit or held down by it',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.listPeers()) {
        if (!p.config.maxPrefix && !p.maxPrefixHeld) continue;
        this.set({ peer: p.address }, p.maxPrefix.exceeded || p.maxPrefixHeld ? 2 : p.maxPrefix.warning ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'l3vpn_bgp_peer_max_prefix_events_total',
    help: 'max-prefix events per peer since it was configured: warning (mark reached), exceeded (limit passed), teardown (Cease 6/1 sent)',
    labelNames: ['peer', 'event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.listPeers()) {
        const c = p.maxPrefix.counters;
        if (!p.config.maxPrefix && c.warnings + c.exceeded === 0) continue;
        this.inc({ peer: p.address, event: 'warning' }, c.warnings);
        this.inc({ peer: p.address, event: 'exceeded' }, c.exceeded);
        this.inc({ peer: p.address, event: 'teardown' }, c.teardowns);
      }
    },
  });
  new Counter({
    name: 'l3vpn_bgp_updates_total',
    help: 'UPDATE messages received (in) and sent (out) per peer, since the peer was configured',
    labelNames: ['peer', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.listPeers()) {
        this.inc({ peer: p.address, direction: 'in' }, p.received.update);
        this.inc({ peer: p.address, direction: 'out' }, p.sent.update);
      }
    },
  });
  new Gauge({
    name: 'l3vpn_bgp_relayed_streams',
    help: 'Relayed PE-CE connections (RelayPeerSession streams) open now',
    registers: [registry],
    collect() {
      this.set(speaker.relayStats.open);
    },
  });
  new Counter({
    name: 'l3vpn_bgp_relayed_streams_total',
    help: 'RelayPeerSession streams since start: accepted by their peer, or refused (no such relayed peer, not relayed, peer down)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'accepted' }, speaker.relayStats.accepted);
      this.inc({ outcome: 'refused' }, speaker.relayStats.refused);
    },
  });
  new Gauge({
    name: 'l3vpn_bgp_vrf_routes',
    help: 'Best routes in the VRF table (local, CE and imported)',
    labelNames: ['vrf'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of vrfs.list()) this.set({ vrf: v.name }, vrfs.manager.routeCount(v.name));
    },
  });
  return registry;
}
