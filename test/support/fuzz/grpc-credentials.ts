// How the gRPC fuzzers authenticate to each service: one function per
// service, so that when a service starts to require credentials (a
// per-service secret as `authorization: Bearer <secret>`, or a client
// certificate) only its function here changes. Each returns what the calls
// carry: channel credentials and the call metadata.
import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { insecure } from '../../../services/common/grpc/client.js';

export interface GrpcCredentials {
  channel: ChannelCredentials;
  metadata(): Metadata;
}

function bearer(secret: string | undefined): GrpcCredentials {
  return {
    channel: insecure(),
    metadata() {
      const md = new Metadata();
      if (secret) md.set('authorization', `Bearer ${secret}`);
      return md;
    },
  };
}

/** VpnService: an API token (admin scope, so every method's handler is reached). */
export const vpnServiceCredentials = (token: string): GrpcCredentials => bearer(token);

/** AgentService: the node's agent identity. */
export const agentServiceCredentials = (agentIdentity: string): GrpcCredentials => bearer(agentIdentity);

/** LabelsService: none needed yet; the service's secret (or certificate) once it asks for one. */
export const labelsServiceCredentials = (secret?: string): GrpcCredentials => bearer(secret);

/** BgpService: none needed yet; the service's secret (or certificate) once it asks for one. */
export const bgpServiceCredentials = (secret?: string): GrpcCredentials => bearer(secret);

/** What an outsider has: nothing, or a made-up bearer. */
export const noCredentials = (): GrpcCredentials => bearer(undefined);
export const bogusCredentials = (): GrpcCredentials => bearer('not-a-credential');
