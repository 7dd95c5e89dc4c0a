// Prometheus series of the forwarding agent: the generation applied, how long
// applying takes, the entries installed by kind, drift repaired, and whether
// the controller's stream is up, and each core link's liveness.
import { Counter, Gauge, Histogram } from 'prom-client';
import { serviceRegistry } from '../common/ops/metrics.js';
import type { Agent } from './agent.js';
import type { LinkMetrics } from './controller-link.js';
import { LinkLivenessState, type LinkLiveness } from '../common/gen/proto/l3vpn/v1/agent.js';

export function agentMetrics(agent: Agent, connected: () => boolean, links: () => readonly LinkLiveness[] = () => []) {
  const registry = serviceRegistry('agent');
  new Gauge({
    name: 'l3vpn_agent_applied_generation',
    help: 'Desired-state generation the agent has applied (0: none yet)',
    registers: [registry],
    collect() {
      this.set(agent.generation);
    },
  });
  new Gauge({
    name: 'l3vpn_agent_installed_entries',
    help: 'Entries of the applied desired state installed through the driver, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const r = agent.report();
      this.set({ kind: 'vrf' }, r.installedVrfs);
      this.set({ kind: 'vrf_route' }, r.installedVrfRoutes);
      this.set({ kind: 'lfib' }, r.installedLfibEntries);
      this.set({ kind: 'failed' }, r.failures.length);
    },
  });
  new Gauge({
    name: 'l3vpn_agent_controller_connected',
    help: "1 while the controller's desired-state stream is open and answering",
    registers: [registry],
    collect() {
      this.set(connected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'l3vpn_agent_core_link_up',
    help: 'Liveness of each core link as this agent judges it (port state and BFD): 1 up, 0 down or not up yet',
    labelNames: ['interface', 'bfd'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of links()) this.set({ interface: l.interface, bfd: String(l.bfd) }, l.state === LinkLivenessState.LINK_LIVENESS_STATE_UP ? 1 : 0);
    },
  });
  const duration = new Histogram({
    name: 'l3vpn_agent_apply_duration_seconds',
    help: 'Time to apply a snapshot, a delta, or run a reconciliation pass through the driver',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const drift = new Counter({
    name: 'l3vpn_agent_drift_repairs_total',
    help: 'Entries found different from the desired state and repaired',
    registers: [registry],
  });
  const link: LinkMetrics = {
    applied: (kind, seconds) => duration.observe({ kind }, seconds),
    driftRepaired: (n) => {
      if (n) drift.inc(n);
    },
  };
  return { registry, link };
}
