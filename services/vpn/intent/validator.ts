// The compiled schemas. Requests are validated by these same functions
// whether they arrive over REST (fastify's validator compiler) or gRPC.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { invalid, type FieldProblem } from './errors.js';
import { formatProblems, formats, resourceSchemas, RETIRED_FIELDS, sharedSchemas } from './schemas.js';
import type { ResourceKind } from './types.js';

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  // verbose: format errors carry the value, so the detail can say what is wrong with it.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes, removeAdditional: false, formats, strictTypes: false, verbose: true });
  for (const s of sharedSchemas) ajv.addSchema(s);
  return ajv;
}

/** For bodies: no type coercion, every error reported. */
export const bodyAjv = makeAjv(false);
/** For query strings, path parameters and headers, where everything arrives as text. */
export const textAjv = makeAjv('array');

const pointerOf = (e: ErrorObject): string => {
  if (e.keyword === 'required') return `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  return e.instancePath;
};

const detailOf = (e: ErrorObject): string => {
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') {
    const retired = RETIRED_FIELDS[String((e.parentSchema as { $id?: unknown } | undefined)?.$id)];
    return retired?.[(e.params as { additionalProperty: string }).additionalProperty] ?? 'is not a known field';
  }
  if (e.keyword === 'format') {
    const format = (e.params as { format: string }).format;
    const problem = typeof e.data === 'string' ? formatProblems[format]?.(e.data) : undefined;
    return `must be a valid ${format}${problem ? `: ${problem}` : ''}`;
  }
  return e.message ?? 'is invalid';
};

/** Ajv errors as one problem per bad field, with anyOf branches folded into one line. */
export function fieldProblems(errors: readonly ErrorObject[]): FieldProblem[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  const inBranch = (e: ErrorObject) => anyOfs.some((a) => a !== e && e.schemaPath.startsWith(a.schemaPath.replace(/anyOf$/, 'anyOf/')));
  const out: FieldProblem[] = [];
  for (const e of errors) {
    if (inBranch(e)) continue;
    if (e.keyword === 'anyOf') {
      const branches = errors.filter((b) => b !== e && b.schemaPath.startsWith(e.schemaPath.replace(/anyOf$/, 'anyOf/')));
      if (branches.length && branches.every((b) => b.keyword === 'required')) {
        const names = branches.map((b) => (b.params as { missingProperty: string }).missingProperty);
        out.push({ pointer: e.instancePath, detail: `must have one of: ${names.join(', ')}` });
      } else {
        const meaningful = branches.filter((b) => !(b.keyword === 'type' && (b.params as { type: string }).type === 'null'));
        out.push({ pointer: e.instancePath, detail: meaningful.length ? meaningful.map(detailOf).join(' or ') : 'is invalid' });
      }
      continue;
    }
    out.push({ pointer: pointerOf(e), detail: detailOf(e) });
  }
  return out;
}

const compiled = new Map<string, ValidateFunction>();

function validator(schemaId: string): ValidateFunction {
  let fn = compiled.get(schemaId);
  if (!fn) {
    fn = bodyAjv.getSchema(`${schemaId}#`) ?? bodyAjv.getSchema(schemaId);
    if (!fn) throw new Error(`no schema ${schemaId}`);
    compiled.set(schemaId, fn);
  }
  return fn;
}

const schemaIdOf: Record<ResourceKind, string> = {
  node: String(resourceSchemas.node.$id),
  link: String(resourceSchemas.link.$id),
  vpn: String(resourceSchemas.vpn.$id),
  site: String(resourceSchemas.site.$id),
};

/** Validates (and fills the defaults of) a resource body; throws an 'invalid' IntentError naming each bad field. */
/**
 * The first place in a JSON value the intent cannot take: a string or
 * member name holding U+0000 (PostgreSQL text cannot store it), or, with
 * `maxDepth`, nesting deeper than that (merge patches recurse). Iterative,
 * so a hostile value cannot exhaust the stack here.
 */
export function unusableJson(value: unknown, maxDepth = Infinity): FieldProblem | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { pointer: path, detail: 'contains U+0000 (NUL)' };
    } else if (v && typeof v === 'object') {
      if (depth >= maxDepth) return { pointer: path, detail: `nested deeper than ${maxDepth} levels` };
      for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
        const at = `${path}/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (typeof k === 'string' && k.includes('\u0000')) return { pointer: at, detail: 'a member name contains U+0000 (NUL)' };
        stack.push({ v: child, path: at, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

export function validateResource(kind: ResourceKind, value: unknown): void {
  const unusable = unusableJson(value);
  if (unusable) throw invalid([unusable]);
  const fn = validator(schemaIdOf[kind]);
  if (!fn(value)) throw invalid(fieldProblems(fn.errors ?? []));
}
