import { expect } from 'chai';
import { metaOf, type EntryMeta } from '../../src/contract/manifest.js';

describe('manifest: typed entry facts', () => {
  it("metaOf gives an entry's facts only when the component named wrote them", () => {
    const files = { component: 'files', dir: 'protected' } as unknown as EntryMeta;
    expect(metaOf({ meta: files }, 'files')).to.equal(files);
    expect(metaOf({ meta: files }, 'databases')).to.equal(undefined);
    expect(metaOf({}, 'files')).to.equal(undefined);
    // A foreign or older archive's facts are parsed JSON of any shape.
    for (const foreign of [{ component: 'other' }, 'text', null, 3]) {
      expect(metaOf({ meta: foreign as unknown as EntryMeta }, 'files')).to.equal(undefined);
    }
  });
});
