import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KINDS } from './kinds.js';
import { inDependencyOrder, readManifests } from './manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'l3vpn-manifest-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('YAML documents name their kind; the field is not sent', () => {
  const m = readManifests([file('a.yaml', 'kind: sites\nid: s1\nvpn: v\n---\nkind: Node\nid: pe1\n')]);
  assert.deepEqual(m.map((x) => [x.kind.name, x.id]), [['site', 's1'], ['node', 'pe1']]);
  assert.deepEqual(m[0]!.body, { id: 's1', vpn: 'v' });
  assert.deepEqual(inDependencyOrder(m).map((x) => x.id), ['pe1', 's1']);
  assert.deepEqual(inDependencyOrder(m, true).map((x) => x.id), ['s1', 'pe1']);
});

test('a JSON list as `get -o json` prints it takes the kind from the command line', () => {
  const m = readManifests([file('b.json', '{"items":[{"id":"v1","customer":"a"},{"id":"v2","customer":"b"}]}')], KINDS.vpn);
  assert.deepEqual(m.map((x) => x.id), ['v1', 'v2']);
});

test('a missing or contradicting kind, a missing id, a derived kind are usage errors', () => {
  assert.throws(() => readManifests([file('c.yaml', 'id: x\n')]), /document 1\): no kind/);
  assert.throws(() => readManifests([file('d.yaml', 'kind: node\nid: x\n')], KINDS.site), /kind 'node' but the command names sites/);
  assert.throws(() => readManifests([file('e.yaml', 'kind: vpn\ncustomer: a\n')]), /the vpn has no id/);
  assert.throws(() => readManifests([file('f.yaml', 'kind: vrf\nid: a:b\n')]), /derived from sites/);
  assert.throws(() => readManifests([file('g.yaml', 'kind: node\nid: [\n')]), /g\.yaml: /);
  assert.throws(() => readManifests([join(dir, 'missing.yaml')]), /cannot read .*missing\.yaml/);
});
