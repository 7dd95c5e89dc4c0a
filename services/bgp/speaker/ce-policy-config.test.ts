import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerConfigError, needsReset, peerConfig, type PeerConfigInput } from './config.js';
import { staticNeighbors } from '../main.js';

const ce: PeerConfigInput = { address: '192.0.2.30', remoteAs: 65001, vrf: 'red' };

const refused = (input: PeerConfigInput, field: string) =>
  assert.throws(
    () => peerConfig(input),
    (e: Error) => e instanceof PeerConfigError && e.field === field,
    `${JSON.stringify(input)} refused naming ${field}`,
  );

test('PE-CE policies: defaults off, values checked, each refused on a peer without a VRF naming its field', () => {
  const d = peerConfig(ce);
  assert.deepEqual([d.asOverride, d.allowAsIn, d.maxPrefix, d.siteOfOrigin], [false, 0, undefined, undefined]);
  const c = peerConfig({ ...ce, asOverride: true, allowAsIn: 3, siteOfOrigin: '192.0.2.1:7', maxPrefix: { limit: 100 } });
  assert.deepEqual(c.siteOfOrigin, { form: 1, administrator: 0xc0000201, assigned: 7 });
  assert.deepEqual(c.maxPrefix, { limit: 100, warningPercent: 75, action: 'limit', restartInterval: 0 });
  assert.equal(c.allowAsIn, 3);
  const global = { address: '192.0.2.20', remoteAs: 65002 };
  refused({ ...global, asOverride: true }, 'as_override');
  refused({ ...global, allowAsIn: 1 }, 'allowas_in');
  refused({ ...global, siteOfOrigin: '65000:1' }, 'site_of_origin');
  refused({ ...global, localPref: 200 }, 'local_pref');
  // max-prefix protects any session.
  assert.equal(peerConfig({ ...global, maxPrefix: { limit: 5, action: 'warning-only' } }).maxPrefix?.action, 'warning-only');
  refused({ ...ce, allowAsIn: 11 }, 'allowas_in');
  refused({ ...ce, allowAsIn: -1 }, 'allowas_in');
  refused({ ...ce, siteOfOrigin: '65000' }, 'site_of_origin');
  refused({ ...ce, siteOfOrigin: '70000:70000' }, 'site_of_origin');
  refused({ ...ce, maxPrefix: { limit: 0 } }, 'max_prefix.limit');
  refused({ ...ce, maxPrefix: { limit: 10, warningPercent: 101 } }, 'max_prefix.warning_percent');
  refused({ ...ce, maxPrefix: { limit: 10, restartInterval: 70000 } }, 'max_prefix.restart_interval');
  refused({ ...ce, maxPrefix: { limit: 10, action: 'drop' as never } }, 'max_prefix.action');
});

test('PE-CE policies: as-override, allowas-in and site of origin need a new session, max-prefix does not', () => {
  const a = peerConfig(ce);
  assert.equal(needsReset(a, peerConfig({ ...ce, asOverride: true })), true);
  assert.equal(needsReset(a, peerConfig({ ...ce, allowAsIn: 1 })), true);
  assert.equal(needsReset(a, peerConfig({ ...ce, siteOfOrigin: '65000:1' })), true);
  const soo = peerConfig({ ...ce, siteOfOrigin: '65000:1' });
  assert.equal(needsReset(soo, peerConfig({ ...ce, siteOfOrigin: '65000:1' })), false, 'the same value parsed twice');
  assert.equal(needsReset(soo, peerConfig({ ...ce, siteOfOrigin: '65000:2' })), true);
  assert.equal(needsReset(a, peerConfig({ ...ce, maxPrefix: { limit: 10 } })), false);
});

test('config file: PE-CE policy keys, max-prefix as a number or a map', () => {
  const [n] = staticNeighbors([
    { address: '192.0.2.30', 'remote-as': 65001, vrf: 'red', 'as-override': true, 'allowas-in': 2, 'site-of-origin': '65000:9', 'max-prefix': { limit: 50, 'warning-percent': 90, action: 'warning-only', 'restart-interval': 30 } },
  ]);
  assert.deepEqual(
    { o: n!.asOverride, a: n!.allowAsIn, s: n!.siteOfOrigin, m: n!.maxPrefix },
    { o: true, a: 2, s: { form: 0, administrator: 65000, assigned: 9 }, m: { limit: 50, warningPercent: 90, action: 'warning-only', restartInterval: 30 } },
  );
  assert.equal(staticNeighbors([{ address: '192.0.2.30', 'remote-as': 65001, 'max-prefix': 7 }])[0]!.maxPrefix?.limit, 7);
  assert.throws(() => staticNeighbors([{ address: '192.0.2.30', 'remote-as': 65001, 'as-override': true }]), /neighbors\[0\]\.as-override: applies to a PE-CE peer only/);
  assert.throws(() => staticNeighbors([{ address: '192.0.2.30', 'remote-as': 65001, 'max-prefix': { limit: 5, action: 'stop' } }]), /max-prefix\.action/);
  assert.throws(() => staticNeighbors([{ address: '192.0.2.30', 'remote-as': 65001, 'max-prefix': { limit: 5, restart: 3 } }]), /unknown key 'restart'/);
});
