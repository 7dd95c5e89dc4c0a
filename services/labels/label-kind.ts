import { LabelKind } from '../common/gen/proto/l3vpn/v1/labels.js';

/** How a kind is stored (the allocation's purpose) and which space it is drawn from. */
const PURPOSES: ReadonlyMap<LabelKind, string> = new Map([
  [LabelKind.LABEL_KIND_VRF, 'vrf'],
  [LabelKind.LABEL_KIND_PREFIX, 'prefix'],
  [LabelKind.LABEL_KIND_CE, 'ce'],
  [LabelKind.LABEL_KIND_NODE_SID, 'node-sid'],
  [LabelKind.LABEL_KIND_TRANSPORT, 'transport'],
]);
const KINDS = new Map([...PURPOSES].map(([k, p]) => [p, k]));

export function purposeOf(kind: LabelKind): string | undefined {
  return PURPOSES.get(kind);
}

export function kindOf(purpose: string): LabelKind {
  return KINDS.get(purpose) ?? LabelKind.LABEL_KIND_UNSPECIFIED;
}

export function usesSrgb(kind: LabelKind): boolean {
  return kind === LabelKind.LABEL_KIND_NODE_SID;
}
