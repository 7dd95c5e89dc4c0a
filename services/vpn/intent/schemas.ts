// JSON Schemas of the intent resources. They are the validation: fastify
// checks every request against them, the gRPC adapter checks what it maps
// from its messages against the same compiled schemas, and the OpenAPI
// document is generated from them.
import { checkAddress } from '../../common/net/classify.js';
import { hasHostBits, parseIpPrefix } from '../../common/net/prefix.js';
import { parseRd } from '../../common/vpn/rd.js';
import { parseRouteTarget } from '../../common/vpn/route-target.js';
import { NODE_ROLES, STATUS_STATES } from './types.js';

type Schema = Record<string, unknown>;

/** undefined when the parser takes the text, else its error message. */
const parses = (fn: (s: string) => unknown) => (s: string) => {
  try {
    fn(s);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

const address = (family?: 4 | 6) => (s: string) => {
  const checked = checkAddress(s, { family });
  return checked.ok ? undefined : checked.problem;
};

/** Text with a prefix length: the address half explains itself. */
const withLength = (s: string) => {
  if (parseIpPrefix(s)) return undefined;
  const slash = s.indexOf('/');
  return slash < 0 ? 'has no prefix length' : (address()(s.slice(0, slash)) ?? 'has an invalid prefix length');
};

/**
 * Why a text does not fit a format the schemas use; undefined when it does.
 * Addresses are the one address module's (services/common/net): no zone ids.
 */
export const formatProblems: Record<string, (s: string) => string | undefined> = {
  ipv4: address(4),
  ipv6: address(6),
  'ip-address': address(),
  'interface-address': withLength,
  'ip-prefix': (s) => withLength(s) ?? (hasHostBits(parseIpPrefix(s)!) ? 'has host bits set' : undefined),
  'route-target': parses(parseRouteTarget),
  'route-distinguisher': parses(parseRd),
  'date-time': (s) => (Number.isNaN(Date.parse(s)) ? 'is not a date-time' : undefined),
};

/** Formats the schemas use, for every Ajv instance that compiles them. */
export const formats: Record<string, (s: string) => boolean> = Object.fromEntries(
  Object.entries(formatProblems).map(([name, problem]) => [name, (s: string) => problem(s) === undefined]),
);

const id = (what: string): Schema => ({
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
  description: `${what}: letters, digits, '.', '_', '-'; at most 63`,
});
const ref = (name: string): Schema => ({ $ref: `${name}#` });
const interfaceName: Schema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$',
  description: 'interface name on the node, e.g. eth1 or GigabitEthernet0/0/0/1',
};
const asNumber: Schema = { type: 'integer', minimum: 1, maximum: 4294967295, description: 'AS number (RFC 6793)' };

const metaProperties: Record<string, Schema> = {
  version: { type: 'integer', readOnly: true, description: 'bumped by every change of the intent; the ETag' },
  status: ref('Status'),
  createdAt: { type: 'string', format: 'date-time', readOnly: true },
  updatedAt: { type: 'string', format: 'date-time', readOnly: true },
};

/**
 * Fields a resource no longer takes, with what to do instead: a request
 * that sends one is refused with this detail, naming the field (validator.ts),
 * over REST and gRPC alike. Keyed by schema $id (its merge patch too).
 */
export const RETIRED_FIELDS: Record<string, Record<string, string>> = {
  Node: {
    agentIdentity:
      "is retired: no API takes or returns an agent's credential. Enrol the node's agent instead: POST /v1/nodes/{id}/join-tokens (scope admin) makes a one-time join token; give it to the agent (agent.join-token-file), which exchanges it for its own credential",
  },
};
RETIRED_FIELDS.NodePatch = RETIRED_FIELDS.Node!;

const resource = (id: string, description: string, properties: Record<string, Schema>, required: string[], extra: Schema = {}): Schema => ({
  $id: id,
  type: 'object',
  description,
  additionalProperties: false,
  required,
  properties: { ...properties, ...metaProperties },
  ...extra,
});

export const statusSchema: Schema = {
  $id: 'Status',
  type: 'object',
  readOnly: true,
  description:
    'whether the resource forwards: `active` once every node that must carry it has applied a generation with its entries and reported no failure for them',
  required: ['state'],
  properties: {
    state: {
      type: 'string',
      enum: [...STATUS_STATES],
      description:
        'pending (not reconciled yet), provisioning (being computed, or waiting for an agent to install it), active (installed and forwarding), degraded (part of what it needs works), down (its PE-CE port is down), unreachable (the agent of its node is silent; what it installed keeps forwarding), failed (an entry it needs failed, or its reconcile failed)',
    },
    reason: { type: 'string', description: 'why it is not active, with the node the agent speaks for ("pe3: no port eth9 on the bridge")' },
  },
};

export const nodeSchema = resource(
  'Node',
  'A managed node: a PE (holds VRFs) or a P router (transport only), with its forwarding agent.',
  {
    id: id('node id'),
    name: { type: 'string', minLength: 1, maxLength: 253, description: 'host name; defaults to the id' },
    role: { type: 'string', enum: [...NODE_ROLES] },
    routerId: { type: 'string', format: 'ipv4', description: 'BGP identifier (RFC 6286): unicast, not 0.0.0.0, multicast or 255.255.255.255' },
    loopback: {
      type: 'string',
      format: 'ip-address',
      description: 'BGP next hop of the routes it originates, reachable from every node (not unspecified, multicast, broadcast, loopback, link-local or IPv4-mapped); defaults to routerId',
    },
    asNumber,
    labelRange: {
      type: 'object',
      additionalProperties: false,
      required: ['min', 'max'],
      description: 'dynamic label range; defaults to the labels service default',
      properties: { min: { type: 'integer', minimum: 16, maximum: 1048575 }, max: { type: 'integer', minimum: 16, maximum: 1048575 } },
    },
    srgb: {
      type: 'object',
      additionalProperties: false,
      required: ['base', 'size'],
      description: 'segment routing global block (RFC 8402)',
      properties: { base: { type: 'integer', minimum: 16, maximum: 1048575 }, size: { type: 'integer', minimum: 1, maximum: 1048560 } },
    },
    nodeSidIndex: { type: 'integer', minimum: 0, maximum: 1048559, description: 'node SID index; allocated when absent' },
    transport: { type: 'string', enum: ['sr', 'external'], default: 'sr' },
  },
  ['id', 'role', 'routerId', 'asNumber'],
);

const linkEnd: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['node', 'interface'],
  properties: {
    node: id('node id'),
    interface: interfaceName,
    address: { type: 'string', format: 'interface-address', description: 'address with prefix length; absent for an unnumbered link' },
  },
};

export const linkSchema = resource(
  'Link',
  'A core link between two nodes.',
  {
    id: id('link id'),
    a: linkEnd,
    b: linkEnd,
    igpMetric: { type: 'integer', minimum: 1, maximum: 16777215, default: 10 },
    operStatus: {
      type: 'string',
      enum: ['unknown', 'up', 'down'],
      readOnly: true,
      description: "operational state beside the intended status: down when an end's agent reports its port or BFD session down, or while it is held down after coming back (flap damping); a down link carries no transport path",
    },
    operReason: { type: 'string', readOnly: true, description: 'why the link is operationally down, in the agent’s words' },
    operChangedAt: { type: 'string', format: 'date-time', readOnly: true, description: 'when operStatus last changed' },
  },
  ['id', 'a', 'b'],
);

const rtOrNull: Schema = { anyOf: [{ type: 'string', format: 'route-target' }, { type: 'null' }] };

export const vpnSchema = resource(
  'Vpn',
  'A customer VPN (RFC 8299 vpn-service).',
  {
    id: id('VPN id'),
    customer: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', maxLength: 1000 },
    topology: { type: 'string', enum: ['any-to-any', 'hub-spoke'], default: 'any-to-any', description: 'RFC 8299 vpn-service-topology' },
    extranetImports: {
      type: 'array',
      maxItems: 100,
      uniqueItems: true,
      items: id('VPN id'),
      description: "extranet: this VPN's VRFs also import the routes of these VPNs",
    },
    addressFamilies: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: ['ipv4', 'ipv6'] },
      default: ['ipv4'],
    },
    labelMode: { type: 'string', enum: ['per-vrf', 'per-ce', 'per-prefix'], default: 'per-vrf' },
    maxRoutesPerVrf: { type: 'integer', minimum: 1, maximum: 10000000, default: 10000 },
    routeDistinguisher: {
      type: 'string',
      format: 'route-distinguisher',
      description: 'one RD for every VRF of the VPN; when absent each VRF gets its own (type 1, router-id:n)',
    },
    routeTargets: {
      type: 'object',
      additionalProperties: false,
      description: 'any-to-any: anyToAny; hub-spoke: hub and spoke. A missing or null one is allocated.',
      properties: { anyToAny: rtOrNull, hub: rtOrNull, spoke: rtOrNull },
    },
  },
  ['id', 'customer'],
);

const attachment = (family: 'IPv4' | 'IPv6'): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['peAddress', 'ceAddress'],
  description: `${family} addressing of the attachment circuit`,
  properties: {
    peAddress: { type: 'string', format: 'interface-address', description: "PE interface address with the subnet's length" },
    ceAddress: { type: 'string', format: family === 'IPv4' ? 'ipv4' : 'ipv6' },
  },
});

const siteAccessSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'node', 'interface'],
  description: 'RFC 8299 site-network-access: the CE on one PE port and VLAN; a site has at most one per PE',
  properties: {
    id: id('access id, unique within the site'),
    node: id('PE node id'),
    interface: interfaceName,
    vlan: { type: 'integer', minimum: 1, maximum: 4094, description: '802.1Q VLAN id; absent for untagged' },
    ipv4: attachment('IPv4'),
    ipv6: attachment('IPv6'),
    priority: { type: 'integer', minimum: 1, maximum: 1000000, default: 100, description: 'RFC 8299 access-priority: the higher, the more preferred (single-active: the primary)' },
    status: { ...ref('Status'), description: "this access's status; read-only" },
    bgpSessions: {
      type: 'array',
      description: "read-only, with routing.bgp: the access's PE-CE eBGP sessions (one per CE address) as the bgp service reports them; state 'unknown' when it cannot be asked",
      items: {
        type: 'object',
        required: ['ceAddress', 'state', 'prefixesReceived', 'prefixesAccepted', 'prefixesAdvertised'],
        properties: {
          ceAddress: { type: 'string' },
          state: { type: 'string', enum: ['unknown', 'idle', 'connect', 'active', 'open-sent', 'open-confirm', 'established'] },
          prefixesReceived: { type: 'integer' },
          prefixesAccepted: { type: 'integer' },
          prefixesAdvertised: { type: 'integer' },
          maxPrefix: { type: 'string', enum: ['warning', 'exceeded'], description: 'routing.bgp.maxPrefix reached: its warning mark, or its limit (warning-only: the session stays up; limit: torn down and held down); absent below both' },
          lastError: { type: 'string' },
        },
      },
    },
  },
  anyOf: [
    { type: 'object', required: ['ipv4'] },
    { type: 'object', required: ['ipv6'] },
  ],
};

export const siteSchema = resource(
  'Site',
  'A customer site and its attachments to PEs (RFC 8299 site with its site-network-accesses). A one-access site may give its access flat (node, interface, vlan, ipv4, ipv6: one access with the site id); responses show the flat fields for a one-access site and `accesses` always; a request with both must have them agree.',
  {
    id: id('site id'),
    vpn: id('VPN id'),
    node: id('PE node id (one-access form)'),
    interface: interfaceName,
    vlan: { type: 'integer', minimum: 1, maximum: 4094, description: '802.1Q VLAN id; absent for untagged' },
    ipv4: attachment('IPv4'),
    ipv6: attachment('IPv6'),
    accesses: { type: 'array', minItems: 1, maxItems: 16, items: siteAccessSchema, description: 'the site network accesses; at most one per PE' },
    multihoming: {
      type: 'string',
      enum: ['single-active', 'all-active'],
      default: 'single-active',
      description: 'single-active: the primary access (highest priority, then lowest id) is preferred by every PE (LOCAL_PREF 200, others 100); all-active: equal preference',
    },
    revertive: {
      type: 'boolean',
      description:
        'single-active with several accesses only (refused elsewhere: there is no backup to return from); default true. true: traffic returns to the primary access once it is back. false: the access that took over stays preferred (LOCAL_PREF 200) when the primary returns, until an operator reverts (POST /v1/sites/{id}/revert) or that access fails in turn. Shown on single-active multi-access sites',
    },
    activeAccess: {
      type: 'string',
      readOnly: true,
      description: 'single-active with several accesses: the id of the access carrying the traffic (preferred by every PE), as the reconcile last decided it from priorities, failures (port down, PE unreachable) and revertive; absent until decided',
    },
    role: { type: 'string', enum: ['any-to-any', 'hub', 'spoke'], description: 'RFC 8299 site-role; required in a hub-spoke VPN' },
    routing: {
      type: 'object',
      additionalProperties: false,
      properties: {
        static: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['prefix'],
            properties: {
              prefix: { type: 'string', format: 'ip-prefix' },
              nextHop: { type: 'string', format: 'ip-address', description: "defaults to the CE's address of the prefix's family" },
            },
          },
        },
        bgp: {
          type: 'object',
          additionalProperties: false,
          required: ['peerAs'],
          description: "eBGP with the CE on each access's addresses (one session per address family), relayed by the PE's agent to the bgp service",
          properties: {
            peerAs: asNumber,
            asOverride: { type: 'boolean', description: "default false: AS_PATHs sent to the CE have every occurrence of its AS replaced by the provider's (sites of the VPN sharing one AS)" },
            allowasIn: { type: 'integer', minimum: 0, maximum: 10, description: 'default 0: ' + "occurrences of the provider's AS a route from the CE may carry before it counts as a loop; 0: none" },
            maxPrefix: {
              type: 'object',
              additionalProperties: false,
              required: ['limit'],
              description: 'routes accepted from the CE per address family',
              properties: {
                limit: { type: 'integer', minimum: 1, maximum: 4294967295 },
                warningPercent: { type: 'integer', minimum: 1, maximum: 100, description: 'a warning at this percentage of the limit; default 75' },
                action: { type: 'string', enum: ['limit', 'warning-only'], description: 'default limit. limit: past it the session is closed (RFC 4486 Cease); warning-only: logged and flagged' },
                restartInterval: { type: 'integer', minimum: 0, maximum: 65535, description: 'default 0. ' + 'seconds the session stays down after a teardown; 0: until reset' },
              },
            },
          },
        },
      },
    },
    siteOfOrigin: { type: 'string', format: 'route-target', description: 'route origin community (RFC 4360 §5) stamped on its routes' },
  },
  ['id', 'vpn'],
  // Typed members, so that generated clients see objects (openapi-typescript makes untyped ones `unknown`).
  { anyOf: [{ type: 'object', required: ['ipv4'] }, { type: 'object', required: ['ipv6'] }, { type: 'object', required: ['accesses'] }] },
);

const routesSchema: Schema = {
  $id: 'VrfRoutes',
  type: 'object',
  required: ['state', 'routes'],
  description: "the VRF's routes as the bgp service selected them; state 'unavailable' when it cannot be asked",
  properties: {
    state: { type: 'string', enum: ['available', 'unavailable'] },
    reason: { type: 'string' },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          prefix: { type: 'string' },
          nextHop: { type: 'string' },
          labels: { type: 'array', items: { type: 'integer' } },
          routeDistinguisher: { type: 'string' },
          routeTargets: { type: 'array', items: { type: 'string' } },
          origin: { type: 'string', enum: ['local', 'remote'] },
          best: { type: 'boolean' },
        },
      },
    },
  },
};

export const vrfSchema: Schema = {
  $id: 'Vrf',
  type: 'object',
  description: 'A VRF (RFC 9182 vpn-node): derived, one per VPN per PE with a site of it.',
  properties: {
    id: { type: 'string', description: 'VPN id and node id joined by ":"' },
    vpn: { type: 'string' },
    node: { type: 'string' },
    routeDistinguisher: { type: 'string' },
    importRouteTargets: { type: 'array', items: { type: 'string' } },
    exportRouteTargets: { type: 'array', items: { type: 'string' } },
    sites: { type: 'array', items: { type: 'string' } },
    routes: ref('VrfRoutes'),
    ...metaProperties,
  },
};

/**
 * A JSON merge patch (RFC 7396) of a resource: any top-level field, null
 * removes an optional one. The merged result is validated against the
 * resource's schema, so nested mistakes are reported where they land.
 * Without the resource's defaults: a field absent from a patch is unchanged.
 */
export function patchSchemaOf(schema: Schema, name: string): Schema {
  const required = new Set(schema.required as string[]);
  const properties: Record<string, Schema> = {};
  for (const [key, prop] of Object.entries(schema.properties as Record<string, Schema>)) {
    if (key === 'id') {
      properties[key] = prop;
      continue;
    }
    const { default: _unchanged, ...withoutDefault } = prop;
    const loose: Schema = prop.type === 'object' ? { type: 'object' } : prop.type === 'array' ? { type: 'array' } : withoutDefault;
    properties[key] = required.has(key) ? loose : { anyOf: [loose, { type: 'null' }] };
  }
  return { $id: name, type: 'object', additionalProperties: false, description: `JSON merge patch (RFC 7396) of a ${schema.$id}`, properties };
}

export const resourceSchemas = { node: nodeSchema, link: linkSchema, vpn: vpnSchema, site: siteSchema } as const;

export const sharedSchemas: Schema[] = [
  statusSchema,
  nodeSchema,
  linkSchema,
  vpnSchema,
  siteSchema,
  routesSchema,
  vrfSchema,
  patchSchemaOf(nodeSchema, 'NodePatch'),
  patchSchemaOf(linkSchema, 'LinkPatch'),
  patchSchemaOf(vpnSchema, 'VpnPatch'),
  patchSchemaOf(siteSchema, 'SitePatch'),
];
