/**
 * The restore order as the components see it: they place their steps by phase name. The table
 * itself is src/restore/order.ts, the one place that orders phases.
 */
export { adoptPhaseOf, phase, phaseOfKind, type Phase, type PhaseName } from '../restore/order.js';
