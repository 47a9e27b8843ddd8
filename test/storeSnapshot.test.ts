import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { StoreFileCorruptError } from '../src/storage/durableFile.js';

/** The snapshot format that lets a large store open fast: one item per line, values read lazily. */
describe('DurableJsonStorage snapshot (store.json, format 2)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carm-snapshot-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const oddKeys = [
    'emulator/conversations/plain/',
    'key with "quotes" and \\backslashes\\',
    'a":{"b',
    'line\nbreak\ttab',
    'émission/日本/🇨🇦',
    'x'.repeat(1000),
    'onboarding-progress/emulator/u%2F1'
  ];
  const value = (i: number) => ({ i, text: `Bonjour « ${i} » 🙂 \u2028 "quoted" \\ back`, nested: { list: [1, 'two', null], empty: {} } });

  it('round-trips odd keys and values through close and reopen, and store.json stays one JSON document', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write(Object.fromEntries(oddKeys.map((k, i) => [k, value(i)])));
    await s.close();
    const document = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    assert.equal(document.format, 2);
    assert.deepEqual(Object.keys(document.items).sort(), [...oddKeys].sort());
    assert.equal(document.count, oddKeys.length);
    const again = await DurableJsonStorage.open(dir);
    const items = await again.read(oddKeys);
    oddKeys.forEach((k, i) => {
      const { eTag, ...rest } = items[k]!;
      assert.deepEqual(rest, value(i), k.slice(0, 30));
      assert.equal(typeof eTag, 'string');
    });
    await again.close();
  });

  it('items never read since the store opened are written back byte for byte by the next compaction', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write(Object.fromEntries(oddKeys.map((k, i) => [k, value(i)])));
    await s.close();
    const before = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).items;
    // Open, change one item, leave the others untouched (still bytes from the file), close: compaction.
    const again = await DurableJsonStorage.open(dir);
    await again.write({ [oddKeys[0]!]: { changed: true } });
    await again.delete([oddKeys[1]!]);
    await again.close();
    const after = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).items;
    assert.equal(after[oddKeys[0]!].changed, true);
    assert.equal(after[oddKeys[1]!], undefined);
    for (const k of oddKeys.slice(2)) assert.deepEqual(after[k], before[k]);
    const third = await DurableJsonStorage.open(dir);
    assert.equal((await third.read([oddKeys[3]!]))[oddKeys[3]!]!.i, 3);
    assert.equal(third.size, oddKeys.length - 1);
    await third.close();
  });

  it('an eTag check works on an item still in the file\'s bytes', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write({ k: { v: 1 } });
    await s.close();
    const again = await DurableJsonStorage.open(dir);
    await assert.rejects(again.write({ k: { v: 2, eTag: 'stale' } }), /eTag conflict/);
    const current = (await again.read(['k'])).k!;
    await again.write({ k: { ...current, v: 3 } });
    assert.equal((await again.read(['k'])).k!.v, 3);
    await again.close();
  });

  it('a stop after nothing was written leaves store.json as it was (no rewrite of every user)', async () => {
    const first = await DurableJsonStorage.open(dir);
    await first.write({ a: { v: 1 } });
    await first.close();
    const before = await stat(join(dir, 'store.json'));
    const idle = await DurableJsonStorage.open(dir);
    assert.deepEqual((await idle.read(['a'])).a?.v, 1);
    await idle.close();
    const after = await stat(join(dir, 'store.json'));
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  it('an empty store round-trips', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.close();
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).items, {});
    const again = await DurableJsonStorage.open(dir);
    assert.equal(again.size, 0);
    await again.close();
  });

  it('still reads a format 1 store (values as JSON strings) and rewrites it as format 2', async () => {
    await writeFile(join(dir, 'store.json'), JSON.stringify({ format: 1, items: { a: JSON.stringify({ v: 1, eTag: 'e1' }), 'b/ü': JSON.stringify({ v: 2 }) } }));
    const s = await DurableJsonStorage.open(dir);
    assert.deepEqual((await s.read(['a'])).a, { v: 1, eTag: 'e1' });
    await s.close();
    const document = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    assert.equal(document.format, 2);
    assert.deepEqual(document.items['b/ü'], { v: 2 });
  });

  for (const [name, damage] of [
    ['a changed byte inside a value', (b: Buffer) => (b[Math.floor(b.length / 2)] ^= 0x01, b)],
    ['a file cut short', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.7))],
    ['a missing last line', (b: Buffer) => b.subarray(0, b.lastIndexOf('\n}') + 1)],
    ['a line removed', (b: Buffer) => {
      const first = b.indexOf('\n') + 1;
      return Buffer.concat([b.subarray(0, first), b.subarray(b.indexOf('\n', first) + 1)]);
    }]
  ] as const) {
    it(`${name} stops the start with the file named, and the file is left as it was`, async () => {
      const s = await DurableJsonStorage.open(dir);
      await s.write(Object.fromEntries(oddKeys.map((k, i) => [k, value(i)])));
      await s.close();
      const file = join(dir, 'store.json');
      const damaged = damage(await readFile(file));
      await writeFile(file, damaged);
      await assert.rejects(DurableJsonStorage.open(dir), (e: Error) => e instanceof StoreFileCorruptError && e.message.includes(file));
      assert.deepEqual(await readFile(file), damaged);
    });
  }
});
