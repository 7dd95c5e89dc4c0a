// deploy/kubernetes rendered with `kubectl kustomize` and checked against the
// Kubernetes API schemas and the project's operational rules; then the same
// checks shown to catch a misspelt field, a wrong type and a missing probe.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestProblems, renderKustomization, type K8sObject } from './kubernetes-check.js';

let base: K8sObject[];
let agent: K8sObject[];

before(() => {
  base = renderKustomization('deploy/kubernetes');
  agent = renderKustomization('deploy/kubernetes/agent');
});

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};
const container = (w: K8sObject) => w.spec.template.spec.containers[0];
const copy = (objects: K8sObject[]) => structuredClone(objects);

test('the base and the agent example are valid Kubernetes objects that follow the rules', async () => {
  assert.deepEqual(await manifestProblems(base), []);
  assert.deepEqual(await manifestProblems(agent), []);
});

test('vpn and labels are replicated with budgets, bgp is one stable speaker, migrations are a Job', () => {
  for (const name of ['l3vpn-vpn', 'l3vpn-labels']) {
    const d = find(base, 'Deployment', name);
    assert.ok(d.spec.replicas >= 2, `${name} has several replicas`);
    assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(find(base, 'PodDisruptionBudget', name).spec.minAvailable, 1);
    assert.equal(container(d).readinessProbe.httpGet.path, '/readyz');
    assert.equal(container(d).livenessProbe.httpGet.path, '/healthz');
    assert.ok(container(d).ports.some((p: any) => p.name === 'ops' && p.containerPort === 9464));
    assert.equal(container(d).startupProbe.httpGet.path, '/healthz', `${name}: its start is probed on the ops listener (the gRPC port wants a client certificate)`);
  }
  const bgp = find(base, 'StatefulSet', 'l3vpn-bgp');
  assert.equal(bgp.spec.replicas, 1);
  assert.equal(find(base, 'Service', bgp.spec.serviceName).spec.clusterIP, 'None', 'the governing Service is headless');
  const peering = find(base, 'Service', 'l3vpn-bgp-peering');
  assert.equal(peering.spec.type, 'LoadBalancer');
  assert.equal(peering.spec.externalTrafficPolicy, 'Local');
  assert.deepEqual(peering.spec.ports.map((p: any) => p.port), [179]);
  assert.deepEqual(container(bgp).securityContext.capabilities.add, ['NET_BIND_SERVICE']);

  const job = find(base, 'Job', 'l3vpn-migrate');
  assert.deepEqual(container(job).args, ['migrate']);
  assert.equal(find(base, 'ConfigMap', 'l3vpn-config').data.DATABASE_MIGRATE, 'false', 'only the Job migrates');

  for (const o of base) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'l3vpn', `${o.kind}/${o.metadata.name}`);
  const policies = base.filter((o) => o.kind === 'NetworkPolicy');
  assert.ok(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress), 'ingress is denied by default');
  for (const name of ['l3vpn-labels', 'l3vpn-vpn', 'l3vpn-bgp']) {
    assert.ok(policies.some((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === name), `${name} has its ingress policy`);
  }
});

test('every pair of services that call each other runs mutual TLS: a certificate Secret each, one CA, client certificates required', () => {
  const env = (w: K8sObject, name: string) => container(w).env.find((e: any) => e.name === name)?.value;
  const secretAt = (w: K8sObject, path: string): string => {
    const c = container(w);
    const mount = c.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `${w.metadata.name}: ${path} is mounted`);
    const volume = w.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    assert.ok(volume?.secret?.secretName, `${w.metadata.name}: ${path} comes from a Secret`);
    return volume.secret.secretName;
  };
  const workload = (name: string) => base.find((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.name === name)!;
  const tls = (name: string) => {
    const w = workload(name);
    for (const v of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CA_FILE']) assert.ok(env(w, v), `${name}: ${v}`);
    return { cert: secretAt(w, env(w, 'TLS_CERT_FILE')), key: secretAt(w, env(w, 'TLS_KEY_FILE')), ca: secretAt(w, env(w, 'TLS_CA_FILE')), clientAuth: env(w, 'TLS_CLIENT_AUTH') };
  };
  const vpn = workload('l3vpn-vpn');
  for (const [dialled, server] of [
    [env(vpn, 'VPN_LABELS_ADDRESS'), 'l3vpn-labels'],
    [env(vpn, 'VPN_BGP_ADDRESS'), 'l3vpn-bgp'],
  ] as const) {
    assert.equal(String(dialled).split(':')[0], server, 'the vpn service dials the Service by the name its certificate carries (deploy/make-certs.sh)');
    const s = tls(server);
    const c = tls('l3vpn-vpn');
    assert.equal(s.clientAuth, 'require', `${server} requires a client certificate`);
    assert.equal(s.cert, `${server}-tls`);
    assert.equal(s.cert, s.key, `${server}: certificate and key from one Secret`);
    assert.equal(c.cert, 'l3vpn-vpn-tls', 'the vpn service presents its own certificate');
    assert.equal(s.ca, 'l3vpn-ca');
    assert.equal(c.ca, s.ca, 'one CA on both ends');
  }
  assert.ok(['request', 'require'].includes(tls('l3vpn-vpn').clientAuth), "the vpn service verifies agents' certificates");
});

test('the agent example runs on the host network with NET_ADMIN, its node named by the node it runs on', () => {
  const ds = find(agent, 'DaemonSet', 'l3vpn-agent');
  assert.equal(ds.metadata.namespace, 'l3vpn-agent');
  assert.equal(ds.spec.template.spec.hostNetwork, true);
  assert.deepEqual(container(ds).securityContext.capabilities.add, ['NET_ADMIN']);
  const node = container(ds).env.find((e: any) => e.name === 'AGENT_NODE');
  assert.equal(node.valueFrom.fieldRef.fieldPath, 'spec.nodeName');
});

test('a misspelt field, a wrong type and a missing or mis-ported probe are all caught', async () => {
  const misspelt = copy(base);
  const vpn = container(find(misspelt, 'Deployment', 'l3vpn-vpn'));
  vpn.readinesProbe = vpn.readinessProbe;
  delete vpn.readinessProbe;
  const problems = await manifestProblems(misspelt);
  assert.ok(problems.some((p) => p.includes('Deployment/l3vpn-vpn') && p.includes('readinesProbe')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('Deployment/l3vpn-vpn') && p.includes('no readinessProbe')), problems.join('\n'));

  const wrongType = copy(base);
  find(wrongType, 'Deployment', 'l3vpn-labels').spec.replicas = '2';
  find(wrongType, 'Service', 'l3vpn-bgp-peering').spec.ports[0].port = 'bgp';
  const typeProblems = await manifestProblems(wrongType);
  assert.ok(typeProblems.some((p) => p.startsWith('Deployment/l3vpn-labels: /spec/replicas must be integer')), typeProblems.join('\n'));
  assert.ok(typeProblems.some((p) => p.startsWith('Service/l3vpn-bgp-peering: /spec/ports/0/port must be integer')), typeProblems.join('\n'));

  const noLiveness = copy(base);
  delete container(find(noLiveness, 'StatefulSet', 'l3vpn-bgp')).livenessProbe;
  assert.deepEqual(await manifestProblems(noLiveness), ['StatefulSet/l3vpn-bgp container bgp: no livenessProbe']);

  const wrongPort = copy(base);
  container(find(wrongPort, 'Deployment', 'l3vpn-labels')).readinessProbe.httpGet.port = 'metrics';
  assert.deepEqual(await manifestProblems(wrongPort), [
    "Deployment/l3vpn-labels container labels: readinessProbe names port 'metrics', which the container does not declare",
  ]);

  const missingField = copy(base);
  delete container(find(missingField, 'Job', 'l3vpn-migrate')).name;
  const missing = await manifestProblems(missingField);
  assert.ok(missing.some((p) => p.includes('Job/l3vpn-migrate') && p.includes('name')), missing.join('\n'));
});

test('a replicated Deployment without a PodDisruptionBudget, or a Service selecting nothing, is refused', async () => {
  const objects = copy(base).filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'l3vpn-vpn'));
  find(objects, 'Service', 'l3vpn-labels').spec.selector = { 'app.kubernetes.io/name': 'l3vpn-label' };
  assert.deepEqual((await manifestProblems(objects)).sort(), [
    'Deployment/l3vpn-vpn: 2 replicas but no PodDisruptionBudget',
    'Service/l3vpn-labels: its selector matches no pods',
  ]);
});
