// Moved to store/outbox.ts (the store owns the outbox rows); re-exported for
// the reconcile and the route wake-ups, which write outbox rows too.
export * from '../store/outbox.js';
