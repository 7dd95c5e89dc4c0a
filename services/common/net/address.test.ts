import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, formatIpv6At } from './address-text.js';
import {
  addressTextProblem,
  canonicalIp,
  formatIpBytes,
  ipFromBigInt,
  ipToBigInt,
  parseIp,
  parseIpv4,
  parseIpv6,
} from './address.js';

const v6 = (text: string) => {
  const b = parseIpv6(text);
  assert.ok(b, `${text} parses`);
  return b;
};
const hexGroups = (b: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');

/** xorshift32, seeded: a failure names the seed that reproduces it. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32);
}
const SEED = Number(process.env.NET_SEED ?? 0x5952);

test('IPv4: four decimal octets, nothing else', () => {
  assert.equal(parseIpv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('x10.0.0.1y', 1, 9), 0x0a000001, 'a slice of a longer text');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.00', '1..3.4', '.1.2.3', '1.2.3.4.', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4%eth0', '1.2.3.4\0', '1.2.3.-4', '0x1.2.3.4', '1.2.3.4/32', '１.2.3.4']) {
    assert.equal(parseIpv4(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(formatIpv4(0xc0000201), '192.0.2.1');
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
});

test('IPv6: the three text forms of RFC 4291 §2.2', () => {
  assert.equal(hexGroups(v6('2001:DB8:0:0:8:800:200C:417A')), '2001:db8:0:0:8:800:200c:417a');
  assert.equal(hexGroups(v6('2001:db8::8:800:200c:417a')), '2001:db8:0:0:8:800:200c:417a');
  assert.equal(hexGroups(v6('::')), '0:0:0:0:0:0:0:0');
  assert.equal(hexGroups(v6('::1')), '0:0:0:0:0:0:0:1');
  assert.equal(hexGroups(v6('1::')), '1:0:0:0:0:0:0:0');
  assert.equal(hexGroups(v6('1:2:3:4:5:6:7::')), '1:2:3:4:5:6:7:0', ':: may stand for one group');
  assert.equal(hexGroups(v6('::13.1.68.3')), '0:0:0:0:0:0:d01:4403');
  assert.equal(hexGroups(v6('::FFFF:129.144.52.38')), '0:0:0:0:0:ffff:8190:3426');
  assert.equal(hexGroups(v6('0:0:0:0:0:0:13.1.68.3')), '0:0:0:0:0:0:d01:4403');
  assert.equal(hexGroups(v6('1:2:3:4:5:6:1.2.3.4')), '1:2:3:4:5:6:102:304');
});

test('IPv6: what is not an address, zone ids included', () => {
  for (const bad of [
    '', ':', ':::', '1:::2', '1::2::3', ':1::', '1::2:', ':1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8', '12345::', 'g::', 'fe80::1%eth0', 'fe80::1%1', '::1\0', ' ::1', '::1 ', '1.2.3.4::', '::1.2.3.4:5',
    '::1.2.3', '::1.2.3.04', '1:2:3:4:5:6:7:1.2.3.4', '[::1]', '::/0', '0x1::',
  ]) {
    assert.equal(parseIpv6(bad), undefined, JSON.stringify(bad));
    assert.equal(parseIp(bad), undefined, JSON.stringify(bad));
  }
});

test('RFC 5952 §4: lower case, no leading zeros, the longest zero run compressed (the first on a tie), never one group', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: tie, the first run
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run, not the first
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one zero group stays
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['0:1:0:0:1:0:0:0', '0:1:0:0:1::'],
    ['0:0:ffff:0:0:1:0:0', '::ffff:0:0:1:0:0'], // a tie: the first run, though another spot would save a character more
    ['2001:DB8::ABCD', '2001:db8::abcd'], // §4.3
    ['::ffff:c000:0201', '::ffff:192.0.2.1'], // §5: IPv4-mapped keeps the dotted tail
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
    ['::c000:201', '::c000:201'], // not mapped: hex
  ];
  for (const [input, canonical] of cases) assert.equal(canonicalIp(input), canonical, input);
  assert.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  assert.equal(canonicalIp('fe80::1%eth0'), undefined);
});

/** RFC 5952 §4.2 the long way: of every span of >= 2 zero groups, compress the longest, the first on a tie. */
function referenceFormat(groups: number[]): string {
  const plain = groups.map((g) => g.toString(16));
  let best: [number, number] | undefined;
  for (let i = 0; i < 8; i++) {
    for (let j = i + 2; j <= 8 && groups.slice(i, j).every((g) => g === 0); j++) {
      if (!best || j - i > best[1] - best[0]) best = [i, j];
    }
  }
  return best ? `${plain.slice(0, best[0]).join(':')}::${plain.slice(best[1]).join(':')}` : plain.join(':');
}

test('property: parse(format(x)) == x and format is RFC 5952 for random addresses rich in zero runs', () => {
  const next = random(SEED);
  for (let round = 0; round < 5000; round++) {
    const groups = Array.from({ length: 8 }, () => (next() < 0.55 ? 0 : next() < 0.3 ? 0xffff : Math.floor(next() * 0x10000)));
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => ((bytes[2 * i] = g >> 8), (bytes[2 * i + 1] = g & 0xff)));
    const text = formatIpv6At(bytes, 0);
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    if (!mapped) assert.equal(text, referenceFormat(groups), `seed ${SEED} round ${round}: ${hexGroups(bytes)}`);
    assert.deepEqual(parseIpv6(text), bytes, `seed ${SEED} round ${round}: ${text}`);
    // Any spelling of the same address has the same canonical text.
    assert.equal(canonicalIp(groups.map((g) => g.toString(16).padStart(4, '0').toUpperCase()).join(':')), text);
  }
  for (let round = 0; round < 2000; round++) {
    const v = Math.floor(next() * 2 ** 32);
    assert.equal(parseIpv4(formatIpv4(v)), v, `seed ${SEED} round ${round}`);
  }
});

test('addresses as numbers, both ways', () => {
  assert.equal(ipToBigInt(parseIp('192.0.2.1')!), 0xc0000201n);
  assert.equal(ipToBigInt(parseIp('2001:db8::1')!), 0x20010db8000000000000000000000001n);
  assert.equal(formatIpBytes(ipFromBigInt(6, 0x20010db8000000000000000000000001n).bytes), '2001:db8::1');
  assert.equal(formatIpBytes(ipFromBigInt(4, 0xc0000201n).bytes), '192.0.2.1');
});

test('the reason a text is not an address names a zone id, a control character or white space', () => {
  assert.match(addressTextProblem('fe80::1%eth0'), /zone id \('%eth0'\)/);
  assert.match(addressTextProblem('10.0.0.1\0'), /control character/);
  assert.match(addressTextProblem(' 10.0.0.1'), /white space/);
  assert.equal(addressTextProblem('nope'), 'is not an IPv4 or IPv6 address');
});
