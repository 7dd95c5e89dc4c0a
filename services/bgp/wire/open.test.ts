import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Capability } from './capabilities.js';
import { OpenSubcode } from './constants.js';
import { decodeMessage } from './message.js';
import { decodeOpen, encodeOpen, OpenMessage, peerAs } from './open.js';
import { hex, toHex } from './test-helpers.js';

// RFC 4271 §4.2 / RFC 5492, by hand: AS 65001, hold 90, id 10.0.0.1,
// capabilities MP VPN-IPv4, route refresh, 4-octet AS 65001, one parameter each.
const OPEN = hex(`
  ffffffffffffffffffffffffffffffff 0031 01
  04 fde9 005a 0a000001 14
  02 06 01 04 0001 00 80
  02 02 02 00
  02 06 41 04 0000fde9
`);

const caps: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 128 },
  { kind: 'route-refresh', code: 2 },
  { kind: 'four-octet-as', as: 65001 },
];

test('OPEN decodes from a hand-built vector and encodes back byte-identical', () => {
  const r = decodeMessage(OPEN, { fourOctetAs: false });
  assert.ok(r.ok);
  assert.deepEqual(r.message, { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps });
  assert.equal(toHex(encodeOpen({ as: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps })), toHex(OPEN));
});

test('4-octet AS goes out as AS_TRANS with the real AS in the capability', () => {
  const bytes = encodeOpen({ as: 4200000001, holdTime: 0, bgpId: '10.0.0.1', capabilities: [{ kind: 'four-octet-as', as: 4200000001 }] });
  const open = decodeOpen(bytes.subarray(19)) as OpenMessage;
  assert.equal(open.myAs, 23456);
  assert.equal(peerAs(open), 4200000001);
});

test('all capabilities round-trip, single-parameter layout, unknown preserved', () => {
  const all: Capability[] = [
    { kind: 'multiprotocol', afi: 2, safi: 128 },
    { kind: 'route-refresh', code: 128 },
    { kind: 'extended-message' },
    {
      kind: 'graceful-restart',
      restarting: true,
      notification: false,
      restartTime: 120,
      families: [
        { afi: 1, safi: 128, forwardingPreserved: true },
        { afi: 2, safi: 128, forwardingPreserved: false },
      ],
    },
    { kind: 'unknown', code: 73, value: hex('0568656c6c6f00') },
  ];
  const bytes = encodeOpen({ as: 65001, holdTime: 180, bgpId: '192.0.2.1', capabilities: all, parameterLayout: 'single' });
  assert.equal(bytes[29], 2, 'one Capabilities parameter');
  assert.equal(bytes[28], bytes.length - 29);
  const open = decodeOpen(bytes.subarray(19)) as OpenMessage;
  assert.deepEqual(open.capabilities, all);
  // Graceful restart: R bit + 120 s, then AFI 1 SAFI 128 F bit.
  assert.ok(toHex(bytes).includes('400a80780001808000028000'));
});

test('a known capability with a bad length is kept as unknown', () => {
  const open = decodeOpen(hex('04 fde9 005a 0a000001 07 02 05 01 03 000180')) as OpenMessage;
  assert.deepEqual(open.capabilities, [{ kind: 'unknown', code: 1, value: hex('000180') }]);
});

test('RFC 9072 extended optional parameters length both ways', () => {
  const many: Capability[] = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: 1, safi: i + 1 }));
  const bytes = encodeOpen({ as: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: many });
  assert.equal(bytes[28], 255);
  assert.equal(bytes[29], 255);
  const open = decodeOpen(bytes.subarray(19)) as OpenMessage;
  assert.deepEqual(open.capabilities, many);
});

const errors: [string, string, number, string][] = [
  ['version 3', '03 fde9 005a 0a000001 00', OpenSubcode.UNSUPPORTED_VERSION_NUMBER, '0004'],
  ['hold time 1', '04 fde9 0001 0a000001 00', OpenSubcode.UNACCEPTABLE_HOLD_TIME, ''],
  ['hold time 2', '04 fde9 0002 0a000001 00', OpenSubcode.UNACCEPTABLE_HOLD_TIME, ''],
  ['BGP identifier 0', '04 fde9 005a 00000000 00', OpenSubcode.BAD_BGP_IDENTIFIER, ''],
  ['optional parameter type 1', '04 fde9 005a 0a000001 04 01 02 0000', OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, ''],
  ['parameters length mismatch', '04 fde9 005a 0a000001 05 02 02 0200', OpenSubcode.UNSPECIFIC, ''],
  ['capability overruns parameter', '04 fde9 005a 0a000001 04 02 02 0205', OpenSubcode.UNSPECIFIC, ''],
];
for (const [name, body, subcode, data] of errors) {
  test(`OPEN error: ${name}`, () => {
    const r = decodeOpen(hex(body));
    assert.ok(!('type' in r));
    assert.equal(r.code, 2);
    assert.equal(r.subcode, subcode);
    assert.equal(toHex(r.data), data);
  });
}

test('hold time 0 and 3 are acceptable', () => {
  for (const h of ['0000', '0003']) assert.ok('type' in decodeOpen(hex(`04 fde9 ${h} 0a000001 00`)));
});

test('encodeOpen rejects what it cannot send', () => {
  assert.throws(() => encodeOpen({ as: 65001, holdTime: 2, bgpId: '10.0.0.1', capabilities: [] }), RangeError);
  assert.throws(() => encodeOpen({ as: 65001, holdTime: 90, bgpId: '0.0.0.0', capabilities: [] }), RangeError);
});
