// VrfConfig.owner over the gRPC API: a controller finds its own VRFs
// (ListVrfs by owner and name suffix) and can change or delete only those;
// the VRFs of the bgp config file belong to nobody and stay.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { LabelMode, type VrfConfig } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { startTestBgp, type StartedBgp } from './support.js';

let bgp: StartedBgp | undefined;
const api = () => bgp!.client;

const vrf = (name: string, rd: string, owner: string): VrfConfig => ({
  name,
  rd,
  importRouteTargets: ['65000:100'],
  exportRouteTargets: ['65000:100'],
  labelMode: LabelMode.LABEL_MODE_PER_VRF,
  label: 500,
  ipv6Label: 0,
  owner,
});
const names = async (owner: string, nameSuffix = '') => (await api().listVrfs({ name: '', owner, nameSuffix })).vrfs.map((v) => v.config!.name).sort();
const code = (expected: status, detail: RegExp) => (err: ServiceError) => err.code === expected && detail.test(err.details);

before(async () => {
  bgp = await startTestBgp({
    BGP_AS: '65000',
    BGP_ROUTER_ID: '10.255.31.1',
    BGP_LISTEN_ADDRESS: '127.0.0.1',
    BGP_PORT: '0',
    BGP_VRFS: JSON.stringify([{ name: 'static@pe1', rd: '65000:1', 'import-rts': ['65000:100'], label: 400 }]),
  });
  await api().addVrf({ vrf: vrf('acme@pe1', '65000:2', 'vpn') });
  await api().addVrf({ vrf: vrf('acme@pe2', '65000:3', 'vpn') });
  await api().addVrf({ vrf: vrf('beta@pe1', '65000:4', 'other-vpn') });
});
after(async () => {
  await bgp?.stop();
});

test('ListVrfs: by owner and by name suffix; a static VRF has no owner', async () => {
  assert.deepEqual(await names(''), ['acme@pe1', 'acme@pe2', 'beta@pe1', 'static@pe1']);
  assert.deepEqual(await names('vpn'), ['acme@pe1', 'acme@pe2']);
  assert.deepEqual(await names('vpn', '@pe1'), ['acme@pe1']);
  assert.deepEqual(await names('', '@pe1'), ['acme@pe1', 'beta@pe1', 'static@pe1']);
  const [stat] = (await api().listVrfs({ name: 'static@pe1', owner: '', nameSuffix: '' })).vrfs;
  assert.equal(stat!.config!.owner, '');
  assert.equal((await api().listVrfs({ name: 'acme@pe1', owner: '', nameSuffix: '' })).vrfs[0]!.config!.owner, 'vpn');
});

test("UpdateVrf and DeleteVrf never take over or remove another owner's VRF, nor a static one", async () => {
  await assert.rejects(api().updateVrf({ vrf: vrf('static@pe1', '65000:1', 'vpn') }), code(status.FAILED_PRECONDITION, /static@pe1 has no owner/));
  await assert.rejects(api().updateVrf({ vrf: vrf('beta@pe1', '65000:4', 'vpn') }), code(status.FAILED_PRECONDITION, /beta@pe1 is managed by 'other-vpn'/));
  await assert.rejects(api().deleteVrf({ name: 'static@pe1', owner: 'vpn' }), code(status.FAILED_PRECONDITION, /static@pe1/));
  await assert.rejects(api().deleteVrf({ name: 'beta@pe1', owner: 'vpn' }), code(status.FAILED_PRECONDITION, /managed by 'other-vpn'/));
  assert.deepEqual(await names(''), ['acme@pe1', 'acme@pe2', 'beta@pe1', 'static@pe1']);
  // The owner's own calls work; an update keeps the owner.
  await api().updateVrf({ vrf: { ...vrf('acme@pe1', '65000:2', 'vpn'), label: 501 } });
  assert.equal((await api().listVrfs({ name: 'acme@pe1', owner: '', nameSuffix: '' })).vrfs[0]!.config!.label, 501);
  await api().deleteVrf({ name: 'acme@pe1', owner: 'vpn' });
  assert.deepEqual(await names('vpn'), ['acme@pe2']);
  await assert.rejects(api().deleteVrf({ name: 'acme@pe1', owner: 'vpn' }), code(status.NOT_FOUND, /acme@pe1/));
});

test('a bad owner is INVALID_ARGUMENT naming the field', async () => {
  await assert.rejects(api().addVrf({ vrf: vrf('gamma@pe1', '65000:9', 'x'.repeat(65)) }), code(status.INVALID_ARGUMENT, /^owner: /));
  await assert.rejects(api().addVrf({ vrf: vrf('gamma@pe1', '65000:9', 'own\ner') }), code(status.INVALID_ARGUMENT, /^owner: /));
});
