// The BGP message codec: pure functions from bytes to messages and back.
export * from './constants.js';
export * from './notification.js';
export { checkHeader, encodeMessage, encodeKeepalive, KEEPALIVE, messageType } from './header.js';
export { MessageSplitter, type SplitResult } from './splitter.js';
export * from './session.js';
export * from './capabilities.js';
export * from './open.js';
export * from './nlri.js';
export * from './next-hop.js';
export * from './as-path.js';
export * from './communities.js';
export * from './attributes.js';
export * from './mp-nlri.js';
export * from './update.js';
export * from './packer.js';
export * from './route-refresh.js';
export * from './message.js';
export { formatAddress, parseAddress } from './ip.js';
