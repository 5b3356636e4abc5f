import { expect } from 'chai';
import { Timings } from '../../src/report/timings.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('restore timings', () => {
  it('adds up the runs of a phase by name, in the order phases first started', async () => {
    const t = new Timings();
    await t.time('verify pass', () => sleep(30));
    await t.time('load postgresql portdb', () => sleep(10));
    await t.time('verify pass', () => sleep(30));
    const [verify, load] = t.toJson();
    expect([verify.name, verify.count, load.name, load.count]).to.deep.equal([
      'verify pass',
      2,
      'load postgresql portdb',
      1,
    ]);
    expect(verify.seconds).to.be.within(0.055, 1);
    expect(load.seconds).to.be.within(0.005, 0.5);
  });

  it('counts a phase that failed, and passes its error on', async () => {
    const t = new Timings();
    const err = await t
      .time('extract resources', async () => {
        await sleep(10);
        throw new Error('tar -x failed');
      })
      .catch((e: Error) => e);
    expect((err as Error).message).to.equal('tar -x failed');
    expect(t.toJson()[0]).to.include({ name: 'extract resources', count: 1 });
  });
});
