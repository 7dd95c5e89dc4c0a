// gRPC edge of the vpn service (VpnService): authenticates the call, maps
// its messages to the API representations and calls the same domain layer
// as REST; IntentErrors become status codes.
import { status, type handleUnaryCall, type ServerUnaryCall } from '@grpc/grpc-js';
import { bearerOf } from '../common/bearer.js';
import { Link, Node, Site, Vpn, VpnServiceService, type VpnServiceServer } from '../common/gen/proto/l3vpn/v1/vpn.js';
import { ApiError, isDependencyDown, toServiceError } from '../common/grpc/errors.js';
import type { GrpcService } from '../common/grpc/server.js';
import type { Logger } from '../common/logger.js';
import { quoteId } from '../common/quote.js';
import { JOIN_TOKEN_TTL, type AgentCredentials } from './auth/agent-credentials.js';
import { allows, type Scope, type TokenInfo, type TokenStore } from './auth/tokens.js';
import { IntentError, type IntentErrorKind } from './intent/errors.js';
import type { IntentService, Precondition, WriteOptions } from './intent/intent-service.js';
import type { ResourceKind } from './intent/types.js';
import * as map from './grpc-mapping.js';

const CODES: Record<IntentErrorKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  semantic: status.INVALID_ARGUMENT,
  conflict: status.FAILED_PRECONDITION,
  exists: status.ALREADY_EXISTS,
  'not-found': status.NOT_FOUND,
  'precondition-failed': status.ABORTED,
  'precondition-required': status.FAILED_PRECONDITION,
  unauthenticated: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
};

function toApiError(err: unknown): unknown {
  if (isDependencyDown(err)) return new ApiError(status.UNAVAILABLE, 'a service this call needs (labels or bgp) does not answer; nothing was written');
  if (!(err instanceof IntentError)) return err;
  const message = err.fields.length ? err.fields.map((f) => `${map.protoPath(f.pointer) || '(request)'}: ${f.detail}`).join('; ') : err.message;
  return new ApiError(CODES[err.kind], message);
}

const writeOptions = (dryRun: boolean, expectedVersion = 0): WriteOptions => {
  const precondition: Precondition | undefined = expectedVersion ? { versions: [expectedVersion] } : undefined;
  return { dryRun, ...(precondition ? { precondition } : {}) };
};

/**
 * update_mask as a JSON merge patch of the named top-level fields (absent in
 * the message -> removed). A path naming no field of the resource is refused:
 * ignoring it would report a change that was never made.
 */
function maskPatch(spec: object, paths: string[], fields: ReadonlySet<string>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [i, p] of paths.entries()) {
    const top = map.jsonName(p).split('.')[0]!;
    if (!fields.has(top)) {
      const detail = `'${quoteId(p)}' is not a field of the resource`;
      throw new IntentError('invalid', detail, [{ pointer: `/updateMask/${i}`, detail }]);
    }
    patch[top] = (spec as Record<string, unknown>)[top] ?? null;
  }
  return patch;
}

export function vpnGrpcService(deps: { intents: IntentService; tokens: TokenStore; agentCredentials: AgentCredentials; log: Logger }): GrpcService {
  const { intents, tokens, agentCredentials, log } = deps;

  function handler<Req, Res>(method: string, scope: Scope, fn: (req: Req, who: TokenInfo) => Promise<Res>): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback) => {
      (async () => {
        const who = await tokens.verify(bearerOf(call.metadata));
        if (!allows(who.scope, scope)) throw new IntentError('forbidden', `${method} needs scope '${scope}'; '${who.name}' has '${who.scope}'`);
        return fn(call.request, who);
      })().then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toApiError(err);
          if (isDependencyDown(err)) log.warn({ method, err: (err as Error).message }, 'call failed: a service it needs does not answer');
          else if (e instanceof ApiError) log.debug({ method, code: status[e.code], err: e.message }, 'call refused');
          else log.error({ method, err }, 'call failed');
          callback(toServiceError(e));
        },
      );
    };
  }

  /** The five calls of one resource kind. */
  function crud<K extends ResourceKind, Pb>(kind: K, fromPbOf: (m: Pb) => never, toPb: (v: never) => Pb, key: string, message: { fromPartial(o: object): Pb }) {
    const out = (v: unknown) => (v ? toPb(v as never) : undefined);
    // The resource's fields, as the generated type has them (an empty message carries every key).
    const fields = new Set(Object.keys(message.fromPartial({}) as object));
    const fromPb = (m: Pb | undefined) => {
      if (m === undefined) throw new IntentError('invalid', `${key} is required`, [{ pointer: '', detail: `${key} is required` }]);
      return fromPbOf(m);
    };
    return {
      create: async (req: Record<string, unknown>) => {
        const r = await intents.create(kind, fromPb(req[key] as Pb | undefined), writeOptions(Boolean(req.dryRun)));
        return { [key]: out(r.resource), plan: map.planOf(r) };
      },
      get: async (req: { id: string }) => ({ [key]: toPb((await intents.get(kind, req.id)) as never) }),
      update: async (req: Record<string, unknown>) => {
        const spec = fromPb(req[key] as Pb | undefined) as unknown as { id?: string };
        if (!spec.id) throw new IntentError('invalid', `${key}.id is required`, [{ pointer: '/id', detail: 'is required: it names what to update' }]);
        // ts-proto maps google.protobuf.FieldMask to its list of paths.
        const mask = (req.updateMask as string[] | undefined) ?? [];
        const options = writeOptions(Boolean(req.dryRun), Number(req.expectedVersion ?? 0));
        const r = mask.length ? await intents.patch(kind, spec.id, maskPatch(spec, mask, fields), options) : await intents.replace(kind, spec.id, spec as never, options);
        return { [key]: out(r.resource), plan: map.planOf(r) };
      },
      remove: async (req: { id: string; expectedVersion: number; dryRun: boolean }) => ({
        plan: map.planOf(await intents.remove(kind, req.id, writeOptions(req.dryRun, req.expectedVersion))),
      }),
    };
  }

  const page = (req: { pageSize: number; pageToken: string }) => ({ limit: req.pageSize || 50, ...(req.pageToken ? { cursor: req.pageToken } : {}) });
  const filter = (req: Record<string, unknown>, names: string[]) => Object.fromEntries(names.filter((n) => req[n]).map((n) => [n, String(req[n])]));
  const nodes = crud('node', map.nodeFromPb as never, map.nodeToPb as never, 'node', Node);
  const links = crud('link', map.linkFromPb as never, map.linkToPb as never, 'link', Link);
  const vpns = crud('vpn', map.vpnFromPb as never, map.vpnToPb as never, 'vpn', Vpn);
  const sites = crud('site', map.siteFromPb as never, map.siteToPb as never, 'site', Site);

  const impl: VpnServiceServer = {
    createNode: handler('CreateNode', 'write', nodes.create as never),
    getNode: handler('GetNode', 'read', nodes.get as never),
    listNodes: handler('ListNodes', 'read', async (req) => {
      const p = await intents.list('node', filter(req as never, ['role', 'status']), page(req));
      return { nodes: p.items.map(map.nodeToPb), nextPageToken: p.next ?? '' };
    }),
    updateNode: handler('UpdateNode', 'write', nodes.update as never),
    deleteNode: handler('DeleteNode', 'write', nodes.remove),
    createLink: handler('CreateLink', 'write', links.create as never),
    getLink: handler('GetLink', 'read', links.get as never),
    listLinks: handler('ListLinks', 'read', async (req) => {
      const p = await intents.list('link', filter(req as never, ['node', 'status']), page(req));
      return { links: p.items.map(map.linkToPb), nextPageToken: p.next ?? '' };
    }),
    updateLink: handler('UpdateLink', 'write', links.update as never),
    deleteLink: handler('DeleteLink', 'write', links.remove),
    createVpn: handler('CreateVpn', 'write', vpns.create as never),
    getVpn: handler('GetVpn', 'read', vpns.get as never),
    listVpns: handler('ListVpns', 'read', async (req) => {
      const p = await intents.list('vpn', filter(req as never, ['customer', 'status']), page(req));
      return { vpns: p.items.map(map.vpnToPb), nextPageToken: p.next ?? '' };
    }),
    updateVpn: handler('UpdateVpn', 'write', vpns.update as never),
    deleteVpn: handler('DeleteVpn', 'write', vpns.remove),
    createSite: handler('CreateSite', 'write', sites.create as never),
    getSite: handler('GetSite', 'read', sites.get as never),
    listSites: handler('ListSites', 'read', async (req) => {
      const p = await intents.list('site', filter(req as never, ['vpn', 'node', 'status']), page(req));
      return { sites: p.items.map(map.siteToPb), nextPageToken: p.next ?? '' };
    }),
    updateSite: handler('UpdateSite', 'write', sites.update as never),
    deleteSite: handler('DeleteSite', 'write', sites.remove),
    revertSite: handler('RevertSite', 'write', async (req) => ({ site: map.siteToPb(await intents.revertSite(req.id)) })),
    getVrf: handler('GetVrf', 'read', async (req) => ({ vrf: map.vrfToPb(await intents.getVrf(req.id)) })),
    listVrfs: handler('ListVrfs', 'read', async (req) => {
      const p = await intents.listVrfs(filter(req as never, ['vpn', 'node', 'status']), page(req));
      return { vrfs: p.items.map(map.vrfToPb), nextPageToken: p.next ?? '' };
    }),
    listVrfRoutes: handler('ListVrfRoutes', 'read', async (req) => ({ routes: map.routesToPb(await intents.vrfRoutes(req.id)) })),
    createJoinToken: handler('CreateJoinToken', 'admin', async (req, who) => {
      const ttl = req.ttlSeconds || JOIN_TOKEN_TTL.default;
      if (ttl < JOIN_TOKEN_TTL.min || ttl > JOIN_TOKEN_TTL.max) {
        const detail = `must be ${JOIN_TOKEN_TTL.min} to ${JOIN_TOKEN_TTL.max} (0: ${JOIN_TOKEN_TTL.default})`;
        throw new IntentError('invalid', detail, [{ pointer: '/ttlSeconds', detail }]);
      }
      const t = await agentCredentials.createJoinToken(req.node, ttl, who.name);
      return { joinToken: t.token, id: t.id, expireTime: t.expiresAt };
    }),
    revokeAgentCredentials: handler('RevokeAgentCredentials', 'admin', async (req, who) => {
      const r = await agentCredentials.revokeNode(req.node, who.name);
      return { credentialsRevoked: r.credentials, joinTokensRevoked: r.joinTokens };
    }),
  };
  return { name: 'l3vpn.v1.VpnService', definition: VpnServiceService, implementation: impl as never };
}
