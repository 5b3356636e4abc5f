import { expect } from 'chai';
import { retryingTransport } from '../../sandbox/fixture/kubectl.js';

describe('sandbox fixture: a read-only exec run again on a reset stream', () => {
  it('runs again after a reset, and returns what the next run read', async () => {
    let runs = 0;
    const read = await retryingTransport(async () => {
      runs++;
      if (runs === 1) throw new Error('exit 1: read: connection reset by peer');
      return 'tree';
    });
    expect([read, runs]).to.deep.equal(['tree', 2]);
  });

  it('does not run again on any other failure', async () => {
    let runs = 0;
    const failed = await retryingTransport(async () => {
      runs++;
      throw new Error('exit 2: tar: /entando-data: No such file or directory');
    }).catch((e: Error) => e.message);
    expect([failed, runs]).to.deep.equal([
      'exit 2: tar: /entando-data: No such file or directory',
      1,
    ]);
  });

  it('gives up after three runs', async () => {
    let runs = 0;
    const failed = await retryingTransport(async () => {
      runs++;
      throw new Error('error reading from error stream');
    }).catch((e: Error) => e.message);
    expect([failed, runs]).to.deep.equal(['error reading from error stream', 3]);
  });
});
