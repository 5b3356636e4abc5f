import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigFiles, loadMergedKubeConfig, resolveKube } from '../../src/kube/kubeconfig.js';
import { UserError } from '../../src/errors.js';

function kubeconfig(
  current: string | undefined,
  entries: { name: string; server: string; ns?: string }[],
): string {
  const lines = ['apiVersion: v1', 'kind: Config'];
  if (current) lines.push(`current-context: ${current}`);
  lines.push('clusters:');
  for (const e of entries) lines.push(`- name: ${e.name}`, '  cluster:', `    server: ${e.server}`);
  lines.push('users:');
  for (const e of entries)
    lines.push(`- name: ${e.name}`, '  user:', `    token: t-${e.server.length}`);
  lines.push('contexts:');
  for (const e of entries) {
    lines.push(`- name: ${e.name}`, '  context:', `    cluster: ${e.name}`, `    user: ${e.name}`);
    if (e.ns) lines.push(`    namespace: ${e.ns}`);
  }
  return lines.join('\n') + '\n';
}

describe('kubeconfig merge (as kubectl does)', () => {
  let dir: string;
  let first: string;
  let second: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kc-'));
    first = path.join(dir, 'first');
    second = path.join(dir, 'second');
    fs.writeFileSync(
      first,
      kubeconfig('a', [
        { name: 'a', server: 'https://first-a' },
        { name: 'shared', server: 'https://first-shared', ns: 'one' },
      ]),
    );
    fs.writeFileSync(
      second,
      kubeconfig('b', [
        { name: 'b', server: 'https://second-b' },
        { name: 'shared', server: 'https://second-shared', ns: 'two' },
      ]),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists KUBECONFIG entries in order, ignoring empty ones and duplicates', () => {
    const env = {
      KUBECONFIG: `${first}${path.delimiter}${path.delimiter}${second}${path.delimiter}${first}`,
    };
    expect(kubeconfigFiles(undefined, env)).to.deep.equal([first, second]);
    expect(kubeconfigFiles('/x', env)).to.deep.equal(['/x']);
    expect(kubeconfigFiles(undefined, { HOME: '/home/u' })).to.deep.equal(['/home/u/.kube/config']);
  });

  const cases: { name: string; files: () => string[]; current: string; sharedServer: string }[] = [
    {
      name: 'first file wins current-context and duplicates',
      files: () => [first, second],
      current: 'a',
      sharedServer: 'https://first-shared',
    },
    {
      name: 'order reversed, the other file wins',
      files: () => [second, first],
      current: 'b',
      sharedServer: 'https://second-shared',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const merged = loadMergedKubeConfig(c.files(), false);
      expect(merged.getCurrentContext()).to.equal(c.current);
      expect(merged.getCluster('shared')?.server).to.equal(c.sharedServer);
      expect(merged.contexts.map((x) => x.name).sort()).to.deep.equal(['a', 'b', 'shared']);
    });
  }

  it("differs from client-node's own KUBECONFIG loading, which we do not use", () => {
    const unique = path.join(dir, 'unique');
    fs.writeFileSync(unique, kubeconfig('c', [{ name: 'c', server: 'https://c' }]));
    const saved = process.env.KUBECONFIG;
    try {
      process.env.KUBECONFIG = `${first}${path.delimiter}${unique}`;
      const theirs = new KubeConfig();
      theirs.loadFromDefault();
      // client-node lets the later file set the current context; kubectl (and we) keep the first.
      expect(theirs.getCurrentContext()).to.equal('c');
      expect(loadMergedKubeConfig([first, unique], false).getCurrentContext()).to.equal('a');
      // client-node refuses duplicate names; kubectl (and we) keep the first file's entry.
      process.env.KUBECONFIG = `${first}${path.delimiter}${second}`;
      expect(() => new KubeConfig().loadFromDefault()).to.throw(/Duplicate/);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('skips missing files in KUBECONFIG but not a missing --kubeconfig', () => {
    const merged = loadMergedKubeConfig([path.join(dir, 'absent'), second], false);
    expect(merged.getCurrentContext()).to.equal('b');
    expect(() => loadMergedKubeConfig([path.join(dir, 'absent')], true)).to.throw(
      UserError,
      /does not exist/,
    );
    expect(() => loadMergedKubeConfig([path.join(dir, 'absent')], false)).to.throw(
      UserError,
      /no kubeconfig found/,
    );
  });

  it('resolves context and namespace: flag, then context namespace, then default', () => {
    const env = { KUBECONFIG: `${first}${path.delimiter}${second}` };
    expect(resolveKube({ context: 'shared' }, env).namespace).to.equal('one');
    expect(resolveKube({ context: 'shared', namespace: 'x' }, env).namespace).to.equal('x');
    expect(resolveKube({}, env)).to.include({
      contextName: 'a',
      namespace: 'default',
      server: 'https://first-a',
    });
    expect(() => resolveKube({ context: 'nope' }, env)).to.throw(
      UserError,
      /context "nope" not found.*known: a, shared, b/,
    );
  });
});
