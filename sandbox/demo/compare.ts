// Prints two sandbox state summaries side by side (sandbox/fixture/state.ts output):
//   node dist/sandbox/demo/compare.js SOURCE.json RESTORED.json
// Used by scripts/demo to show what a backup and restore carried over and what it did not.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { State } from '../fixture/statelib.js';

const short = (value: unknown) =>
  value === undefined
    ? '-'
    : createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);

function row(name: string, left: string, right: string, note = ''): string {
  const verdict = left === '-' || right === '-' ? 'MISSING' : left === right ? 'same' : 'differs';
  return `  ${name.padEnd(52)} ${left.padEnd(24)} ${right.padEnd(24)} ${verdict}${note ? ` (${note})` : ''}`;
}

function main(): void {
  const [sourceFile, restoredFile] = process.argv.slice(2);
  const source = JSON.parse(fs.readFileSync(sourceFile, 'utf8')) as State;
  const restored = JSON.parse(fs.readFileSync(restoredFile, 'utf8')) as State;
  const lines: string[] = [];
  lines.push(
    `  ${''.padEnd(52)} ${`${source.context}/${source.namespace}`.padEnd(24)} ${`${restored.context}/${restored.namespace}`.padEnd(24)}`,
  );
  lines.push('objects');
  const names = [
    ...new Set([...Object.keys(source.objects), ...Object.keys(restored.objects)]),
  ].sort();
  for (const name of names) {
    if (name.startsWith('PersistentVolumeClaim/')) continue;
    const note = /^Entando(App|Plugin)\//.test(name)
      ? 'ingress host changed on purpose'
      : /-dbms-in-namespace-admin-secret$|^Secret\/default-sso-in-namespace-/.test(name)
        ? "the target's operator makes its own"
        : '';
    lines.push(row(name, short(source.objects[name]), short(restored.objects[name]), note));
  }
  lines.push('databases (rows, content sha256)');
  const dbs = [
    ...new Set([...Object.keys(source.databases), ...Object.keys(restored.databases)]),
  ].sort();
  for (const db of dbs) {
    const s = source.databases[db]?.tables ?? {};
    const r = restored.databases[db]?.tables ?? {};
    for (const table of [...new Set([...Object.keys(s), ...Object.keys(r)])].sort()) {
      const fmt = (t?: { rows: number; sha256: string }) =>
        t ? `${t.rows} ${t.sha256.slice(0, 12)}` : '-';
      const note = table === 'databasechangeloglock' ? "Liquibase's lock, cleared on purpose" : '';
      lines.push(row(`${db}.${table}`, fmt(s[table]), fmt(r[table]), note));
    }
  }
  lines.push('files (count, bytes, tree sha256)');
  const trees = [...new Set([...Object.keys(source.files), ...Object.keys(restored.files)])].sort();
  for (const tree of trees) {
    const fmt = (t?: State['files'][string]) =>
      t
        ? `${t.files} ${t.bytes} ${short(t.entries.length ? t.entries : [t.files, t.dirs, t.symlinks, t.bytes])}`
        : '-';
    lines.push(row(tree, fmt(source.files[tree]), fmt(restored.files[tree])));
  }
  if (source.keycloak || restored.keycloak) {
    lines.push('keycloak realm entando (counts; sha256 of user ids, key ids, client ids)');
    for (const key of [
      'users',
      'clients',
      'groups',
      'realmRoles',
      'userIds',
      'keyIds',
      'clientIds',
    ] as const) {
      const fmt = (v: unknown) => (v === undefined ? '-' : String(v).slice(0, 12));
      lines.push(row(key, fmt(source.keycloak?.[key]), fmt(restored.keycloak?.[key])));
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
