// How the gRPC fuzzers authenticate to each service, one function per
// service: what the calls carry, channel credentials and call metadata.
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

/** AgentService: the node's enrolled credential. */
export const agentServiceCredentials = (credential: string): GrpcCredentials => bearer(credential);

/** LabelsService: a caller's per-service secret (test/support/service-auth.ts), service:vpn's to reach every handler. */
export const labelsServiceCredentials = (secret: string): GrpcCredentials => bearer(secret);

/** BgpService: likewise. */
export const bgpServiceCredentials = (secret: string): GrpcCredentials => bearer(secret);

/** What an outsider has: nothing, or a made-up bearer. */
export const noCredentials = (): GrpcCredentials => bearer(undefined);
export const bogusCredentials = (): GrpcCredentials => bearer('not-a-credential');
