import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SelectedVpnRoute } from '../../common/desired-state/index.js';
import type { NodeIntent, VrfIntent } from '../domain/node-intent.js';
import type { CePeer } from './ce-peer-intent.js';
import { readyCeExports } from './ce-export-gate.js';
import { owners } from './owners.js';

const vi = (label: number | null) => ({ vpn: { id: 'red' }, allocation: { label } }) as unknown as VrfIntent;
const intent = (labels: Record<string, number> = {}) => ({ node: { id: 'pe2' }, labels: new Map(Object.entries(labels)) }) as unknown as NodeIntent;
const peer = (routeLabel: number, family: 4 | 6 = 4): CePeer => ({
  vpn: 'red',
  node: 'pe2',
  site: 's1',
  access: 'b',
  family,
  ceAddress: family === 4 ? '10.0.0.2' : '2001:db8::2',
  peAddress: family === 4 ? '10.0.0.1' : '2001:db8::1',
  peerAs: 65001,
  asOverride: false,
  allowasIn: 0,
  routeLabel,
});
const route = (prefix: string, nextHop: string, rd = ''): SelectedVpnRoute => ({ vrf: 'red', prefix, nextHop, label: rd ? 100 : 0, rd });

/** An egress that records what it was asked and delivers every prefix but `missing`. */
function egress(missing: string[] = []) {
  const asked: { prefixes: readonly string[]; labels: readonly number[] }[] = [];
  return {
    asked,
    delivered: (_vrf: string, prefixes: readonly string[], labels: readonly number[]) => {
      asked.push({ prefixes, labels });
      return prefixes.filter((p) => !missing.includes(p));
    },
  };
}

test("a backup PE's CE route is ready though its VRF prefers the primary PE's route: any installed route for the prefix delivers", () => {
  const e = egress();
  const routes = [route('10.70.0.0/24', '10.255.0.1', '65000:1'), route('10.80.0.0/24', '10.0.0.2')];
  assert.deepEqual(readyCeExports(intent(), vi(16), routes, [peer(0)], e)?.sort(), ['10.70.0.0/24', '10.80.0.0/24']);
  assert.deepEqual(e.asked[0]!.labels, [16], 'per-VRF: the VRF label');
});

test('per-CE labels: every CE peer of the VRF names its own; not installed yet: held', () => {
  const e = egress(['10.80.0.0/24']);
  const routes = [route('10.80.0.0/24', '10.0.0.2'), route('2001:db8:80::/48', '2001:db8::2')];
  assert.deepEqual(readyCeExports(intent(), vi(null), routes, [peer(3001), peer(3002, 6)], e), ['2001:db8:80::/48']);
  assert.deepEqual([...e.asked[0]!.labels].sort(), [3001, 3002]);
});

test('what the agent applied unknown (it restarted and has not reported): nothing is said, the speaker keeps its set', () => {
  assert.equal(readyCeExports(intent(), vi(16), [route('10.80.0.0/24', '10.0.0.2')], [peer(0)], { delivered: () => undefined }), undefined);
});

test('an IPv6 CE in a per-VRF VPN is exported with the VRF IPv6 label; without a label there is nothing to deliver with', () => {
  const e = egress();
  readyCeExports(intent({ [owners.vrfIpv6('red', 'pe2')]: 17 }), vi(16), [route('2001:db8:80::/48', '2001:db8::2')], [peer(0, 6)], e);
  assert.deepEqual(e.asked[0]!.labels, [17]);
  assert.deepEqual(readyCeExports(intent(), vi(null), [route('10.80.0.0/24', '10.0.0.2')], [peer(0)], egress()), []);
});
