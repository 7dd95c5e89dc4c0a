// Checks a response against the OpenAPI document that promised it: the
// status is declared for the operation, the media type is one of the
// declared ones, the body is valid against the declared schema, and every
// header the server sent beyond the framing ones is declared and valid.
// Schemas are compiled by Ajv straight from the document (its
// components included), with the formats the document names.
import { Ajv, type ValidateFunction } from 'ajv';
import { formats } from '../../services/vpn/intent/schemas.js';

/** Headers of HTTP's framing and of every response, not part of an API's contract (RFC 9110 §6, §7.6.1). */
const FRAMING = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

interface HeaderObject {
  schema?: { type?: string };
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  [key: string]: unknown;
}

export interface Exchange {
  method: string;
  /** The document's path template ("/v1/nodes/{id}"), as the generated client names it. */
  path: string;
  status: number;
  headers: Headers;
  body: string;
}

const pointer = (...tokens: string[]) => tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const isUriReference = (s: string) => {
  try {
    new URL(s, 'http://base.invalid/');
    return !/\s/.test(s);
  } catch {
    return false;
  }
};

export class ResponseConformance {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDocument) {
    this.ajv = new Ajv({ strict: false, allErrors: true, formats: { ...formats, 'uri-reference': isUriReference } });
    this.ajv.addSchema(doc as object, 'openapi.json');
  }

  private validator(jsonPointer: string): ValidateFunction {
    let v = this.compiled.get(jsonPointer);
    if (!v) {
      v = this.ajv.getSchema(`openapi.json#${jsonPointer}`);
      if (!v) throw new Error(`no schema at ${jsonPointer} of the document`);
      this.compiled.set(jsonPointer, v);
    }
    return v;
  }

  private invalid(jsonPointer: string, value: unknown, what: string): string | undefined {
    const v = this.validator(jsonPointer);
    return v(value) ? undefined : this.ajv.errorsText(v.errors, { dataVar: what });
  }

  /** What in the exchange the document does not declare; empty when it conforms. */
  check(x: Exchange): string[] {
    const where = `${x.method} ${x.path} ${x.status}`;
    const method = x.method.toLowerCase();
    const op = this.doc.paths[x.path]?.[method];
    if (!op) return [`${where}: the document has no such operation`];
    const code = [String(x.status), `${String(x.status)[0]}XX`, 'default'].find((c) => op.responses[c]);
    if (!code) return [`${where}: status not declared for ${op.operationId} (declared: ${Object.keys(op.responses).join(', ')})`];
    const declared = op.responses[code]!;
    const problems: string[] = [];

    const mediaType = x.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (!x.body) {
      if (declared.content) problems.push(`${where}: no body, but the document declares ${Object.keys(declared.content).join(', ')}`);
    } else if (!declared.content) {
      problems.push(`${where}: a body (${mediaType}) where the document declares none`);
    } else if (!mediaType || !(mediaType in declared.content)) {
      problems.push(`${where}: content type ${mediaType} is not declared (${Object.keys(declared.content).join(', ')})`);
    } else {
      let body: unknown;
      try {
        body = JSON.parse(x.body);
      } catch {
        problems.push(`${where}: the ${mediaType} body is not JSON`);
      }
      const error = body === undefined ? undefined : this.invalid(pointer('paths', x.path, method, 'responses', code, 'content', mediaType, 'schema'), body, 'body');
      if (error) problems.push(`${where}: body does not match the schema: ${error}`);
    }

    const headers = new Map(Object.entries(declared.headers ?? {}).map(([name, h]) => [name.toLowerCase(), [name, h] as const]));
    x.headers.forEach((value, name) => {
      if (FRAMING.has(name)) return;
      const found = headers.get(name);
      if (!found) return void problems.push(`${where}: header ${name} is sent but not declared`);
      const [declaredName, h] = found;
      const typed = h.schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const error = this.invalid(pointer('paths', x.path, method, 'responses', code, 'headers', declaredName, 'schema'), typed, declaredName);
      if (error) problems.push(`${where}: header ${declaredName}: ${value} does not match its schema: ${error}`);
    });
    return problems;
  }
}
