import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, commonSettings, loadSettings } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { formatRd } from '../common/vpn/rd.js';
import { formatRouteTarget } from '../common/vpn/route-target.js';
import { bgpSettings, startBgp } from './main.js';
import { staticVrfs } from './static-vrfs.js';
import { IPV4_UNICAST } from './speaker/config.js';
import { parsePrefix } from './wire/nlri.js';

const settingsOf = (vrfs: unknown[]) => loadSettings([...commonSettings, ...bgpSettings], { env: { BGP_VRFS: JSON.stringify(vrfs) } });

test('bgp.vrfs: definitions with defaults, every form of label block and limit', () => {
  const [red, blue] = staticVrfs(
    settingsOf([
      { name: 'red', rd: '65000:1', 'import-rts': ['65000:100', '65000:101'], 'export-rts': ['65000:100'], label: 500 },
      { name: 'blue', rd: '192.0.2.1:2', 'import-rts': ['65000:200'], 'label-mode': 'per-prefix', 'label-block': '7000-7099', 'max-routes': { limit: 100, 'warning-percent': 80 } },
    ])['bgp.vrfs'],
  );
  assert.deepEqual(
    [red!.name, formatRd(red!.rd), red!.importRts.map(formatRouteTarget), red!.labelMode, red!.label, red!.maxRoutes],
    ['red', '65000:1', ['65000:100', '65000:101'], 'per-vrf', 500, undefined],
  );
  assert.deepEqual([blue!.labelMode, blue!.labelBlock, blue!.maxRoutes], ['per-prefix', { first: 7000, last: 7099 }, { limit: 100, warningPercent: 80, warningOnly: false }]);
  assert.deepEqual(staticVrfs([{ name: 'x', rd: '1:1', label: 16, 'max-routes': 5 }])[0]!.maxRoutes, { limit: 5, warningPercent: 75, warningOnly: false });
  assert.deepEqual(staticVrfs(settingsOf([])['bgp.vrfs']), []);
});

test('bgp.vrfs: errors name the entry and the field', () => {
  const bad = (vrfs: unknown[], field: RegExp) => assert.throws(() => staticVrfs(vrfs as never), (e: Error) => e instanceof ConfigError && field.test(e.message));
  bad([{ name: 'x', rd: 'nonsense', label: 500 }], /^bgp\.vrfs\[0\]\.rd:/);
  bad([{ name: 'x', rd: '1:1', label: 500, 'import-rts': ['65000:x'] }], /^bgp\.vrfs\[0\]\.import-rts:/);
  bad([{ name: 'x', rd: '1:1' }], /^bgp\.vrfs\[0\]\.label:/);
  bad([{ name: 'x', rd: '1:1', 'label-mode': 'per-prefix' }], /^bgp\.vrfs\[0\]\.label-block:/);
  bad([{ name: 'x', rd: '1:1', 'label-mode': 'per-ce', 'label-block': '9-3' }], /^bgp\.vrfs\[0\]\.label-block/);
  bad([{ name: 'x', rd: '1:1', 'label-mode': 'per-site', label: 500 }], /^bgp\.vrfs\[0\]\.label-mode:/);
  bad([{ name: 'x', rd: '1:1', label: 500, 'max-routes': { limit: 0 } }], /^bgp\.vrfs\[0\]\.max-routes\.limit:/);
  bad([{ name: 'x', rd: '1:1', label: 500, imports: [] }], /unknown key 'imports'/);
  bad([{ name: 'x', rd: '1:1', label: 500 }, { name: 'x', rd: '1:2', label: 500 }], /defined twice/);
  bad([{ name: 'x', rd: '1:1', label: 500 }, { name: 'y', rd: '1:1', label: 500 }], /^bgp\.vrfs\[1\]\.rd: VRF x already uses 1:1/);
  bad(['red'], /bgp\.vrfs\[0\] must be a map/);
});

test('`l3vpn bgp --config FILE` runs as a PE with the VRFs of the file; API VRFs live beside them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'l3vpn-static-vrfs-'));
  const file = join(dir, 'bgp.yaml');
  writeFileSync(
    file,
    [
      'bgp:',
      '  as: 65000',
      '  router-id: 10.0.0.1',
      '  listen-address: 127.0.0.1',
      '  port: 0',
      '  grpc-listen: 127.0.0.1:0',
      '  vrfs:',
      '    - { name: red, rd: "65000:1", import-rts: ["65000:100"], export-rts: ["65000:100"], label: 500 }',
      '    - name: blue',
      '      rd: "65000:2"',
      '      import-rts: ["65000:200", "65000:100"]',
      '      export-rts: ["65000:200"]',
      '      label-mode: per-prefix',
      '      label-block: 7000-7099',
      '      max-routes: { limit: 1000, warning-only: true }',
      '',
    ].join('\n'),
  );
  const svc = await startBgp(loadSettings([...commonSettings, ...bgpSettings], { configFile: file, env: {} }), createLogger('bgp-test', 'error'));
  try {
    assert.deepEqual(svc.vrfs.list().map((v) => v.name), ['red', 'blue']);
    svc.vrfs.add({ name: 'green', rd: '65000:3', importRts: ['65000:300'], label: 501 });
    assert.deepEqual(svc.vrfs.list().map((v) => v.name), ['red', 'blue', 'green']);
    assert.deepEqual(svc.vrfs.manager.importRouteTargets().map(formatRouteTarget).sort(), ['65000:100', '65000:200', '65000:300']);
    // A static VRF exports like any other: into the VPN Loc-RIB with its RD, RTs and label.
    const r = svc.vrfs.addPath('blue', { family: IPV4_UNICAST, route: parsePrefix('172.16.0.0/24'), attributes: { origin: 0, asPath: [] } });
    assert.equal(r.installed, true);
    assert.equal(formatRd(r.exported!.route.rd!), '65000:2');
    assert.ok(r.exported!.route.labels![0]! >= 7000 && r.exported!.route.labels![0]! <= 7099);
  } finally {
    await svc.stop(100);
    rmSync(dir, { recursive: true, force: true });
  }
  // A bad entry stops the start before anything listens.
  await assert.rejects(startBgp(settingsOf([{ name: 'x', rd: '1:1' }]), createLogger('bgp-test', 'error')), /bgp\.vrfs\[0\]\.label/);
});
