// Shared fixtures for the FSM tests (not part of the public API).
import { parseBgpId } from './negotiate.js';
import { FsmAction, FsmConfig, IPV4_UNICAST, OpenSummary, VPNV4_UNICAST } from './types.js';

export const LOCAL_ID = parseBgpId('10.0.0.1');
export const PEER_ID = parseBgpId('10.0.0.2');

export function config(over: Partial<FsmConfig> = {}): FsmConfig {
  return {
    localAs: 65000,
    peerAs: 65001,
    localBgpId: LOCAL_ID,
    capabilities: { multiprotocol: [IPV4_UNICAST, VPNV4_UNICAST], fourOctetAs: true, routeRefresh: true },
    ...over,
  };
}

export function peerOpen(over: Partial<OpenSummary> = {}): OpenSummary {
  return {
    version: 4,
    myAs: 65001,
    holdTime: 90,
    bgpId: PEER_ID,
    capabilities: { multiprotocol: [VPNV4_UNICAST, IPV4_UNICAST], fourOctetAs: true, routeRefresh: true },
    ...over,
  };
}

export function types(actions: FsmAction[]): string[] {
  return actions.map((a) => a.type);
}

/** [code, subcode] of every NOTIFICATION sent. */
export function sent(actions: FsmAction[]): [number, number][] {
  return actions.flatMap((a) => (a.type === 'sendNotification' ? [[a.notification.code, a.notification.subcode]] : []));
}

/** "start Name s" / "stop Name" for every timer action. */
export function timers(actions: FsmAction[]): string[] {
  return actions.flatMap((a) =>
    a.type === 'startTimer' ? [`start ${a.timer} ${a.seconds}`] : a.type === 'stopTimer' ? [`stop ${a.timer}`] : [],
  );
}
