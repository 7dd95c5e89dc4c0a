// The gRPC fuzzer: for every method of a service, request messages generated
// from its proto descriptor (well shaped, then mutated on the wire, then
// random bytes), sent as raw bytes over one channel. Every answer must be a
// status a client can act on (never INTERNAL, UNKNOWN, or a deadline for a
// call that should have been answered), must not echo more than 130
// characters of the input, and the service must still answer its health
// check on the same channel after each method's run.
import { Client, Metadata, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../../../services/common/gen/proto/grpc/health/v1/health.js';
import type { GrpcCredentials } from './grpc-credentials.js';
import { assertBounded, type FuzzPlan } from './plan.js';
import { messageValue, stringsIn, type ProtoContext } from './proto-arbitrary.js';
import { protoSchema, type MethodDescriptor } from './proto-schema.js';
import { wireMutation } from './proto-wire.js';

/** Statuses that are answers: the caller did something wrong, or the state says no. */
const ANSWERS = new Set([
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
]);

/** More than this many characters of a request's string in an error is an echo (issue 13: never echoed whole). */
export const MAX_ECHO = 130;

export interface GrpcFuzzTarget {
  /** Full service name: "l3vpn.v1.LabelsService". */
  service: string;
  address: string;
  /** The ts-proto generated definition (LabelsServiceService...): its serializers are the contract. */
  definition: ServiceDefinition;
  credentials: GrpcCredentials;
  /** Known values by proto field name, so requests find what exists. */
  hints: Record<string, readonly string[]>;
  /** Adjusts a generated request before it is sent (e.g. keeps a BGP peer from dialling out). */
  shape?: (method: string, request: Record<string, unknown>) => Record<string, unknown>;
  /** Methods whose requests go only well shaped (their shaping must not be undone on the wire). */
  shapedOnly?: string[];
}

interface FuzzCase {
  bytes: Buffer;
  /** The message the bytes were made from (undefined for random bytes). */
  message: unknown;
  how: 'shaped' | 'mutated' | 'random';
}

interface Outcome {
  code: status;
  details: string;
  response?: Buffer;
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

function show(c: FuzzCase): string {
  const message = JSON.stringify(c.message, (_k, v: unknown) => (typeof v === 'string' ? clip(v, 120) : v));
  return `${c.how} request ${clip(message ?? '(none)', 2000)}\nbytes (${c.bytes.length}): ${c.bytes.subarray(0, 200).toString('hex')}`;
}

/** A case as fast-check prints it when it fails: clipped, not 100,000 bytes. */
function fuzzCase(bytes: Buffer, message: unknown, how: FuzzCase['how']): FuzzCase {
  const c: FuzzCase = { bytes, message, how };
  return Object.assign(c, { [fc.toStringMethod]: () => show(c) });
}

/** Whether `details` carries more than MAX_ECHO consecutive characters of `input`. */
export function echoes(details: string, input: string): boolean {
  if (input.length <= MAX_ECHO || details.length <= MAX_ECHO) return false;
  for (let i = 0; i + MAX_ECHO < details.length + 1; i++) if (input.includes(details.slice(i, i + MAX_ECHO + 1))) return true;
  return false;
}

const raw = (b: Buffer) => b;

function unaryCall(client: Client, path: string, bytes: Buffer, metadata: Metadata, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, raw, raw, bytes, metadata, { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res?: Buffer) =>
      resolve(err ? { code: err.code, details: err.details ?? '' } : { code: status.OK, details: '', ...(res ? { response: res } : {}) }),
    );
  });
}

/** A server stream: its first message (then cancelled), its error, or its end; still open and quiet after quietMs is accepted. */
function streamCall(client: Client, path: string, bytes: Buffer, metadata: Metadata, quietMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, raw, raw, bytes, metadata, { deadline: Date.now() + 30_000 });
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      call.cancel();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ code: status.OK, details: '(open, quiet)' }), quietMs);
    call.on('data', (m: Buffer) => finish({ code: status.OK, details: '', response: m }));
    call.on('error', (err: ServiceError) => finish({ code: err.code, details: err.details ?? '' }));
    call.on('status', (s: { code: status; details: string }) => finish({ code: s.code, details: s.details }));
  });
}

function casesFor(target: GrpcFuzzTarget, method: MethodDescriptor, serialize: (v: unknown) => Buffer, ctx: ProtoContext): fc.Arbitrary<FuzzCase> {
  const descriptor = ctx.schema.messages.get(method.inputType)!;
  const messages = messageValue(method.inputType, ctx).map((m) => (target.shape ? target.shape(method.name, m as Record<string, unknown>) : m));
  const shaped = messages.map((message) => fuzzCase(serialize(message), message, 'shaped'));
  if (target.shapedOnly?.includes(method.name)) return shaped;
  const mutated = fc
    .tuple(messages, fc.nat())
    .chain(([message]) => wireMutation(fc.constant(serialize(message)), descriptor).map((bytes) => fuzzCase(bytes, message, 'mutated')));
  const random = fc.uint8Array({ maxLength: 96 }).map((b) => fuzzCase(Buffer.from(b), undefined, 'random'));
  return fc.oneof({ arbitrary: shaped, weight: 6 }, { arbitrary: mutated, weight: 3 }, { arbitrary: random, weight: 1 });
}

/** What is wrong with an outcome, or undefined. */
function breach(outcome: Outcome, c: FuzzCase, deserialize: (b: Buffer) => unknown, expect?: status): string | undefined {
  if (expect !== undefined && outcome.code !== expect) return `${status[outcome.code]} (expected ${status[expect]}): ${clip(outcome.details)}`;
  if (!ANSWERS.has(outcome.code)) return `${status[outcome.code] ?? outcome.code}: ${clip(outcome.details)}`;
  const echoed = stringsIn(c.message).find((s) => echoes(outcome.details, s));
  if (echoed !== undefined) return `${status[outcome.code]} echoes more than ${MAX_ECHO} characters of a ${echoed.length}-character input: ${clip(outcome.details)}`;
  if (outcome.response) {
    try {
      deserialize(outcome.response);
    } catch (err) {
      return `OK with a response that does not decode: ${(err as Error).message}`;
    }
  }
  return undefined;
}

async function healthy(client: Client, service: string, md: Metadata): Promise<string | undefined> {
  const o = await unaryCall(client, '/grpc.health.v1.Health/Check', Buffer.from(HealthCheckRequest.encode({ service }).finish()), md, 3000);
  if (o.code !== status.OK) return `health check: ${status[o.code]} ${o.details}`;
  const s = HealthCheckResponse.decode(o.response ?? Buffer.alloc(0)).status;
  return s === HealthCheckResponse_ServingStatus.SERVING ? undefined : `health check: ${HealthCheckResponse_ServingStatus[s]}`;
}

type Definition = Record<string, { path: string; responseStream: boolean; requestSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown }>;

export interface GrpcFuzzOptions {
  /** Only these methods (by proto name); all when absent. */
  methods?: string[];
  /** Every call must answer this status (the unauthenticated pass). */
  expect?: status;
  /** Well-shaped requests only. */
  shapedOnly?: boolean;
}

/** Fuzzes every method of the target; resolves with calls made per status, fails on the first breach (seed and request shown). */
export async function fuzzGrpcService(target: GrpcFuzzTarget, plan: FuzzPlan, options: GrpcFuzzOptions = {}): Promise<Map<string, number>> {
  const schema = protoSchema();
  const methods = (schema.services.get(target.service) ?? []).filter((m) => !options.methods || options.methods.includes(m.name));
  if (!methods.length) throw new Error(`no methods for ${target.service}`);
  const definition = target.definition as unknown as Definition;
  const byPath = new Map(Object.values(definition).map((d) => [d.path, d]));
  const ctx: ProtoContext = { schema, hints: target.hints };
  const client = new Client(target.address, target.credentials.channel, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const seen = new Map<string, number>();
  try {
    for (const [i, method] of methods.entries()) {
      const path = `/${target.service}/${method.name}`;
      const d = byPath.get(path);
      if (!d) throw new Error(`${path} is in the proto but not in the generated definition`);
      const serialize = (v: unknown) => Buffer.from(d.requestSerialize(v));
      const shapedOnly = options.shapedOnly ? { ...target, shapedOnly: methods.map((m) => m.name) } : target;
      await assertBounded(
        casesFor(shapedOnly, method, serialize, ctx),
        async (c) => {
          const md = target.credentials.metadata();
          const started = Date.now();
          const outcome = d.responseStream ? await streamCall(client, path, c.bytes, md, 150) : await unaryCall(client, path, c.bytes, md, 10_000);
          // FUZZ_DEBUG=1: every call with its status and time (finding the one that hangs).
          if (process.env.FUZZ_DEBUG) console.log(`${method.name} ${status[outcome.code]} ${Date.now() - started} ms ${show(c).slice(0, 300)}`);
          const key = `${method.name} ${status[outcome.code]}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          const wrong = breach(outcome, c, d.responseDeserialize, options.expect);
          if (wrong) assert(false, `${target.service}/${method.name}: ${wrong}\nseed ${plan.seed} (FUZZ_SEED=${plan.seed} to replay)\n${show(c)}`);
        },
        plan.parameters(methods.length - i),
      );
      const sick = await healthy(client, target.service, target.credentials.metadata());
      if (sick) throw new Error(`${target.service} stopped answering after fuzzing ${method.name} (seed ${plan.seed}): ${sick}`);
    }
  } finally {
    client.close();
  }
  return seen;
}

function assert(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

/** "Method CODE×n ..." lines, for the test log. */
export function summary(seen: Map<string, number>): string {
  const byMethod = new Map<string, string[]>();
  for (const [key, n] of seen) {
    const [m, code] = key.split(' ');
    byMethod.set(m!, [...(byMethod.get(m!) ?? []), `${code}×${n}`]);
  }
  return [...byMethod].map(([m, codes]) => `  ${m} ${codes.join(' ')}`).join('\n');
}
