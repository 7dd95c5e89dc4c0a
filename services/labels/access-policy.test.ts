import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelsServiceService } from '../common/gen/proto/l3vpn/v1/labels.js';
import { allows } from '../common/grpc/access-control.js';
import { labelsAccessPolicy } from './access-policy.js';

test('every LabelsService method has a rule, and no rule names a method the service lacks', () => {
  assert.deepEqual(Object.keys(labelsAccessPolicy).sort(), Object.keys(LabelsServiceService).sort());
});

test('operators read (Get*, List*) and nothing else; the vpn service calls everything', () => {
  for (const [key, m] of Object.entries(LabelsServiceService)) {
    const name = m.path.split('/').pop()!;
    assert.equal(allows(labelsAccessPolicy[key], 'operator:alice'), /^(Get|List)/.test(name), name);
    assert.equal(allows(labelsAccessPolicy[key], 'service:vpn'), true, name);
    assert.equal(allows(labelsAccessPolicy[key], 'service:bgp'), false, name);
  }
});
