// The answer to a dry run (?dryRun=true), as a JSON Schema for fastify's
// serializer and the OpenAPI document. Mirrors NodePlan / PoolReleases of
// intent/types.ts.
const counts = {
  type: 'object',
  required: ['added', 'modified', 'deleted'],
  properties: { added: { type: 'integer' }, modified: { type: 'integer' }, deleted: { type: 'integer' } },
};
const released = (valueName: 'label' | 'value') => ({
  type: 'array',
  items: {
    type: 'object',
    required: ['owner', valueName],
    properties: { owner: { type: 'string', description: 'owner key in the labels service' }, [valueName]: { type: valueName === 'label' ? 'integer' : 'string' } },
  },
});

const nodePlan = {
  type: 'object',
  required: ['node', 'generation', 'changed', 'vrfs', 'routes', 'lfibEntries', 'transportPaths', 'newAllocations', 'releases', 'withdrawnRoutes'],
  properties: {
    node: { type: 'string' },
    generation: { type: 'integer', description: 'the stored generation the plan is against (0: none yet)' },
    changed: { type: 'boolean' },
    removed: { type: 'boolean', description: 'the node would leave the intent' },
    vrfs: counts,
    routes: counts,
    lfibEntries: counts,
    transportPaths: counts,
    newAllocations: { type: 'array', items: { type: 'string' }, description: 'values the worker would allocate; the plan used placeholders for them' },
    releases: {
      type: 'object',
      description: "what the node's job would give back into the labels service's hold-down",
      required: ['labels', 'routeDistinguishers'],
      properties: { labels: released('label'), routeDistinguishers: released('value'), sidIndex: { type: 'integer', description: 'node SID index given back to the SR domain' } },
    },
    withdrawnRoutes: {
      type: 'array',
      description: 'routes the node would stop advertising (BGP withdraws RD:prefix)',
      items: { type: 'object', properties: { vrf: { type: 'string' }, prefix: { type: 'string' }, routeDistinguisher: { type: 'string' } } },
    },
  },
};

export const planSchema = {
  $id: 'Plan',
  type: 'object',
  description: 'the answer to a dry run: what the write would change, on which nodes, and what would be released',
  required: ['dryRun', 'changes', 'affectedNodes'],
  properties: {
    dryRun: { type: 'boolean' },
    changes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { kind: { type: 'string' }, id: { type: 'string' }, action: { type: 'string', enum: ['create', 'update', 'delete'] } },
      },
    },
    affectedNodes: { type: 'array', items: { type: 'string' } },
    resource: { type: 'object', additionalProperties: true, description: 'the resource as it would be' },
    plan: {
      type: 'array',
      description:
        "per node the write affects: what its next reconcile would change (with the VPN routes BGP holds now: other PEs' routes change only once BGP propagates the write), releases and withdrawn routes",
      items: nodePlan,
    },
    releases: {
      type: 'object',
      description: 'VPN-wide values (route targets, given RDs) that would go into hold-down',
      properties: { routeTargets: released('value'), routeDistinguishers: released('value') },
    },
  },
};
