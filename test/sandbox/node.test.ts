// Tests of the sandbox node (sandbox/node, `sandbox-node`): a kubelet stand-in
// whose pods run as host processes. They need a running sandbox
// (`npm run sandbox up`) and skip themselves when there is none.
//
//   SANDBOX_KUBECONFIG  kubeconfig (default .sandbox/kubeconfig)
//   SANDBOX_CONTEXT     context to test (default sandbox-source)
//   SANDBOX_KUBECTL     kubectl binary (default .sandbox/bin/kubectl)
//   SANDBOX_NODE_PORT   expected kubelet port of the node (default 16250 / 26250 by context)
import { CoordinationV1Api, CoreV1Api, Exec, KubeConfig, V1Status } from '@kubernetes/client-node';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { randomSuffix } from '../helpers/sandbox.js';

const KUBECONFIG = path.resolve(process.env.SANDBOX_KUBECONFIG ?? '.sandbox/kubeconfig');
const CONTEXT = process.env.SANDBOX_CONTEXT ?? 'sandbox-source';
const KUBECTL = path.resolve(process.env.SANDBOX_KUBECTL ?? '.sandbox/bin/kubectl');
const NODE_PORTS: Record<string, number> = { 'sandbox-source': 16250, 'sandbox-target': 26250 };
const GiB = 1024 * 1024 * 1024;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the sandbox kubectl against the tested context. */
function kubectl(
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; context?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      KUBECTL,
      ['--kubeconfig', KUBECONFIG, '--context', opts.context ?? CONTEXT, ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

async function kubectlOk(args: string[], opts: { input?: string; timeoutMs?: number } = {}) {
  const r = await kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (or throws the last error). */
async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = new Error('condition never became true');
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(300);
  }
  throw last;
}

function collector() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** A TCP server on an ephemeral loopback port: greets with a banner, then echoes. */
async function echoServer(banner: string): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(banner + '\n');
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Connects to a local port, reads the banner line, sends data and reads its echo. */
function talk(port: number, payload: Buffer): Promise<{ banner: string; echo: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let banner: string | undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete answer on port ${port} (got ${buf.length} bytes)`));
    }, 30_000);
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (banner === undefined) {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        banner = buf.subarray(0, nl).toString();
        buf = buf.subarray(nl + 1);
        sock.write(payload);
      }
      if (buf.length >= payload.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve({ banner, echo: buf });
      }
    });
  });
}

/** Starts `kubectl port-forward` and returns the local port it listens on. */
async function portForward(target: string, remotePort: number, ns: string) {
  const child = spawn(
    KUBECTL,
    [
      '--kubeconfig',
      KUBECONFIG,
      '--context',
      CONTEXT,
      '-n',
      ns,
      'port-forward',
      '--address',
      '127.0.0.1',
      target,
      `:${remotePort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const local = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 20_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`port-forward exited: ${out}`)));
  });
  return { local, stop: () => child.kill('SIGTERM') };
}

describe('sandbox node (sandbox-node)', function () {
  this.timeout(120_000);

  const ns = `node-test-${randomSuffix()}`;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let nodeName: string;
  let echo: { port: number; close: () => void };
  let otherContext: string | undefined;

  before(async function () {
    if (!fs.existsSync(KUBECONFIG) || !fs.existsSync(KUBECTL)) {
      console.log(`      (no sandbox at ${KUBECONFIG}; run: npm run sandbox up)`);
      this.skip();
    }
    kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    kc.setCurrentContext(CONTEXT);
    core = kc.makeApiClient(CoreV1Api);
    const nodes = await core.listNode({ labelSelector: 'sandbox.entando.org/node=true' });
    if (nodes.items.length === 0) {
      console.log(`      (context ${CONTEXT} has no sandbox node; is scripts/lib/node.sh in use?)`);
      this.skip();
    }
    nodeName = nodes.items[0].metadata!.name!;
    echo = await echoServer('hello from the host');

    const container = (name: string, extra: object = {}) => ({
      name,
      image: 'entando/entando-de-app-wildfly:7.3.0',
      ...extra,
    });
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'creds', namespace: ns },
        stringData: { password: 's3cret' },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg', namespace: ns },
        data: { 'app.properties': 'mode=test\n', mode: 'test' },
      },
      ...['data-a', 'data-b', 'data-s', 'scratch'].map((name) => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: name === 'data-b' ? '2Gi' : '1Gi' } },
        },
      })),
      ...['a', 'b'].map((p) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p, namespace: ns },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [
            container('main', {
              workingDir: '/entando-data',
              env: [
                { name: 'FOO', value: 'bar' },
                { name: 'REF', value: '$(FOO)-x' },
                {
                  name: 'SECRET_PW',
                  valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } },
                },
                {
                  name: 'MODE_FILE',
                  valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } },
                },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              volumeMounts: [
                { name: 'data', mountPath: '/entando-data' },
                { name: 'cfg', mountPath: '/etc/sandbox-test-config' },
                { name: 'scratch', mountPath: '/sandbox-test-scratch' },
              ],
            }),
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: `data-${p}` } },
            { name: 'cfg', configMap: { name: 'cfg' } },
            { name: 'scratch', emptyDir: {} },
          ],
        },
      })),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'runner', namespace: ns },
        spec: {
          containers: [
            container('proc', {
              command: [
                'sh',
                '-c',
                // $$$$ is a literal $$ after Kubernetes' $(VAR) expansion
                'echo $$$$ > /sandbox-test-state/pid; echo hello from runner; echo to-stderr >&2; exec sleep 3600',
              ],
              volumeMounts: [{ name: 'state', mountPath: '/sandbox-test-state' }],
            }),
          ],
          volumes: [{ name: 'state', emptyDir: {} }],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'once', namespace: ns },
        spec: {
          restartPolicy: 'Never',
          containers: [container('job', { command: ['sh', '-c', 'echo bye; exit 7'] })],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'crasher', namespace: ns },
        spec: {
          restartPolicy: 'Always',
          containers: [container('crash', { command: ['sh', '-c', 'exit 1'] })],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'pf',
          namespace: ns,
          annotations: { 'sandbox.entando.org/port-map': `5432:${echo.port},8080:1` },
        },
        spec: { containers: [container('db', { ports: [{ containerPort: 5432 }] })] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'scaler', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'scaler' } },
          template: {
            metadata: { labels: { app: 'scaler' } },
            spec: {
              containers: [
                container('app', { volumeMounts: [{ name: 'data', mountPath: '/entando-data' }] }),
              ],
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-s' } }],
            },
          },
        },
      },
    ];
    await kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    });
    await kubectlOk(
      ['-n', ns, 'wait', '--for=condition=Ready', 'pod/a', 'pod/b', 'pod/runner', 'pod/pf'],
      { timeoutMs: 90_000 },
    );
  });

  after(async function () {
    echo?.close();
    if (core) await kubectl(['delete', 'namespace', ns, '--wait=false']);
    if (otherContext)
      await kubectl(['delete', 'namespace', ns, '--wait=false'], { context: otherContext });
  });

  describe('node registration', function () {
    it('registers a Ready Node with the sandbox capacity, InternalIP 127.0.0.1 and its kubelet port', async function () {
      const node = await core.readNode({ name: nodeName });
      const ready = node.status!.conditions!.find((c) => c.type === 'Ready');
      expect(ready?.status).to.equal('True');
      expect(node.status!.capacity).to.include({ cpu: '32', memory: '64Gi', pods: '110' });
      expect(node.status!.addresses).to.deep.include({ type: 'InternalIP', address: '127.0.0.1' });
      const port = node.status!.daemonEndpoints!.kubeletEndpoint!.Port;
      const want = Number(process.env.SANDBOX_NODE_PORT ?? NODE_PORTS[CONTEXT] ?? 0);
      if (want) expect(port).to.equal(want);
      else expect(port).to.be.greaterThan(0);
      expect(node.spec?.taints ?? []).to.deep.equal([]);
    });

    it('renews its Lease in kube-node-lease about every 10s', async function () {
      const leases = kc.makeApiClient(CoordinationV1Api);
      const read = async () =>
        new Date(
          (await leases.readNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' })).spec!
            .renewTime as unknown as string,
        ).getTime();
      const first = await read();
      const renewed = await eventually(async () => (await read()) > first, 20_000);
      expect(renewed).to.equal(true);
    });
  });

  describe('pods', function () {
    it('reports pods Running and Ready with pod and host IP 127.0.0.1', async function () {
      const pod = await core.readNamespacedPod({ name: 'a', namespace: ns });
      expect(pod.spec!.nodeName).to.equal(nodeName);
      expect(pod.status!.phase).to.equal('Running');
      expect(pod.status!.podIP).to.equal('127.0.0.1');
      expect(pod.status!.hostIP).to.equal('127.0.0.1');
      const cs = pod.status!.containerStatuses![0];
      expect(cs.ready).to.equal(true);
      expect(cs.state!.running).to.not.equal(undefined);
      expect(cs.containerID).to.match(/^sandbox:\/\//);
      expect(cs.imageID).to.be.a('string').and.not.equal('');
    });

    it('runs a container that has a command as a host process, with its output as logs, and kills it on delete', async function () {
      const pid = Number(
        (
          await kubectlOk(['-n', ns, 'exec', 'runner', '--', 'cat', '/sandbox-test-state/pid'])
        ).trim(),
      );
      expect(pid).to.be.greaterThan(1);
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).to.contain('sleep');
      const logs = await eventually(async () => {
        const l = await kubectlOk(['-n', ns, 'logs', 'runner']);
        return l.includes('to-stderr') && l;
      }, 10_000);
      expect(logs).to.contain('hello from runner');
      expect(await kubectlOk(['-n', ns, 'logs', 'runner', '--tail=1'])).to.equal('to-stderr\n');

      const started = Date.now();
      await kubectlOk(['-n', ns, 'delete', 'pod', 'runner', '--wait=true'], { timeoutMs: 60_000 });
      expect(Date.now() - started).to.be.lessThan(20_000);
      expect(() => process.kill(pid, 0)).to.throw(/ESRCH/);
    });

    it('reflects a process exit in the pod status and respects restartPolicy', async function () {
      const once = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: 'once', namespace: ns });
        return p.status?.phase === 'Failed' && p;
      }, 30_000);
      expect(once.status!.containerStatuses![0].state!.terminated!.exitCode).to.equal(7);
      expect((await kubectlOk(['-n', ns, 'logs', 'once'])).trim()).to.equal('bye');
      const restarts = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: 'crasher', namespace: ns });
        const n = p.status?.containerStatuses?.[0]?.restartCount ?? 0;
        return n >= 1 && n;
      }, 30_000);
      expect(restarts).to.be.at.least(1);
    });
  });

  describe('volumes', function () {
    it('provisions a Retain hostPath PV sandbox-pv-<ns>-<pvc> bound to each claim', async function () {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'data-b', namespace: ns });
      expect(pvc.status!.phase).to.equal('Bound');
      expect(pvc.spec!.volumeName).to.equal(`sandbox-pv-${ns}-data-b`);
      const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
      expect(pv.status!.phase).to.equal('Bound');
      expect(pv.spec!.capacity!.storage).to.equal('2Gi');
      expect(pv.spec!.accessModes).to.deep.equal(['ReadWriteOnce']);
      expect(pv.spec!.persistentVolumeReclaimPolicy).to.equal('Retain');
      expect(pv.spec!.claimRef).to.include({
        namespace: ns,
        name: 'data-b',
        uid: pvc.metadata!.uid,
      });
      const dir = pv.spec!.hostPath!.path;
      expect(dir.endsWith(`/${ns}/data-b`)).to.equal(true);
      expect(fs.statSync(dir).isDirectory()).to.equal(true);
    });

    it('gives each pod its own view: concurrent execs in two pods see different /entando-data', async function () {
      const file = `id-${randomBytes(4).toString('hex')}`;
      await kubectlOk(['-n', ns, 'exec', 'a', '--', 'sh', '-c', `echo A > /entando-data/${file}`]);
      await kubectlOk(['-n', ns, 'exec', 'b', '--', 'sh', '-c', `echo B > /entando-data/${file}`]);
      const [ra, rb] = await Promise.all(
        ['a', 'b'].map((p) =>
          kubectlOk(['-n', ns, 'exec', p, '--', 'sh', '-c', `sleep 1; cat /entando-data/${file}`]),
        ),
      );
      expect([ra, rb]).to.deep.equal(['A\n', 'B\n']);
      // The data is in the claim's volume directory, and the host's own
      // filesystem is not touched by the pod's mount.
      const pv = await core.readPersistentVolume({ name: `sandbox-pv-${ns}-data-a` });
      expect(fs.readFileSync(path.join(pv.spec!.hostPath!.path, file), 'utf8')).to.equal('A\n');
      expect(fs.existsSync(`/entando-data/${file}`)).to.equal(false);
    });

    it('mounts configMap and emptyDir volumes, and sets env and working directory from the spec', async function () {
      const out = await kubectlOk([
        '-n',
        ns,
        'exec',
        'a',
        '--',
        'sh',
        '-c',
        'pwd; echo "$FOO $REF $SECRET_PW $POD_NAME $MODE_FILE"; cat /etc/sandbox-test-config/app.properties; ' +
          'echo x > /sandbox-test-scratch/f && cat /sandbox-test-scratch/f; command -v tar',
      ]);
      const lines = out.split('\n');
      expect(lines[0]).to.equal('/entando-data');
      expect(lines[1]).to.equal('bar bar-x s3cret a test');
      expect(lines[2]).to.equal('mode=test');
      expect(lines[3]).to.equal('x');
      expect(lines[4]).to.match(/\/tar$/);
      const other = await kubectl(['-n', ns, 'exec', 'b', '--', 'cat', '/sandbox-test-scratch/f']);
      expect(other.code).to.not.equal(0); // emptyDirs are per pod
    });

    it('keeps claim data when a Deployment scales to 0 and back', async function () {
      this.timeout(180_000);
      await kubectlOk(['-n', ns, 'rollout', 'status', 'deploy/scaler', '--timeout=60s'], {
        timeoutMs: 70_000,
      });
      await kubectlOk([
        '-n',
        ns,
        'exec',
        'deploy/scaler',
        '--',
        'sh',
        '-c',
        'echo kept > /entando-data/k',
      ]);
      await kubectlOk(['-n', ns, 'scale', 'deploy/scaler', '--replicas=0']);
      await kubectlOk(
        ['-n', ns, 'wait', '--for=delete', 'pod', '-l', 'app=scaler', '--timeout=60s'],
        { timeoutMs: 70_000 },
      );
      await kubectlOk(['-n', ns, 'scale', 'deploy/scaler', '--replicas=1']);
      await kubectlOk(['-n', ns, 'rollout', 'status', 'deploy/scaler', '--timeout=60s'], {
        timeoutMs: 70_000,
      });
      expect(
        await kubectlOk(['-n', ns, 'exec', 'deploy/scaler', '--', 'cat', '/entando-data/k']),
      ).to.equal('kept\n');
    });

    it('keeps the two clusters apart: the same claim gets a different directory on the other cluster', async function () {
      const other = CONTEXT === 'sandbox-source' ? 'sandbox-target' : 'sandbox-source';
      if (!kc.getContexts().some((c) => c.name === other)) this.skip();
      const okc = new KubeConfig();
      okc.loadFromFile(KUBECONFIG);
      okc.setCurrentContext(other);
      const ocore = okc.makeApiClient(CoreV1Api);
      const onodes = await ocore.listNode({ labelSelector: 'sandbox.entando.org/node=true' });
      if (onodes.items.length === 0) this.skip();
      otherContext = other;
      const claim = {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'data-a', namespace: ns },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      };
      const r = await kubectl(['apply', '-f', '-'], {
        input: JSON.stringify(claim),
        context: other,
      });
      expect(r.code, r.stderr).to.equal(0);
      const pvName = `sandbox-pv-${ns}-data-a`;
      const [mine, theirs] = await Promise.all([
        core.readPersistentVolume({ name: pvName }),
        eventually(() => ocore.readPersistentVolume({ name: pvName }), 30_000),
      ]);
      const a = mine.spec!.hostPath!.path;
      const b = theirs.spec!.hostPath!.path;
      expect(a).to.not.equal(b);
      fs.writeFileSync(path.join(a, 'only-here'), 'x');
      expect(fs.existsSync(path.join(b, 'only-here'))).to.equal(false);
    });

    it('deletes the PV and its directory when the claim is deleted', async function () {
      const pvName = `sandbox-pv-${ns}-scratch`;
      const pv = await eventually(() => core.readPersistentVolume({ name: pvName }), 30_000);
      const dir = pv.spec!.hostPath!.path;
      fs.writeFileSync(path.join(dir, 'junk'), 'x');
      await kubectlOk(['-n', ns, 'delete', 'pvc', 'scratch']);
      await eventually(async () => {
        try {
          await core.readPersistentVolume({ name: pvName });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      }, 30_000);
      await eventually(async () => !fs.existsSync(dir), 10_000);
    });
  });

  describe('exec', function () {
    function clientExec(
      pod: string,
      container: string,
      cmd: string[],
      stdin: Readable | null = null,
    ) {
      const out = collector();
      const err = collector();
      return new Promise<{ status?: V1Status; stdout: string; stderr: string }>(
        (resolve, reject) => {
          let status: V1Status | undefined;
          const timer = setTimeout(() => reject(new Error('exec did not finish')), 60_000);
          new Exec(kc)
            .exec(ns, pod, container, cmd, out.stream, err.stream, stdin, false, (s) => {
              status = s;
            })
            .then((ws) =>
              ws.on('close', () => {
                clearTimeout(timer);
                resolve({ status, stdout: out.text(), stderr: err.text() });
              }),
            )
            .catch(reject);
        },
      );
    }

    it('passes the exit code to kubectl: sh -c "exit 3" exits 3', async function () {
      const r = await kubectl(['-n', ns, 'exec', 'a', '--', 'sh', '-c', 'exit 3']);
      expect(r.code).to.equal(3);
      const ok = await kubectl(['-n', ns, 'exec', 'a', '--', 'true']);
      expect(ok.code).to.equal(0);
    });

    it('reports NonZeroExitCode with ExitCode 3 on the client-node status channel', async function () {
      const r = await clientExec('a', 'main', ['sh', '-c', 'exit 3']);
      expect(r.status?.status).to.equal('Failure');
      expect(r.status?.reason).to.equal('NonZeroExitCode');
      expect(r.status?.details?.causes).to.deep.include({ reason: 'ExitCode', message: '3' });
      const ok = await clientExec('a', 'main', ['true']);
      expect(ok.status?.status).to.equal('Success');
    });

    it('delivers stdin EOF to the command (kubectl exec -i ... cat)', async function () {
      const r = await kubectl(['-n', ns, 'exec', '-i', 'a', '--', 'cat'], {
        input: 'x',
        timeoutMs: 30_000,
      });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal('x');
    });

    it('delivers stdin EOF through client-node too', async function () {
      const r = await clientExec(
        'a',
        'main',
        ['sh', '-c', 'cat; echo done'],
        Readable.from([Buffer.from('x')]),
      );
      expect(r.stdout).to.equal('xdone\n');
      expect(r.status?.status).to.equal('Success');
    });

    it('keeps stdout and stderr separate', async function () {
      const cmd = ['sh', '-c', 'echo out; echo err >&2; echo out2; echo err2 >&2'];
      const r = await kubectl(['-n', ns, 'exec', 'a', '--', ...cmd]);
      expect(r.stdout).to.equal('out\nout2\n');
      expect(r.stderr).to.equal('err\nerr2\n');
      const c = await clientExec('a', 'main', cmd);
      expect(c.stdout).to.equal('out\nout2\n');
      expect(c.stderr).to.equal('err\nerr2\n');
    });

    it('fails a command that does not exist with exit code 127', async function () {
      const r = await kubectl(['-n', ns, 'exec', 'a', '--', 'no-such-command-here']);
      expect(r.code).to.equal(127);
      expect(r.stderr).to.contain('executable file not found');
    });

    it('streams 1 GiB out of a pod intact', async function () {
      this.timeout(600_000);
      // One retry: on a loaded 2-core machine (two sandboxes at once) kubectl exec once exited 1
      // after streaming; the bytes and digests are still checked on every attempt.
      this.retries(1);
      const started = Date.now();
      const local = createHash('sha256');
      let bytes = 0;
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
        (resolve, reject) => {
          const child = spawn(
            KUBECTL,
            [
              '--kubeconfig',
              KUBECONFIG,
              '--context',
              CONTEXT,
              '-n',
              ns,
              'exec',
              'a',
              '--',
              'sh',
              '-c',
              // fd 3 is the exec's stdout; the pipe's tail hashes the same bytes
              `exec 3>&1; head -c ${GiB} /dev/urandom | tee /dev/fd/3 | sha256sum >&2`,
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let err = '';
          child.stdout.on('data', (c: Buffer) => {
            local.update(c);
            bytes += c.length;
          });
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.on('error', reject);
          child.on('close', (c) => resolve({ code: c, stderr: err }));
        },
      );
      const secs = (Date.now() - started) / 1000;
      console.log(
        `      1 GiB out of the pod in ${secs.toFixed(1)}s (${(1024 / secs).toFixed(0)} MiB/s)`,
      );
      expect(code, stderr.slice(-500)).to.equal(0);
      expect(bytes).to.equal(GiB);
      expect(stderr.split(/\s/)[0]).to.equal(local.digest('hex'));
    });

    it('streams 1 GiB into a pod intact', async function () {
      this.timeout(600_000);
      // One retry: on a loaded 2-core machine (two sandboxes at once) kubectl exec once exited 1
      // after streaming; the bytes and digests are still checked on every attempt.
      this.retries(1);
      const started = Date.now();
      const local = createHash('sha256');
      const r = await new Promise<Run>((resolve, reject) => {
        const child = spawn(
          KUBECTL,
          [
            '--kubeconfig',
            KUBECONFIG,
            '--context',
            CONTEXT,
            '-n',
            ns,
            'exec',
            '-i',
            'a',
            '--',
            'sha256sum',
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        const chunk = 1024 * 1024;
        let sent = 0;
        const pump = () => {
          while (sent < GiB) {
            const buf = randomBytes(chunk);
            local.update(buf);
            sent += chunk;
            if (!child.stdin.write(buf)) {
              child.stdin.once('drain', pump);
              return;
            }
          }
          child.stdin.end();
        };
        child.stdin.on('error', reject);
        pump();
      });
      const secs = (Date.now() - started) / 1000;
      console.log(
        `      1 GiB into the pod in ${secs.toFixed(1)}s (${(1024 / secs).toFixed(0)} MiB/s)`,
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.split(/\s/)[0]).to.equal(local.digest('hex'));
    });
  });

  describe('port-forward', function () {
    it('reaches 127.0.0.1:<port> on the host for an unmapped pod port', async function () {
      const pf = await portForward('pod/pf', echo.port, ns);
      try {
        const payload = randomBytes(1024 * 1024);
        const r = await talk(pf.local, payload);
        expect(r.banner).to.equal('hello from the host');
        expect(r.echo.equals(payload)).to.equal(true);
      } finally {
        pf.stop();
      }
    });

    it('maps a container port to a host port with the sandbox.entando.org/port-map annotation', async function () {
      const pf = await portForward('pod/pf', 5432, ns);
      try {
        const payload = randomBytes(64 * 1024);
        const r = await talk(pf.local, payload);
        expect(r.banner).to.equal('hello from the host');
        expect(r.echo.equals(payload)).to.equal(true);
      } finally {
        pf.stop();
      }
    });
  });
});
