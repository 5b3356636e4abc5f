import { OperationError } from '../../errors.js';
import type { Datasource } from './discovery.js';

/**
 * Oracle is never skipped silently: kubectl-entando has no Oracle tooling to run (and no Oracle
 * to test against), so a backup of an app with Oracle datasources stops and says what to do.
 */
export function oracleError(datasources: Datasource[]): OperationError {
  const schemas = [...new Set(datasources.map((d) => d.schema))];
  const where = datasources
    .map(
      (d) =>
        `${d.owner.kind} ${d.owner.name}${d.owner.tenant ? ` tenant ${d.owner.tenant}` : ''} ${d.qualifier}: schema ${d.schema} on ${d.host}:${d.port}${d.database ? `/${d.database}` : ''}`,
    )
    .join('; ');
  return new OperationError(
    `databases: Oracle datasources cannot be backed up by kubectl-entando (${where}). ` +
      `Export them with Oracle Data Pump (expdp SCHEMAS=${schemas.join(',')} ...) or your DBA's ` +
      'backup, import them with impdp into the target before restoring, and keep the credential ' +
      'secrets (they are in the archive) so the restored app logs in as the same users.',
  );
}
