// Moved to store/records.ts (the row <-> view mapping lives behind the store);
// re-exported so the reconcile's imports keep working.
export * from '../store/records.js';
