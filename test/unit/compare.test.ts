import { expect } from 'chai';
import { myDumpCounts, pgDumpCounts, TupleCounter } from '../../src/compare/archive-side.js';
import { parseTree, compareTrees, type FileEntry } from '../../src/compare/files.js';
import {
  compareObjects,
  differingPaths,
  sourceSnapshot,
  targetSnapshot,
} from '../../src/compare/objects.js';
import { compareTables, myTablesSql, pgTablesSql } from '../../src/compare/tables.js';
import type { KubeObject } from '../../src/kube/object.js';

async function* bytes(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

describe('compare: parsers and verdicts', () => {
  it('counts COPY rows of a pg_dump, quoted names and chunk boundaries included', async () => {
    const dump = [
      'SET x = 1;',
      'COPY s1.plain (id, v) FROM stdin;',
      '1\ta',
      '2\tb\\nc',
      '\\.',
      'COPY "s1"."Mixed ""Case""" (id) FROM stdin;',
      '\\.',
      'COPY s1.t3 (id) FROM stdin;',
      '7',
      '\\.',
      '',
    ].join('\n');
    const counts = await pgDumpCounts(bytes(dump.slice(0, 37), dump.slice(37, 90), dump.slice(90)));
    expect(Object.fromEntries(counts)).to.deep.equal({ plain: 2, 'Mixed "Case"': 0, t3: 1 });
  });

  it('counts INSERT tuples of MySQL (one line) and MariaDB (a line per tuple) dumps', async () => {
    const mysql = [
      'CREATE TABLE `a` (',
      '  `id` int',
      ');',
      "INSERT INTO `a` VALUES (1,'x),(y'),(2,'it\\'s; (not) a tuple'),(3,NULL);",
      'CREATE TABLE `empty` (',
      ');',
      '',
    ].join('\n');
    expect(Object.fromEntries(await myDumpCounts(bytes(mysql)))).to.deep.equal({ a: 3, empty: 0 });
    const mariadb = [
      'CREATE TABLE `b` (',
      ');',
      'INSERT INTO `b` VALUES',
      "(1,'a\\nb'),",
      "(2,'(('),",
      '(3,0x28);',
      'INSERT INTO `b` VALUES',
      '(4,1);',
      '',
    ].join('\n');
    expect(Object.fromEntries(await myDumpCounts(bytes(mariadb)))).to.deep.equal({ b: 4 });
    const c = new TupleCounter();
    expect(c.feed("(1,'a;b')")).to.equal(false);
    expect(c.feed(',(2);')).to.equal(true);
    expect(c.tuples).to.equal(2);
  });

  it('parses the in-pod tree listing: types, modes, sizes, links, hashes, odd names', () => {
    const h = 'a'.repeat(64);
    const text = [
      'S 41ed 4096 protected',
      'S 81a4 5 protected/ a b .txt',
      'S a1ff 7 protected/link',
      'L protected/link',
      'T ../x',
      `${h}  protected/ a b .txt`,
      `\\${'b'.repeat(64)}  protected/back\\\\slash`,
      'S 8180 3 protected/back\\slash',
    ].join('\n');
    const t = parseTree(text);
    expect(t.get('protected')).to.deep.equal({ type: 'dir', mode: 0o755 });
    expect(t.get('protected/ a b .txt')).to.deep.equal({
      type: 'file',
      mode: 0o644,
      size: 5,
      sha256: h,
    });
    expect(t.get('protected/link')).to.deep.equal({ type: 'symlink', target: '../x' });
    expect(() => parseTree('garbage line')).to.throw(/unexpected line/);
  });

  it('names the entries of a tree that differ, are missing or only in the target', () => {
    const f = (sha: string, size = 1): FileEntry => ({
      type: 'file',
      mode: 0o644,
      size,
      sha256: sha,
    });
    const s = new Map<string, FileEntry>([
      ['r', { type: 'dir', mode: 0o755 }],
      ['r/a', f('1')],
      ['r/b', f('2')],
      ['r/c', f('3')],
    ]);
    const t = new Map<string, FileEntry>([
      ['r', { type: 'dir', mode: 0o700 }],
      ['r/a', f('1')],
      ['r/b', f('9')],
      ['r/d', f('4')],
    ]);
    const rows = compareTrees(
      [{ key: 'app main/r', entries: s }],
      [{ key: 'app main/r', entries: t }],
    );
    expect(rows.map((r) => [r.section, r.name, r.verdict, r.why])).to.deep.equal([
      ['files', 'app main/r', 'differs', '4 of 5 entries differ or are missing'],
      ['file', 'app main/r', 'differs', 'mode'],
      ['file', 'app main/r/b', 'differs', 'content'],
      ['file', 'app main/r/c', 'missing', 'not in the target'],
      ['file', 'app main/r/d', 'missing', 'only in the target'],
    ]);
  });

  it('objects: restore transforms make intended differences "expected", others differ by path', () => {
    const app = (ns: string, host: string): KubeObject => ({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'qs', namespace: ns, uid: `u-${ns}`, resourceVersion: '7' },
      spec: { ingressHostName: host, dbms: 'postgresql' },
      status: { phase: 'successful' },
    });
    const secret = (ns: string, v: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: ns },
      data: { password: Buffer.from(v).toString('base64'), user: 'dQ==' },
    });
    const mapping = {
      sourceNamespace: 'a',
      targetNamespace: 'b',
      sourceHost: 'qs.a.example',
      targetHost: 'qs.b.example',
    };
    const rows = compareObjects(
      sourceSnapshot([app('a', 'qs.a.example'), secret('a', 'one')], mapping),
      targetSnapshot([app('b', 'qs.b.example'), secret('b', 'two')], 'b'),
    );
    expect(rows.map((r) => [r.name, r.verdict, r.why])).to.deep.equal([
      ['EntandoApp b/qs', 'expected', 'spec.ingressHostName: qs.a.example -> qs.b.example'],
      ['Secret b/s', 'differs', 'differs at data.password'],
    ]);
    expect(JSON.stringify(rows)).to.not.contain(Buffer.from('two').toString('base64'));
    expect(differingPaths({ a: [1, 2] }, { a: [1, 3] })).to.deep.equal(['a[1]']);
  });

  it('objects: with the --namespace-map of the restore, repository namespaces moved are expected and named', () => {
    const app = (ns: string, repo: string): KubeObject => ({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'qs', namespace: ns },
      spec: { dbms: 'postgresql', componentRepositoryNamespaces: [ns, repo] },
    });
    const bundle = (ns: string): KubeObject => ({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoDeBundle',
      metadata: { name: 'demo', namespace: ns },
      spec: { details: { name: 'demo' } },
    });
    const source = [app('a', 'a-ecr'), bundle('a-ecr')];
    const target = [app('b', 'b-ecr'), bundle('b-ecr')];
    const base = { sourceNamespace: 'a', targetNamespace: 'b' };
    const mapped = compareObjects(
      sourceSnapshot(source, { ...base, namespaceMap: { 'a-ecr': 'b-ecr' } }),
      targetSnapshot(target, 'b'),
    );
    expect(mapped.map((r) => [r.name, r.verdict, r.why])).to.deep.equal([
      [
        'EntandoApp b/qs',
        'expected',
        'spec.componentRepositoryNamespaces[0]: a -> b; spec.componentRepositoryNamespaces[1]: a-ecr -> b-ecr',
      ],
      ['EntandoDeBundle b-ecr/demo', 'expected', 'metadata.namespace: a-ecr -> b-ecr'],
    ]);
    const unmapped = compareObjects(sourceSnapshot(source, base), targetSnapshot(target, 'b'));
    expect(unmapped.map((r) => [r.name, r.verdict])).to.deep.equal([
      ['EntandoApp b/qs', 'differs'],
      ['EntandoDeBundle a-ecr/demo', 'missing'],
      ['EntandoDeBundle b-ecr/demo', 'missing'],
    ]);
    expect(unmapped[0]!.why).to.equal(
      'differs at spec.componentRepositoryNamespaces[1] (restored with --namespace-map? pass compare the same --namespace-map)',
    );
  });

  it("objects: a plugin differing only in k8s-service's ENTANDO_TIMESTAMP is expected, any other value differs", () => {
    const plugin = (ns: string, stamp: string, image = 'img:1') => ({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoPlugin',
      metadata: { name: 'pn-1', namespace: ns },
      spec: {
        image,
        environmentVariables: [
          { name: 'ENTANDO_ECR_INGRESS_URL', value: 'https://h/digital-exchange' },
          { name: 'ENTANDO_TIMESTAMP', value: stamp },
        ],
      },
    });
    const mapping = { sourceNamespace: 'a', targetNamespace: 'b' };
    const verdict = (target: KubeObject) =>
      compareObjects(
        sourceSnapshot([plugin('a', '1')], mapping),
        targetSnapshot([target], 'b'),
      ).map((r) => r.verdict);
    expect(verdict(plugin('b', '2'))).to.deep.equal(['expected']);
    expect(verdict(plugin('b', '2', 'img:2'))).to.deep.equal(['differs']);
  });

  it('tables: Liquibase lock is expected, counts and hashes decide the rest', () => {
    const ds = (tables: [string, number, string?][]) => [
      {
        key: 'qs portdb',
        dbms: 'postgresql',
        schema: 'x',
        tables: new Map(tables.map(([n, rows, hash]) => [n, { rows, ...(hash ? { hash } : {}) }])),
      },
    ];
    const rows = compareTables(
      ds([
        ['databasechangeloglock', 1, 'h1'],
        ['pages', 3, 'h'],
        ['events', 2, 'e'],
        ['gone', 1, 'g'],
      ]),
      ds([
        ['databasechangeloglock', 0, '0:0'],
        ['pages', 3, 'other'],
        ['events', 2, 'e'],
      ]),
    );
    expect(rows.map((r) => [r.name, r.verdict])).to.deep.equal([
      ['qs portdb/databasechangeloglock', 'expected'],
      ['qs portdb/events', 'same'],
      ['qs portdb/gone', 'missing'],
      ['qs portdb/pages', 'differs'],
    ]);
  });

  it('builds the DBMS hash SQL with quoted identifiers', () => {
    expect(pgTablesSql("o'k", false)).to.contain("n.nspname = 'o''k'").and.contain('\\gexec');
    expect(pgTablesSql('s', true)).to.not.contain('md5');
    const my = myTablesSql(new Map([['t`x', ['a', 'b`c']]]), false);
    expect(my).to.contain('FROM `t``x`').and.contain('CAST(`b``c` AS BINARY)');
  });
});
