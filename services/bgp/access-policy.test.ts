import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpServiceService } from '../common/gen/proto/l3vpn/v1/bgp.js';
import { allows } from '../common/grpc/access-control.js';
import { bgpAccessPolicy } from './access-policy.js';

const OPERATOR_READS = ['GetGlobal', 'ListPeers', 'ListPath', 'ListVrfs', 'ListVrfPaths', 'WatchEvent', 'WatchVrfRoutes'];

test('every BgpService method has a rule, and no rule names a method the service lacks', () => {
  assert.deepEqual(Object.keys(bgpAccessPolicy).sort(), Object.keys(BgpServiceService).sort());
});

test('operators get the reads and watches only; the vpn service calls everything', () => {
  for (const [key, m] of Object.entries(BgpServiceService)) {
    const name = m.path.split('/').pop()!;
    assert.equal(allows(bgpAccessPolicy[key], 'operator:alice'), OPERATOR_READS.includes(name), name);
    assert.equal(allows(bgpAccessPolicy[key], 'service:vpn'), true, name);
    assert.equal(allows(bgpAccessPolicy[key], 'service:labels'), false, name);
  }
});
