import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { podExec, podExecOk } from '../../src/kube/pod-exec.js';
import {
  client,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  waitFor,
} from '../helpers/sandbox.js';

/** Our PodExec wrapper on a real apiserver and node: exit codes, EOF, backpressure both ways. */
describe('PodExec on the sandbox', function () {
  this.timeout(10 * 60_000);
  const ns = `podexec-${randomSuffix()}`;
  const kube = () => client(SOURCE);
  let config: KubeConfig;
  const pod = 'shell';

  before(async () => {
    await requireSandbox();
    config = new KubeConfig();
    config.loadFromFile(KUBECONFIG);
    config.setCurrentContext(SOURCE);
    await kube().create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await kube().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: ns },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
    });
    await waitFor('pod Running', async () => {
      const p = await kube().get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod });
      return (p?.status as { phase?: string })?.phase === 'Running' ? true : undefined;
    });
  });
  after(async () => {
    await kube().delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  });

  it('resolves with the exit code and stderr once the command has ended', async () => {
    const r = await podExec(config, {
      namespace: ns,
      pod,
      command: ['sh', '-c', 'echo oops >&2; exit 3'],
    });
    expect(r).to.deep.equal({ exitCode: 3, stderr: 'oops\n' });
    const err = await podExecOk(
      config,
      { namespace: ns, pod, command: ['sh', '-c', 'echo broken dump >&2; exit 4'] },
      'pg_dump',
    ).catch((e) => e);
    expect(err.message).to.equal(`pg_dump failed in pod ${ns}/${pod} (exit code 4): broken dump`);
  });

  it('sends stdin with EOF and receives stdout', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const r = await podExec(config, {
      namespace: ns,
      pod,
      command: ['cat'],
      stdin: [Buffer.from('hello '), Buffer.from('world')],
      stdout: out,
    });
    expect(r.exitCode).to.equal(0);
    expect(Buffer.concat(chunks).toString()).to.equal('hello world');
  });

  it('honours backpressure: a slow consumer of 256 MiB does not grow memory, bytes intact', async () => {
    const size = 256 * 1024 * 1024;
    const hash = createHash('sha256');
    let received = 0;
    let peakRss = 0;
    const slow = new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _e, done) {
        hash.update(chunk);
        received += chunk.length;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (received % (16 * 1024 * 1024) < chunk.length) setTimeout(done, 20);
        else done();
      },
    });
    const before = process.memoryUsage().rss;
    const r = await podExec(config, {
      namespace: ns,
      pod,
      command: ['sh', '-c', `head -c ${size} /dev/zero`],
      stdout: slow,
    });
    expect(r.exitCode).to.equal(0);
    expect(received).to.equal(size);
    expect(hash.digest('hex')).to.equal(
      createHash('sha256').update(Buffer.alloc(size)).digest('hex'),
    );
    expect(peakRss - before, 'memory growth while streaming').to.be.lessThan(128 * 1024 * 1024);
  });

  it('streams 128 MiB into the command and reports its digest', async () => {
    const size = 128 * 1024 * 1024;
    const piece = Buffer.alloc(1024 * 1024, 7);
    const input = (async function* () {
      for (let i = 0; i < size / piece.length; i++) yield piece;
    })();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const r = await podExec(config, {
      namespace: ns,
      pod,
      command: ['sh', '-c', 'sha256sum | cut -d" " -f1'],
      stdin: input,
      stdout: out,
    });
    expect(r.exitCode).to.equal(0);
    const expected = createHash('sha256');
    for (let i = 0; i < size / piece.length; i++) expected.update(piece);
    expect(Buffer.concat(chunks).toString().trim()).to.equal(expected.digest('hex'));
  });

  it('stops an endless command when the reader of its output goes away (no hang)', async () => {
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    let seen = 0;
    out.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen > 1024 * 1024) out.destroy();
    });
    const started = Date.now();
    const err = await podExec(config, {
      namespace: ns,
      pod,
      command: ['cat', '/dev/zero'],
      stdout: out,
    }).catch((e) => e);
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.match(/the reader of its output went away/);
    expect(Date.now() - started).to.be.below(30_000);
  });

  it('fails clearly when the pod does not exist', async () => {
    const err = await podExec(config, { namespace: ns, pod: 'absent', command: ['true'] }).catch(
      (e) => e,
    );
    expect(err.message).to.match(/exec in pod .*absent failed/);
  });
});
