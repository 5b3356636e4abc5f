import { randomBytes } from 'node:crypto';
import { OperationError } from '../../errors.js';
import type { DbExecutor } from './executor.js';

/**
 * Passwords reach the database tools through a 0600 file in the pod, never through a command
 * line: an exec's command is part of the request URL, which API servers and audit logs record.
 * The file is written by its own exec whose stdin carries the content (stdin is not logged),
 * in a fresh directory (`mkdir` fails rather than following anything already there); the tool's
 * script removes it on exit, and a last exec removes it again in case that script was killed.
 */
export function credentialDir(): string {
  return `/tmp/.kubectl-entando-${randomBytes(8).toString('hex')}`;
}

export const CREDENTIALS_FILE = 'credentials';

/** The exec that writes stdin into `<dir>/credentials`, readable by its owner only. */
export function writeCredentialsCommand(dir: string): string[] {
  return [
    'sh',
    '-c',
    'umask 077 && mkdir -- "$1" && cat > "$1/credentials"',
    'kubectl-entando-credentials',
    dir,
  ];
}

export function removeCredentialsCommand(dir: string): string[] {
  return ['rm', '-rf', '--', dir];
}

/** A libpq password file line matching this user on any host, port and database. */
export function pgpassContent(username: string, password: string): string {
  for (const [what, v] of [
    ['username', username],
    ['password', password],
  ]) {
    if (/[\r\n]/.test(v)) {
      throw new OperationError(`the PostgreSQL ${what} contains a line break: it cannot be passed`);
    }
  }
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return `*:*:*:${esc(username)}:${esc(password)}\n`;
}

/** A MySQL option file (for --defaults-extra-file) with the user and password. */
export function myCnfContent(username: string, password: string): string {
  // Outer quotes are stripped as a pair (inner ones stay); backslash escapes are decoded.
  const esc = (s: string) =>
    s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return `[client]\nuser="${esc(username)}"\npassword="${esc(password)}"\n`;
}

/** Writes the credentials into the pod, runs `work(dir)`, and always removes them again. */
export async function withCredentials<T>(
  exec: DbExecutor,
  content: string,
  work: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = credentialDir();
  const written = await exec.exec(writeCredentialsCommand(dir), { stdin: [content] });
  if (written.exitCode !== 0) {
    throw new OperationError(
      `cannot write a credentials file under /tmp in ${exec.where} (exit code ${written.exitCode}): ${written.stderr.trim()}`,
    );
  }
  try {
    return await work(dir);
  } finally {
    await exec.exec(removeCredentialsCommand(dir), {}).catch(() => undefined);
  }
}
