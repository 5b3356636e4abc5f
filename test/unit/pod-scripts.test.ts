import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DU_SCRIPT } from '../../src/backup/estimate.js';
import { treeCommand } from '../../src/compare/files.js';
import { writeCredentialsCommand } from '../../src/components/databases/credentials.js';
import { MY_SCRIPT } from '../../src/components/databases/mysql.js';
import { PG_SCRIPT } from '../../src/components/databases/postgresql.js';
import {
  EXTRACT_SCRIPT,
  LIST_TREE_SCRIPT,
  STAGE_SCRIPT,
  SWAP_SCRIPT,
  TAR_CREATE_SCRIPT,
  TAR_LIST_SCRIPT,
} from '../../src/components/files/pod-scripts.js';
import {
  cleanupCommand,
  exportCommand,
  importCommand,
  reapCommand,
} from '../../src/components/keycloak/side-server-scripts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The script of an `sh -c SCRIPT NAME ARG...` command. */
function scriptOf(command: string[]): string {
  expect(command.slice(0, 2)).to.deep.equal(['sh', '-c']);
  return command[2];
}

const side = {
  realms: ['entando', 't1'],
  portOffset: 2505,
  heap: '512m',
  timeoutSeconds: 60,
  runId: 'r1',
};

/** Every script run in a pod, by where it comes from. */
const SCRIPTS: Record<string, string> = {
  'files TAR_CREATE_SCRIPT': TAR_CREATE_SCRIPT,
  'files LIST_TREE_SCRIPT': LIST_TREE_SCRIPT,
  'files TAR_LIST_SCRIPT': TAR_LIST_SCRIPT,
  'files EXTRACT_SCRIPT': EXTRACT_SCRIPT,
  'files STAGE_SCRIPT': STAGE_SCRIPT,
  'files SWAP_SCRIPT': SWAP_SCRIPT,
  'databases PG_SCRIPT': PG_SCRIPT,
  'databases MY_SCRIPT': MY_SCRIPT,
  'databases writeCredentialsCommand': scriptOf(writeCredentialsCommand('/tmp/.kubectl-entando-x')),
  'keycloak exportCommand': scriptOf(exportCommand({ ...side, largestRealmUsers: 0 })),
  'keycloak importCommand': scriptOf(importCommand(side)),
  'keycloak cleanupCommand': scriptOf(cleanupCommand('r1')),
  'keycloak reapCommand': scriptOf(reapCommand(3600)),
  'backup estimate DU_SCRIPT': DU_SCRIPT,
  'compare treeCommand': scriptOf(treeCommand('/entando-data', ['resources'], false)),
};

/**
 * The source files that run `sh -c` (their scripts are in SCRIPTS). A new one fails the guard
 * below: add its scripts to SCRIPTS, then the file here.
 */
const RUNNERS = [
  'src/backup/estimate.ts',
  'src/compare/files.ts',
  'src/components/databases/credentials.ts',
  'src/components/databases/mysql.ts',
  'src/components/databases/postgresql.ts',
  'src/components/files/backup.ts',
  'src/components/files/extract.ts',
  'src/components/keycloak/side-server-scripts.ts',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('scripts run in pods pass shellcheck as POSIX sh (busybox ash, dash)', () => {
  it('every source file that runs sh -c has its scripts checked here', () => {
    const runners = sourceFiles(join(ROOT, 'src'))
      .filter((f) =>
        /['"](?:ba)?sh['"],\s*['"]-c['"]|#!\/bin\/(?:ba)?sh/.test(readFileSync(f, 'utf8')),
      )
      .map((f) => relative(ROOT, f))
      .sort();
    expect(runners).to.deep.equal(RUNNERS);
  });

  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(name, () => {
      const r = spawnSync('shellcheck', ['--shell=sh', '--norc', '-'], {
        input: script,
        encoding: 'utf8',
      });
      if (r.error) {
        throw new Error(
          `shellcheck could not run (${r.error.message}): bash scripts/setup installs it`,
        );
      }
      expect(r.status, `shellcheck -s sh of ${name}:\n${r.stdout}${r.stderr}`).to.equal(0);
    });
  }
});
