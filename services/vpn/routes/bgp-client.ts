// The bgp service's gRPC client as the vpn service uses it: unary calls with
// a deadline (a job must fail and retry, never hang), ListVrfPaths read to
// the end, and the names of the speaker's VRFs.
//
// The bgp service is the one MP-BGP speaker of every managed PE, so it holds
// the VRFs of many PEs: the VRF of VPN `acme` on PE `pe1` is "acme@pe1"
// there. Node ids never contain '@' (intent validation), so the name splits
// back unambiguously at the last '@'.
import { status, type ServiceError } from '@grpc/grpc-js';
import { BgpServiceClient, Family, type ListVrfPathsResponse, type VrfPath } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import { callerOptions, type CallerCredentials } from '../../common/grpc/caller.js';
import { promiseClient, type PromiseClient } from '../../common/grpc/client.js';

export type BgpApi = PromiseClient<InstanceType<typeof BgpServiceClient>>;

const DEADLINE_MS = 15_000;

/** `caller`: how the vpn service identifies itself (its client certificate and/or its secret), on every call, the raw streams' included. */
export function bgpApi(address: string, caller: CallerCredentials): BgpApi {
  const client = promiseClient(new BgpServiceClient(address, caller.channel, callerOptions(caller, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 })));
  return new Proxy(client, {
    get(target, prop) {
      const method = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof method !== 'function' || prop === 'close') return method;
      return (request: unknown, options: { deadlineMs?: number } = {}) => (method as (r: unknown, o: object) => Promise<unknown>)(request, { deadlineMs: DEADLINE_MS, ...options });
    },
  });
}

export const isGrpcStatus = (err: unknown, code: status): boolean => (err as ServiceError | undefined)?.code === code;

export function bgpVrfName(vpn: string, node: string): string {
  return `${vpn}@${node}`;
}

/** The VPN and node of a speaker VRF named by bgpVrfName; undefined for any other VRF (e.g. one from the bgp config file). */
export function parseBgpVrfName(name: string): { vpn: string; node: string } | undefined {
  const at = name.lastIndexOf('@');
  if (at <= 0 || at === name.length - 1) return undefined;
  return { vpn: name.slice(0, at), node: name.slice(at + 1) };
}

/** A VRF's table (best paths, or every candidate), both address families; NOT_FOUND when the speaker has no such VRF. */
export function listVrfPaths(api: BgpApi, vrf: string, allPaths: boolean): Promise<VrfPath[]> {
  return new Promise((resolve, reject) => {
    const out: VrfPath[] = [];
    const stream = api.raw.listVrfPaths({ vrf, family: Family.FAMILY_UNSPECIFIED, prefix: '', allPaths }, { deadline: Date.now() + DEADLINE_MS });
    stream.on('data', (r: ListVrfPathsResponse) => out.push(...r.paths));
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
}

/** An IPv4-mapped IPv6 next hop (a VPN-IPv6 route from an IPv4 PE, RFC 4659 §3.2.1.1) as the PE's IPv4 address. */
export function unmappedNextHop(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}
