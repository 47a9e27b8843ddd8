import assert from 'node:assert/strict';
import type { Storage } from 'botbuilder';

/**
 * The botbuilder Storage contract, run against every store the product can use (JSON file, Blob).
 * `open` gives a fresh, empty store; `reopen` (when given) the same store after a restart.
 */
export function storageContract(name: string, open: () => Promise<Storage>, teardown: (s: Storage) => Promise<void>) {
  describe(`${name}: botbuilder Storage contract`, () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = await open();
    });
    afterEach(async () => {
      await teardown(storage);
    });

    it('reads back only the keys it has, each with an eTag', async () => {
      await storage.write({ a: { n: 1 }, b: { n: 2 } });
      const items = await storage.read(['a', 'missing', 'b']);
      assert.deepEqual(Object.keys(items).sort(), ['a', 'b']);
      assert.equal(items.a.n, 1);
      assert.equal(typeof items.a.eTag, 'string');
      assert.ok(items.a.eTag.length > 0);
    });

    it('returns copies: changing what was read or written changes nothing stored', async () => {
      const original = { list: [1, 2], nested: { x: 'y' } };
      await storage.write({ k: original });
      original.list.push(3);
      const first = await storage.read(['k']);
      first.k.nested.x = 'changed';
      const second = await storage.read(['k']);
      assert.deepEqual(second.k.list, [1, 2]);
      assert.equal(second.k.nested.x, 'y');
    });

    it('gives every write a new eTag and accepts "*" or no eTag', async () => {
      await storage.write({ k: { v: 1 } });
      const e1 = (await storage.read(['k'])).k.eTag;
      await storage.write({ k: { v: 2, eTag: '*' } });
      const e2 = (await storage.read(['k'])).k.eTag;
      await storage.write({ k: { v: 3 } });
      const after = (await storage.read(['k'])).k;
      assert.notEqual(e1, e2);
      assert.notEqual(e2, after.eTag);
      assert.equal(after.v, 3);
    });

    it('accepts the current eTag and rejects a stale one with the standard message', async () => {
      await storage.write({ k: { v: 1 } });
      const read = (await storage.read(['k'])).k;
      await storage.write({ k: { ...read, v: 2 } });
      await assert.rejects(storage.write({ k: { ...read, v: 3 } }), (e: Error) => {
        assert.equal(e.message, 'Storage: error writing "k" due to eTag conflict.');
        return true;
      });
      assert.equal((await storage.read(['k'])).k.v, 2);
    });

    it('deletes, and deleting an unknown key is a no-op', async () => {
      await storage.write({ k: { v: 1 } });
      await storage.delete(['k', 'never-existed']);
      assert.deepEqual(await storage.read(['k']), {});
    });

    it('keeps odd keys apart: unicode, slashes, 1,000 characters', async () => {
      const keys = ['émission/été/ü/日本', 'a/b/c', 'x'.repeat(1000), 'conversation/with spaces & symbols?#%'];
      await storage.write(Object.fromEntries(keys.map((k, i) => [k, { i }])));
      const items = await storage.read(keys);
      keys.forEach((k, i) => assert.equal(items[k]?.i, i, `key ${k.slice(0, 20)}`));
    });

    it('keeps keys apart that differ only in slashes or after their first 1,000 characters', async () => {
      const keys = ['a/b', 'a//b', '/a/b', 'a/b/', 'é'.repeat(1000) + '1', 'é'.repeat(1000) + '2', 'y'.repeat(1500) + '1', 'y'.repeat(1500) + '2'];
      await storage.write(Object.fromEntries(keys.map((k, i) => [k, { i }])));
      const items = await storage.read(keys);
      keys.forEach((k, i) => assert.equal(items[k]?.i, i, `key ${k.slice(0, 20)}…${k.slice(-2)}`));
      await storage.delete([keys[0]!, keys[4]!]);
      assert.deepEqual(Object.keys(await storage.read(keys)).length, keys.length - 2);
    });

    it('stores unicode values exactly', async () => {
      const text = 'Préinscription — 日本語 € 🇨🇦 \u2028 "quoted" \\ end';
      await storage.write({ u: { text } });
      assert.equal((await storage.read(['u'])).u.text, text);
    });

    it('names the caller\'s key in a conflict, even an odd one', async () => {
      const key = 'emulator/conversations/été?#1';
      await storage.write({ [key]: { v: 1 } });
      const read = (await storage.read([key]))[key];
      await storage.write({ [key]: { ...read, v: 2 } });
      await assert.rejects(storage.write({ [key]: { ...read, v: 3 } }), (e: Error) => {
        assert.equal(e.message, `Storage: error writing "${key}" due to eTag conflict.`);
        return true;
      });
    });

    it('reading no keys returns an empty object', async () => {
      assert.deepEqual(await storage.read([]), {});
    });
  });
}
