// The gRPC contract as data: the descriptor set of proto/ (buf builds it from
// the same files the ts-proto types are generated from), so the fuzzers know
// every request message's fields, their types, enums and oneofs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../services/common/project-root.js';

export interface FieldDescriptor {
  name: string;
  number: number;
  label?: string;
  type: string;
  typeName?: string;
  jsonName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}

export interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: { name: string }[];
}

export interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}

export interface MethodDescriptor {
  name: string;
  inputType: string;
  outputType: string;
  serverStreaming?: boolean;
  clientStreaming?: boolean;
}

interface FileDescriptor {
  package?: string;
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  service?: { name: string; method: MethodDescriptor[] }[];
}

export interface ProtoSchema {
  /** By full name with a leading dot, as type_name fields say: ".l3vpn.v1.Node". */
  messages: Map<string, MessageDescriptor>;
  enums: Map<string, EnumDescriptor>;
  /** By full name without the dot: "l3vpn.v1.LabelsService". */
  services: Map<string, MethodDescriptor[]>;
}

let loaded: ProtoSchema | undefined;

export function protoSchema(): ProtoSchema {
  if (loaded) return loaded;
  const root = projectRoot();
  const r = spawnSync(join(root, 'node_modules', '.bin', 'buf'), ['build', '-o', '-#format=json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`buf build failed: ${r.stderr}`);
  const set = JSON.parse(r.stdout) as { file: FileDescriptor[] };
  const schema: ProtoSchema = { messages: new Map(), enums: new Map(), services: new Map() };
  const addMessages = (scope: string, messages: MessageDescriptor[] = []) => {
    for (const m of messages) {
      const name = `${scope}.${m.name}`;
      schema.messages.set(name, m);
      for (const e of m.enumType ?? []) schema.enums.set(`${name}.${e.name}`, e);
      addMessages(name, m.nestedType);
    }
  };
  for (const f of set.file) {
    const scope = f.package ? `.${f.package}` : '';
    addMessages(scope, f.messageType);
    for (const e of f.enumType ?? []) schema.enums.set(`${scope}.${e.name}`, e);
    for (const s of f.service ?? []) schema.services.set(`${scope.slice(1)}.${s.name}`, s.method);
  }
  loaded = schema;
  return schema;
}
