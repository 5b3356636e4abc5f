import type { BundlesSummary, RecordedBundle } from '../../contract/manifest.js';

/** A recorded bundle a reinstall does not bring back as its last job left it, and why. */
export interface BundleLeftAlone {
  code: string;
  namespace?: string;
  installed: boolean;
  version?: string;
  lastJobStatus?: string;
  /** reinstalled at its installed version (a failed later job not repeated), or not at all. */
  outcome: 'not reinstalled' | 'reinstalled at its installed version';
  why: string;
}

/** A job that ended in failure: INSTALL_ERROR, INSTALL_ROLLBACK(_PARTIAL), UNINSTALL_ERROR... */
const failedJob = (status: string | undefined) =>
  !!status && /_(ERROR|ROLLBACK|ROLLBACK_PARTIAL)$/.test(status);

function leftAlone(b: RecordedBundle): BundleLeftAlone | undefined {
  const base = {
    code: b.code,
    ...(b.namespace ? { namespace: b.namespace } : {}),
    installed: b.installed,
    ...(b.version ? { version: b.version } : {}),
    ...(b.lastJobStatus ? { lastJobStatus: b.lastJobStatus } : {}),
  };
  const job = b.lastJobStatus;
  if (!b.installed || !b.version) {
    return {
      ...base,
      outcome: 'not reinstalled',
      why: `not installed in the source (${job ? `its last job ended ${job}` : 'never installed'}): nothing to reinstall; the component manager offers it as in the source`,
    };
  }
  if (failedJob(job)) {
    return {
      ...base,
      outcome: 'reinstalled at its installed version',
      why: `installed at ${b.version} in the source, its last job ended ${job} (a failed upgrade or uninstall, which the component manager rolled back): reinstalled at ${b.version}, the failed job not repeated`,
    };
  }
  return undefined;
}

/**
 * The bundles a restore with --bundles reinstall does not bring back as their last job left
 * them, so that the plan, the summary and the JSON tell "on purpose" from "forgotten".
 */
export function bundlesLeftAlone(summary: BundlesSummary | undefined): BundleLeftAlone[] {
  if (!summary?.recorded) return [];
  return summary.bundles.flatMap((b) => leftAlone(b) ?? []);
}

/** The summary's lines about them (none when there are none). */
export function leftAloneLines(list: BundleLeftAlone[]): string[] {
  if (list.length === 0) return [];
  return [
    `  bundles not reinstalled as recorded (${list.length}):`,
    ...list.map((b) => `    ${b.code}${b.namespace ? ` (${b.namespace})` : ''}: ${b.why}`),
  ];
}
