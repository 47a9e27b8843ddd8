import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { mkdtemp, rm, readFile, readdir, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, TestAdapter, TurnContext, type Storage, type StoreItems } from 'botbuilder';
import { LeanConversationState } from '../src/storage/leanConversationState.js';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { DataDirLockedError } from '../src/storage/dataDirLock.js';
import { StoreFileCorruptError } from '../src/storage/durableFile.js';
import { storageContract } from './support/storageContract.js';
import { writeAllSync } from '../src/util/writeAllSync.js';

/** Leaves the store as a killed process would: no flush of the snapshot, lock file left behind. */
async function crashed(s: DurableJsonStorage): Promise<void> {
  const inner = s as unknown as { journal: { close(): Promise<void> }; lock: { release(): Promise<void> } };
  await inner.journal.close();
  await inner.lock.release();
}

const dirs = new Map<Storage, string>();
storageContract(
  'DurableJsonStorage',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carm-store-'));
    const s = await DurableJsonStorage.open(dir);
    dirs.set(s, dir);
    return s;
  },
  async (s) => {
    await (s as DurableJsonStorage).close();
    await rm(dirs.get(s)!, { recursive: true, force: true });
  }
);

describe('DurableJsonStorage: durability and safety', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carm-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a write is in the journal on disk by the time it resolves, and survives a restart', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write({ user: { step: 3 } });
    const journal = await readFile(join(dir, 'store.journal'), 'utf8');
    assert.match(journal, /"user"/);
    // No close(): as after a crash, the next process replays the journal.
    await crashed(s);
    const again = await DurableJsonStorage.open(dir);
    assert.equal((await again.read(['user'])).user.step, 3);
    await again.close();
  });

  it('coalesces concurrent writes into few appends', async () => {
    const s = await DurableJsonStorage.open(dir);
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.write({ [`k${i}`]: { i } })));
    assert.equal(s.size, 200);
    await s.close();
    const again = await DurableJsonStorage.open(dir);
    assert.equal((await again.read(['k199'])).k199.i, 199);
    await again.close();
  });

  it('compacts the journal into the lowdb snapshot and keeps every item', async () => {
    const s = await DurableJsonStorage.open(dir, { compactAfterBytes: 2048 });
    for (let i = 0; i < 100; i++) await s.write({ [`k${i % 10}`]: { i, pad: 'x'.repeat(50) } });
    await s.close();
    const snapshot = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    assert.equal(Object.keys(snapshot.items).length, 10);
    const again = await DurableJsonStorage.open(dir);
    assert.equal((await again.read(['k9'])).k9.i, 99);
    await again.close();
  });

  it('ignores a torn last journal line (never acknowledged) and appends cleanly after it', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write({ kept: { v: 1 } });
    await crashed(s);
    await appendFile(join(dir, 'store.journal'), '{"w":{"torn":"{\\"v\\":');
    const again = await DurableJsonStorage.open(dir);
    assert.deepEqual(Object.keys(await again.read(['kept', 'torn'])), ['kept']);
    await again.write({ after: { v: 2 } });
    await again.close();
    const third = await DurableJsonStorage.open(dir);
    assert.deepEqual(Object.keys(await third.read(['kept', 'after'])).sort(), ['after', 'kept']);
    await third.close();
  });

  it('removes the temp file of a snapshot rewrite a killed process left, and keeps the data', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write({ kept: { v: 1 } });
    await crashed(s);
    await writeFile(join(dir, '.store.json.999999.tmp'), '{"format":1,"items":{"half');
    const again = await DurableJsonStorage.open(dir);
    assert.equal((await again.read(['kept'])).kept.v, 1);
    assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.tmp')));
    await again.close();
  });

  it('refuses a second instance on the same data directory with a clear message', async () => {
    const s = await DurableJsonStorage.open(dir);
    await assert.rejects(DurableJsonStorage.open(dir), (e: Error) => e instanceof DataDirLockedError && /already using the data directory/.test(e.message));
    await s.close();
    const after = await DurableJsonStorage.open(dir);
    await after.close();
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    await writeFile(join(dir, 'store.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname() }));
    const s = await DurableJsonStorage.open(dir);
    await s.close();
  });

  it('refuses a lock another host refreshed recently, and takes over one whose heartbeat stopped', async () => {
    const { utimes } = await import('node:fs/promises');
    const lockFile = join(dir, 'store.lock');
    await writeFile(lockFile, JSON.stringify({ pid: 4242, host: 'other-container' }));
    await assert.rejects(DurableJsonStorage.open(dir), (e: Error) => e instanceof DataDirLockedError && /in use by host other-container/.test(e.message));
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lockFile, longAgo, longAgo);
    const s = await DurableJsonStorage.open(dir);
    await s.close();
  });

  it('a store file that does not parse stops the start, names the file, and is left untouched', async () => {
    const bad = '{"format":1,"items":{"a":';
    await writeFile(join(dir, 'store.json'), bad);
    await assert.rejects(DurableJsonStorage.open(dir), (e: Error) => e instanceof StoreFileCorruptError && e.message.includes(join(dir, 'store.json')));
    assert.equal(await readFile(join(dir, 'store.json'), 'utf8'), bad);
    // The failed start released its lock: fixing the file is enough to start again.
    await writeFile(join(dir, 'store.json'), '{"format":1,"items":{}}');
    const s = await DurableJsonStorage.open(dir);
    await s.close();
  });

  it('a corrupt line inside the journal stops the start instead of dropping later writes', async () => {
    await writeFile(join(dir, 'store.journal'), '{"w":{"a":"{}"}}\nnot json\n{"w":{"b":"{}"}}\n');
    await assert.rejects(DurableJsonStorage.open(dir), (e: Error) => e instanceof StoreFileCorruptError && e.message.includes('store.journal'));
  });

  it('a write the disk refuses (full mid-write) is not acknowledged, not served, leaves no torn line, and the store goes on', async () => {
    let failures = 0;
    const s = await DurableJsonStorage.open(dir, {
      writeJournal: (fd, buffer) => {
        if (failures === 0) return writeAllSync(fd, buffer);
        failures--;
        writeSync(fd, buffer, 0, Math.floor(buffer.length / 2)); // half of it reaches the file
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
    });
    const step = async (key: string) => ((await s.read([key]))[key] as { step?: number } | undefined)?.step;
    await s.write({ u1: { step: 1 }, u4: { step: 1 } });

    // The first write fails alone (its batch starts at once); the two calls made meanwhile share the
    // next batch, which fails too. Two writes of one record, a new record, a delete: none of it stays.
    failures = 2;
    const failed = [s.write({ u1: { step: 2 } }), s.write({ u1: { step: 3 }, u2: { step: 1 } }), s.delete(['u4'])];
    for (const f of failed) await assert.rejects(f, /ENOSPC/);
    assert.deepEqual([await step('u1'), await step('u2'), await step('u4')], [1, undefined, 1]);

    // A write queued behind a failing batch lands, and is what stays.
    failures = 1;
    const first = s.write({ u1: { step: 5 } });
    const second = s.write({ u1: { step: 6 } });
    await assert.rejects(first, /ENOSPC/);
    await second;
    assert.equal(await step('u1'), 6);

    await s.write({ u3: { step: 7 } });
    // A crash now: the journal is replayed as it is on disk, with nothing of the refused writes in it.
    await crashed(s);
    const reopened = await DurableJsonStorage.open(dir);
    const found = await reopened.read(['u1', 'u2', 'u3', 'u4']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(found).map(([k, v]) => [k, (v as { step: number }).step])),
      { u1: 6, u3: 7, u4: 1 }
    );
    await reopened.close();
  });

  it('a snapshot rewritten while a write waits for the disk holds only what is on disk', async () => {
    let failures = 0;
    const s = await DurableJsonStorage.open(dir, {
      compactAfterBytes: 1,
      writeJournal: (fd, buffer) => {
        if (failures-- <= 0) return writeAllSync(fd, buffer);
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
    });
    const first = s.write({ kept: { step: 1, padding: 'x'.repeat(2000) } }); // written now, then a rewrite
    failures = 1;
    const refused = s.write({ refused: { step: 2 } }); // waits through the rewrite, then fails
    await first;
    await assert.rejects(refused, /EIO/);
    await crashed(s);
    const reopened = await DurableJsonStorage.open(dir);
    assert.deepEqual(Object.keys(await reopened.read(['kept', 'refused'])), ['kept']);
    await reopened.close();
  });

  it('applies nothing from a batch that has one stale eTag', async () => {
    const s = await DurableJsonStorage.open(dir);
    await s.write({ a: { v: 1 }, b: { v: 1 } });
    const { a } = await s.read(['a']);
    await s.write({ a: { v: 2 } });
    await assert.rejects(s.write({ b: { v: 9 }, a: { ...a, v: 3 } }));
    assert.equal((await s.read(['b'])).b.v, 1);
    await s.close();
  });
});

describe('LeanConversationState: conversation state with a cheap change check', () => {
  /** MemoryStorage, counting writes. */
  function counted() {
    const memory = new MemoryStorage();
    const writes: StoreItems[] = [];
    const storage: Storage = {
      read: (keys) => memory.read(keys),
      write: (changes) => {
        writes.push(JSON.parse(JSON.stringify(changes)));
        return memory.write(changes);
      },
      delete: (keys) => memory.delete(keys)
    };
    return { storage, writes };
  }
  const turn = (adapter: TestAdapter) =>
    new TurnContext(adapter, { type: 'message', channelId: 'test', conversation: { id: 'c1' } as never, from: { id: 'u', name: 'U' }, recipient: { id: 'b', name: 'B' } });

  it('writes what changed in a turn, writes nothing when nothing changed, and reads it back next turn', async () => {
    const { storage, writes } = counted();
    const state = new LeanConversationState(storage);
    const step = state.createProperty<{ at: number }>('step');
    const adapter = new TestAdapter();

    let context = turn(adapter);
    assert.equal(await step.get(context), undefined);
    await step.set(context, { at: 1 });
    await state.saveChanges(context);
    assert.equal(writes.length, 1);

    context = turn(adapter);
    assert.deepEqual(await step.get(context), { at: 1 });
    await state.saveChanges(context);
    assert.equal(writes.length, 1, 'an unchanged state is not written');
    (await step.get(context))!.at = 2;
    await state.saveChanges(context);
    assert.equal(writes.length, 2, 'a change made inside the object is seen');

    context = turn(adapter);
    assert.deepEqual(await step.get(context), { at: 2 });
    await state.clear(context);
    await state.saveChanges(context);
    assert.equal(writes.length, 3);
    context = turn(adapter);
    assert.equal(await step.get(context), undefined, 'cleared');
    await state.saveChanges(context, true);
    assert.equal(writes.length, 4, 'force writes');
  });
});
