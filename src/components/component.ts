/** The components' contract lives in src/contract/ (shared with the restore orchestrator). */
export * from '../contract/component.js';
