import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, renderTable } from './table.js';

test('columns are padded to the widest cell, three spaces apart, no trailing blanks', () => {
  const out = renderTable(['NAME', 'STATUS'], [['pe1', 'active'], ['a-longer-name', '']]);
  assert.equal(out, 'NAME            STATUS\npe1             active\na-longer-name\n');
});

test('ages read like kubectl', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  assert.equal(age(ago(45), now), '45s');
  assert.equal(age(ago(5 * 60 + 30), now), '5m30s');
  assert.equal(age(ago(42 * 60), now), '42m');
  assert.equal(age(ago(5 * 3600), now), '5h');
  assert.equal(age(ago(3 * 86400), now), '3d');
  assert.equal(age(undefined, now), '<unknown>');
});
