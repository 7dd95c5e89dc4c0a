// Checks rendered Kubernetes manifests the way an API server would, offline:
// each object against the Kubernetes OpenAPI schemas (kubernetes-models:
// types, required fields, formats) and for unknown fields (kubectl's
// --validate=strict), by type-checking the objects against the same
// package's API types, where a misspelt field is an excess property.
// Then the operational rules this project holds its manifests to.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../services/common/project-root.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

const describe = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

/** `kubectl kustomize DIR`, parsed. */
export function renderKustomization(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', join(projectRoot(), dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl is not installed: run .ci/install-deploy-tools (npm test does)');
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject).filter((o) => o);
}

/** kubernetes-models' module path of an apiVersion and kind: apps/v1 Deployment -> kubernetes-models/apps/v1/Deployment. */
function modelPath(o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

/** JSON Schema validation of every object (the OpenAPI schemas of Kubernetes 1.27). */
export async function schemaProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    let Model: new (data: object) => { validate(): void };
    try {
      const m = (await import(modelPath(o))) as Record<string, typeof Model>;
      Model = m[o.kind]!;
      if (!Model) throw new Error('no such kind');
    } catch {
      problems.push(`${describe(o)}: no Kubernetes schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors ?? [];
      for (const e of errors.length ? errors : [{ instancePath: '', message: (err as Error).message }]) {
        problems.push(`${describe(o)}: ${e.instancePath || '/'} ${e.message}`);
      }
    }
  }
  return problems;
}

/** Unknown or misplaced fields: every object type-checked against its API type, excess properties reported. */
export function unknownFieldProblems(objects: K8sObject[]): string[] {
  const root = projectRoot();
  const file = join(root, 'test/deploy/__rendered_manifests__.ts');
  const lines: string[] = [];
  objects.forEach((o, i) => lines.push(`import type { I${o.kind} as T${i} } from '${modelPath(o)}';`));
  const firstObjectLine = lines.length;
  objects.forEach((o, i) => lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)};`));
  const source = lines.join('\n');

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);

  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== file || d.start === undefined) return message;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const o = line < firstObjectLine ? objects[line] : objects[line - firstObjectLine];
    return o ? `${describe(o)}: ${message}` : message;
  });
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Port a probe's action names (a number, or a container port's name), and whether it exists. */
function probePortProblem(container: any, probeName: string, hostNetwork: boolean): string | undefined {
  const probe = container[probeName];
  const action = probe.httpGet ?? probe.tcpSocket ?? probe.grpc;
  if (!action) return probe.exec ? undefined : `${probeName} has no action`;
  const port = action.port;
  const ports: any[] = container.ports ?? [];
  if (typeof port === 'string') return ports.some((p) => p.name === port) ? undefined : `${probeName} names port '${port}', which the container does not declare`;
  if (hostNetwork || ports.some((p) => p.containerPort === port)) return undefined;
  return `${probeName} uses port ${port}, which the container does not declare`;
}

/**
 * The project's rules for its manifests: every long-running container has
 * readiness and liveness probes on ports it declares, resource requests and
 * a memory limit, and no privilege escalation; every replicated Deployment
 * has a PodDisruptionBudget; every Service selects some pods and names
 * ports they declare.
 */
export function policyProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const workloads = objects.filter((o) => workloadKinds.has(o.kind));
  for (const w of workloads) {
    const pod = w.spec?.template?.spec ?? {};
    for (const c of pod.containers ?? []) {
      const where = `${describe(w)} container ${c.name}`;
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        if (!c[probe]) problems.push(`${where}: no ${probe}`);
        else {
          const p = probePortProblem(c, probe, Boolean(pod.hostNetwork));
          if (p) problems.push(`${where}: ${p}`);
        }
      }
      if (c.startupProbe) {
        const p = probePortProblem(c, 'startupProbe', Boolean(pod.hostNetwork));
        if (p) problems.push(`${where}: ${p}`);
      }
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) problems.push(`${where}: no cpu and memory requests`);
      if (!c.resources?.limits?.memory) problems.push(`${where}: no memory limit`);
      if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    }
    if (w.kind === 'Deployment' && (w.spec.replicas ?? 1) > 1) {
      const labels = w.spec.template.metadata?.labels;
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec?.selector?.matchLabels, labels));
      if (!pdb) problems.push(`${describe(w)}: ${w.spec.replicas} replicas but no PodDisruptionBudget`);
    }
  }
  for (const s of objects.filter((o) => o.kind === 'Service')) {
    const targets = workloads.filter((w) => matches(s.spec?.selector, w.spec?.template?.metadata?.labels));
    if (targets.length === 0) {
      problems.push(`${describe(s)}: its selector matches no pods`);
      continue;
    }
    for (const port of s.spec.ports ?? []) {
      if (typeof port.targetPort !== 'string') continue;
      const declared = targets.some((w) => w.spec.template.spec.containers.some((c: any) => (c.ports ?? []).some((p: any) => p.name === port.targetPort)));
      if (!declared) problems.push(`${describe(s)}: targetPort '${port.targetPort}' is no port of its pods`);
    }
  }
  return problems;
}

/** Every check together. */
export async function manifestProblems(objects: K8sObject[]): Promise<string[]> {
  return [...(await schemaProblems(objects)), ...unknownFieldProblems(objects), ...policyProblems(objects)];
}
