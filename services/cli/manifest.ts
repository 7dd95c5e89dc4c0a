// Resources from files (YAML or JSON, `-` for stdin). A file holds one
// resource, several YAML documents, a list, or `{items: [...]}` as `get -o
// json|yaml` prints it. A resource names its kind with a `kind:` field
// (removed before sending) unless the command line names it.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { UsageError } from './errors.js';
import { KINDS, kindOf, type Kind, type Resource } from './kinds.js';

export interface Manifest {
  kind: Kind;
  id: string;
  body: Resource;
  /** file and document, for messages */
  source: string;
}

/** Nodes before the links, VPNs and sites that refer to them; deletes go the other way. */
const ORDER = Object.keys(KINDS);

function readSource(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`);
  }
}

function resourcesOf(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === 'object' && Array.isArray((doc as { items?: unknown }).items) && !('id' in doc)) return (doc as { items: unknown[] }).items;
  return doc === null || doc === undefined ? [] : [doc];
}

export function readManifests(files: string[], kindOnCommandLine?: Kind): Manifest[] {
  const out: Manifest[] = [];
  for (const file of files) {
    const name = file === '-' ? 'stdin' : file;
    const docs = parseAllDocuments(readSource(file));
    if (!Array.isArray(docs)) throw new UsageError(`${name}: not YAML or JSON`);
    docs.forEach((doc, d) => {
      if (doc.errors.length) throw new UsageError(`${name}: ${doc.errors[0]!.message}`);
      resourcesOf(doc.toJS()).forEach((value, i) => {
        const source = `${name} (document ${d + 1}${i ? `, item ${i + 1}` : ''})`;
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${source}: expected a resource (a mapping)`);
        const { kind: kindField, ...body } = value as Resource;
        let kind = kindOnCommandLine;
        if (kindField !== undefined) {
          const named = kindOf(String(kindField), 'kind');
          if (kind && named !== kind) throw new UsageError(`${source}: kind '${String(kindField)}' but the command names ${kind.path}`);
          kind = named;
        }
        if (!kind) throw new UsageError(`${source}: no kind; add e.g. 'kind: site', or name it on the command line (create site -f FILE)`);
        if (!kind.writable) throw new UsageError(`${source}: ${kind.path} are derived from sites and cannot be written`);
        if (typeof body.id !== 'string' || !body.id) throw new UsageError(`${source}: the ${kind.name} has no id`);
        out.push({ kind, id: body.id, body, source });
      });
    });
  }
  if (out.length === 0) throw new UsageError(`no resources in ${files.join(', ')}`);
  return out;
}

/** Stable: in file order within a kind. */
export function inDependencyOrder(manifests: Manifest[], reverse = false): Manifest[] {
  const rank = (m: Manifest) => ORDER.indexOf(m.kind.name) * (reverse ? -1 : 1);
  return [...manifests].sort((a, b) => rank(a) - rank(b));
}
