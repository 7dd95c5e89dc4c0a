// create, apply, delete and their dry runs (plan create|apply|delete).
// Resources of a file are written in dependency order (nodes, links, VPNs,
// sites; deletes the other way) and the first failure stops the rest.
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import type { ApiClient, ApiResponse } from '../client.js';
import { UsageError } from '../errors.js';
import { list, pathOf, type Invocation } from '../invocation.js';
import { kindOf, ref, writableKindOf, type Kind, type Resource } from '../kinds.js';
import { inDependencyOrder, readManifests } from '../manifest.js';
import { write } from '../output.js';
import { planView } from '../views.js';
import { SITE_OPTIONS, siteFromFlags } from './site-flags.js';

type Verb = 'create' | 'apply' | 'delete';
interface Target {
  kind: Kind;
  id: string;
  body?: Resource;
}
interface Outcome {
  res: ApiResponse;
  /** created, configured, unchanged, deleted */
  done: string;
}

async function createOne(client: ApiClient, t: Target, dryRun: boolean): Promise<Outcome> {
  const res = await client.call('POST', `/v1/${t.kind.path}`, { body: t.body, query: { dryRun: dryRun || undefined } });
  return { res, done: 'created' };
}

const META = ['version', 'status', 'createdAt', 'updatedAt'];
/** The intent of a resource: without server-owned fields, a site's accesses' statuses included. */
const intentOf = (r: unknown): Resource =>
  Object.fromEntries(
    Object.entries((r ?? {}) as Resource)
      .filter(([k]) => !META.includes(k))
      .map(([k, v]) => [k, k === 'accesses' && Array.isArray(v) ? v.map(intentOf) : v]),
  );

/**
 * Create, or replace under If-Match with the version just read (412 if it
 * moves on meanwhile). A replacement the server's dry run says would leave
 * the intent as it is is not sent: every write bumps the version.
 */
async function applyOne(client: ApiClient, t: Target, dryRun: boolean): Promise<Outcome> {
  const current = await client.request('GET', pathOf(t.kind.path, t.id));
  if (current.status === 404) return createOne(client, t, dryRun);
  if (current.status !== 200) throw client.failure(current);
  const etag = current.headers.etag;
  const put = (asDryRun: boolean) =>
    client.call('PUT', pathOf(t.kind.path, t.id), { body: t.body, query: { dryRun: asDryRun || undefined }, headers: etag ? { 'if-match': String(etag) } : {} });
  const preview = await put(true);
  const same = isDeepStrictEqual(intentOf((preview.body as { resource?: unknown }).resource), intentOf(current.body));
  if (dryRun) return { res: preview, done: same ? 'unchanged' : 'configured' };
  if (same) return { res: current, done: 'unchanged' };
  return { res: await put(false), done: 'configured' };
}

async function deleteOne(client: ApiClient, t: Target, dryRun: boolean): Promise<Outcome> {
  const res = await client.call('DELETE', pathOf(t.kind.path, t.id), { query: { dryRun: dryRun || undefined } });
  return { res, done: 'deleted' };
}

const RUN: Record<Verb, (client: ApiClient, t: Target, dryRun: boolean) => Promise<Outcome>> = { create: createOne, apply: applyOne, delete: deleteOne };

function targetsOf(verb: Verb, inv: Invocation, args: string[]): Target[] {
  const files = list(inv.options, 'file');
  const siteFlags = SITE_OPTIONS.filter((o) => inv.options[o] !== undefined);
  if (files.length) {
    if (verb === 'delete' ? args.length > 0 : args.length > 1) throw new UsageError(`${verb} -f FILE takes ${verb === 'delete' ? 'no KIND or ids' : 'at most a KIND'}`);
    if (siteFlags.length) throw new UsageError(`--${siteFlags[0]} does not go with -f`);
    const manifests = readManifests(files, args[0] ? kindOf(args[0]) : undefined);
    return inDependencyOrder(manifests, verb === 'delete');
  }
  if (verb === 'delete') {
    if (args.length < 2) throw new UsageError('usage: l3vpn delete KIND ID... | delete -f FILE');
    const kind = writableKindOf(args[0]);
    return args.slice(1).map((id) => ({ kind, id }));
  }
  if (verb === 'create' && args.length === 2 && kindOf(args[0]).name === 'site' && siteFlags.length) {
    return [{ kind: writableKindOf(args[0]), id: args[1]!, body: siteFromFlags(args[1]!, inv.options) }];
  }
  if (siteFlags.length) throw new UsageError(`--${siteFlags[0]} is for: create site ID --vpn V --node N ...`);
  throw new UsageError(`usage: l3vpn ${verb} [KIND] -f FILE${verb === 'create' ? ' | create site ID --vpn V --node N --interface IF --pe-address A/LEN --ce-address A' : ''}`);
}

async function run(verb: Verb, inv: Invocation, args: string[], dryRun: boolean): Promise<void> {
  const targets = targetsOf(verb, inv, args);
  for (const t of targets) {
    const { res, done } = await RUN[verb](inv.client, t, dryRun);
    // A delete answers 204 without a body: nothing to print as JSON or YAML.
    if (inv.format === 'json') {
      if (res.text) write(res.text);
    } else if (inv.format === 'yaml') {
      if (res.body !== undefined) write(`${targets.length > 1 ? '---\n' : ''}${stringify(res.body)}`);
    }
    else if (dryRun) write(planView(`${ref(t.kind, t.id)} would be ${done}`, res.body as Record<string, unknown>));
    else write(`${ref(t.kind, t.id)} ${done}`);
  }
  if (dryRun && (inv.format === 'table' || inv.format === 'wide')) write('(dry run: nothing was changed)');
}

export const create = (inv: Invocation) => run('create', inv, inv.args, false);
export const apply = (inv: Invocation) => run('apply', inv, inv.args, false);
export const remove = (inv: Invocation) => run('delete', inv, inv.args, false);

export async function plan(inv: Invocation): Promise<void> {
  const [verb, ...args] = inv.args;
  if (verb !== 'create' && verb !== 'apply' && verb !== 'delete') throw new UsageError('usage: l3vpn plan create|apply|delete ... (the same words as the command itself)');
  await run(verb, inv, args, true);
}
