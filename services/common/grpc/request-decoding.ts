// Requests that do not decode are the caller's error. grpc-js answers a
// deserializer that throws with INTERNAL ("Error deserializing request");
// here the deserializer never throws: it hands the handler an Undecodable,
// which the server plumbing answers with INVALID_ARGUMENT. Strings must be
// UTF-8 (proto3 requires it of string fields); the generated decoders would
// otherwise store U+FFFD for bytes that are not.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { invalidArgument, type ApiError } from './errors.js';

export class Undecodable {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {}

  error(): ApiError {
    return invalidArgument('request', `is not a ${this.method} request message (${this.reason.slice(0, 100)})`);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The definition with deserializers that decode strictly and return an Undecodable instead of throwing. */
export function withTolerantDecoding(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [key, method] of Object.entries(definition)) {
    const name = method.path.split('/').pop() ?? key;
    out[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          // The generated decode(input) takes a reader as well as bytes: this one refuses strings that are not UTF-8.
          return method.requestDeserialize(new BinaryReader(bytes, (b) => strictUtf8.decode(b)) as unknown as Buffer);
        } catch (err) {
          return new Undecodable(name, err instanceof TypeError && /encoded data/.test(err.message) ? 'a string is not UTF-8' : (err as Error).message);
        }
      },
    };
  }
  return out;
}
