// Schema-driven fuzzing of the REST API (issue 13 §5): for every operation of
// the served OpenAPI document, requests generated from its schemas, well
// shaped and mutated, with hostile parameters, headers and raw bodies. No
// answer may be a 5xx; every 4xx is a problem document (RFC 9457). Bounded by
// runs per operation and a time budget; the seed is fixed (FUZZ_SEED).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contractBreach } from '../support/fuzz/http-contract.js';
import { describeExchange, send, type FuzzHttpResponse } from '../support/fuzz/http-request.js';
import { operationsOf, requestArbitrary, type Operation } from '../support/fuzz/openapi.js';
import { assertBounded, fuzzPlan } from '../support/fuzz/plan.js';
import type { SchemaContext } from '../support/fuzz/json-schema.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

const NODES = ['pe1', 'pe2'];
const VPNS = ['acme', 'hs'];
const SITES = ['s1'];

/** Puts back what earlier cases deleted, so every operation finds resources to act on. */
async function seedResources(h: VpnHarness): Promise<void> {
  const ensure = async (path: string, id: string, body: object) => {
    if ((await h.call('GET', `${path}/${id}`)).status === 404) await h.call('POST', path, { body });
  };
  await ensure('/v1/nodes', 'pe1', pe('pe1', 1));
  await ensure('/v1/nodes', 'pe2', pe('pe2', 2));
  await ensure('/v1/vpns', 'acme', vpnBody('acme'));
  await ensure('/v1/vpns', 'hs', vpnBody('hs', { topology: 'hub-spoke' }));
  await ensure('/v1/sites', 's1', siteBody('s1', 'acme', 'pe1', 1));
  await ensure('/v1/links', 'pe1-pe2', LINK);
}

const LINK = { id: 'pe1-pe2', a: { node: 'pe1', interface: 'eth9', address: '10.9.0.1/30' }, b: { node: 'pe2', interface: 'eth9', address: '10.9.0.2/30' } };

/** Valid bodies by collection: the fuzzer sends them as they are and mutated. */
const EXAMPLES: Record<string, unknown[]> = {
  nodes: [pe('pe1', 1), pe('pe3', 3, { labelRange: { min: 1000, max: 2000 }, srgb: { base: 16000, size: 8000 } }), { id: 'p1', role: 'P', routerId: '192.0.2.9', asNumber: 65000 }],
  links: [LINK, { ...LINK, id: 'l2', a: { node: 'pe1', interface: 'eth8' }, b: { node: 'pe2', interface: 'eth8' } }],
  vpns: [vpnBody('acme'), vpnBody('hs', { topology: 'hub-spoke' }), vpnBody('v2', { routeDistinguisher: '65000:7', importRouteTargets: ['65000:7'], exportRouteTargets: ['65000:7'] })],
  sites: [
    siteBody('s1', 'acme', 'pe1', 1),
    siteBody('s2', 'hs', 'pe2', 2, { role: 'hub', routing: { static: [{ prefix: '172.16.0.0/16' }], bgp: { peerAs: 65100 } } }),
    siteBody('s3', 'acme', 'pe2', 3, { ipv6: { peAddress: '2001:db8:3::1/64', ceAddress: '2001:db8:3::2' } }),
  ],
  tokens: [{ name: 'fuzz', scope: 'read' }, { name: 'later', scope: 'write', expiresAt: '2099-01-01T00:00:00Z' }],
};

const examplesOf = (op: Operation) => EXAMPLES[op.path.split('/')[2] ?? ''] ?? [];

describe('REST fuzz (every operation of the OpenAPI document)', () => {
  let h: VpnHarness;
  let operations: Operation[];
  let ctx: SchemaContext;

  before(async () => {
    h = await startVpnHarness();
    const doc = await h.call('GET', '/docs/openapi.json');
    assert.equal(doc.status, 200);
    operations = operationsOf(doc.body);
    assert.ok(operations.length >= 30, `${operations.length} operations`);
    await seedResources(h);
    ctx = {
      document: doc.body,
      hints: {
        id: [...NODES, ...VPNS, ...SITES, 'pe1-pe2', 'acme:pe1'],
        node: NODES,
        vpn: VPNS,
        customer: ['acme'],
        cursor: ['eyJpZCI6InBlMSJ9', 'pe1', ''],
      },
    };
  });
  after(async () => {
    await h?.stop();
  });

  test('no request gets a 5xx, every 4xx is a problem document, every 2xx body is JSON', async () => {
    const plan = fuzzPlan('REST', { runsPerOperation: 60, budgetMs: 60_000 });
    const creds = { admin: h.tokens.admin, others: [h.tokens.read, h.tokens.write] };
    let requests = 0;
    const statuses: string[] = [];
    for (const [i, op] of operations.entries()) {
      await seedResources(h);
      const seen = new Map<number, number>();
      await assertBounded(
        requestArbitrary(op, ctx, creds, examplesOf(op)),
        async (req) => {
          requests++;
          let res: FuzzHttpResponse | undefined;
          try {
            res = await send(h.base, req);
          } catch (err) {
            assert.fail(`${op.id}: no answer (${(err as Error).message})\n${describeExchange(plan.seed, req, undefined)}`);
          }
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const breach = contractBreach(res);
          if (breach) assert.fail(`${op.id}: ${breach}\n${describeExchange(plan.seed, req, res)}`);
        },
        plan.parameters(operations.length - i),
      );
      statuses.push(`${op.id} ${[...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    }
    // Which answers each operation got: a fuzzer that only ever hears 400 tests little.
    console.log(`[fuzz] REST answers:\n  ${statuses.join('\n  ')}`);
    console.log(`[fuzz] REST: ${requests} requests over ${operations.length} operations in ${plan.elapsedMs()} ms`);
    // The service still answers after all of it.
    assert.equal((await h.call('GET', '/v1/nodes/pe1')).status, 200);
  });
});
