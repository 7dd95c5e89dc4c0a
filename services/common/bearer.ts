// The credential of an `Authorization: Bearer <token>` header or gRPC
// metadata entry. The scheme name is case-insensitive (RFC 9110 §11.1).
import type { Metadata } from '@grpc/grpc-js';

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

/** The bearer token of a gRPC call's `authorization` metadata. */
export function bearerOf(md: Metadata): string | undefined {
  const v = md.get('authorization')[0];
  return bearerToken(typeof v === 'string' ? v : v?.toString());
}
