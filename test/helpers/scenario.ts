import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateIdentity } from '../../src/archive/age/index.js';
import { runCli, type CliRun } from './cli.js';
import { KUBECONFIG, ROOT } from './sandbox.js';
import { tempDir } from './tmp.js';
import { CUT_HINT } from '../../src/kube/pod-exec.js';

const run = promisify(execFile);

/**
 * What most end-to-end suites share: a temp dir with an age identity, `backup` from a
 * namespace of one cluster and `restore` into another, through the whole CLI in-process.
 */
export class Scenario {
  readonly tmp = tempDir();
  readonly id = generateIdentity();
  readonly keyFile = path.join(this.tmp.dir, 'key.txt');
  /** Environment of every run (e.g. the S3 server's AWS_* variables). */
  env: NodeJS.ProcessEnv = {};

  constructor() {
    fs.writeFileSync(this.keyFile, `${this.id.identity}\n`, { mode: 0o600 });
  }

  file(name: string): string {
    return path.join(this.tmp.dir, name);
  }

  /**
   * `backup` of the only app of `namespace`, encrypted to this scenario's identity. Run once more
   * when kubectl exec cut a stream short (kubernetes/kubernetes#124571): the backup catches it
   * and leaves nothing (unit-tested in files-tar-end and databases), and its message tells the
   * user to run it again; the suites using this helper test other things.
   */
  async backup(
    context: string,
    namespace: string,
    file: string,
    extra: string[] = [],
  ): Promise<CliRun> {
    const once = () => this.backupOnce(context, namespace, file, extra);
    const first = await once();
    if (first.code !== 1 || !first.stderr.includes(CUT_HINT)) return first;
    process.stderr.write(`      (backup run again: ${first.stderr.trim()})\n`);
    return once();
  }

  private backupOnce(
    context: string,
    namespace: string,
    file: string,
    extra: string[],
  ): Promise<CliRun> {
    return runCli(
      [
        'backup',
        '--kubeconfig',
        KUBECONFIG,
        '--context',
        context,
        '-n',
        namespace,
        '-r',
        this.id.recipient,
        '-f',
        file,
        ...extra,
      ],
      this.env,
    );
  }

  /** `restore --yes` into `namespace` of `context` (add --dry-run, -o json... in `extra`). */
  restore(
    file: string,
    context: string,
    namespace: string,
    extra: string[] = [],
    kubeconfig = KUBECONFIG,
  ): Promise<CliRun> {
    return runCli(
      [
        'restore',
        file,
        '--kubeconfig',
        kubeconfig,
        '--to-context',
        context,
        '--to-namespace',
        namespace,
        '-i',
        this.keyFile,
        '--yes',
        ...extra,
      ],
      this.env,
    );
  }

  cleanup(): void {
    this.tmp.cleanup();
  }
}

/** The sandbox kubectl, with stdin when given. */
export async function kubectl(context: string, args: string[], stdin?: string): Promise<string> {
  const bin = path.join(ROOT, '.sandbox/bin/kubectl');
  const full = ['--kubeconfig', KUBECONFIG, '--context', context, ...args];
  if (stdin === undefined) {
    return (await run(bin, full, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(bin, full, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err}`)),
    );
    child.stdin.end(stdin);
  });
}

/** `scripts/sandbox stop|start CLUSTER PART`: a fault the way production meets it. */
export async function sandboxPart(
  action: 'stop' | 'start',
  cluster: 'source' | 'target',
  part: 'kube-apiserver' | 'operator' | 'dbms',
): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts/sandbox'), action, cluster, part], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/**
 * A kubeconfig for a service account of `namespace` holding only `rules` there (a Role), with
 * a token from the TokenRequest API: a real user of the real apiserver's RBAC.
 */
export async function limitedKubeconfig(
  context: string,
  namespace: string,
  name: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
  dir: string,
): Promise<string> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace },
        rules,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    ],
  };
  await kubectl(context, ['apply', '-f', '-'], JSON.stringify(manifest));
  const token = (await kubectl(context, ['-n', namespace, 'create', 'token', name])).trim();
  const config = JSON.parse(
    await kubectl(context, ['config', 'view', '--raw', '--minify', '-o', 'json']),
  ) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
  const file = path.join(dir, `${name}.kubeconfig`);
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: config.clusters,
    users: [{ name, user: { token } }],
    contexts: [{ name: context, context: { cluster: config.clusters[0].name, user: name } }],
    'current-context': context,
  };
  fs.writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
  return file;
}
