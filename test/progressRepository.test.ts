import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, type Storage, type StoreItems } from 'botbuilder';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { LruMap } from '../src/util/lruMap.js';
import { BusinessNumber, ProgramAccountNumber, maskIdentifier } from '../src/onboarding/onboardingProgress.js';

const user = { channelId: 'msteams', userId: 'aad-123' };

describe('ProgressRepository', () => {
  let dir: string;
  let storage: DurableJsonStorage;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carm-progress-'));
    storage = await DurableJsonStorage.open(dir);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no update when 100 turns of the same user update at once', async () => {
    const repo = new ProgressRepository(storage);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        repo.update(user, (p) => {
          p.steps[`step-${i}`] = { status: 'done', at: new Date().toISOString() };
        })
      )
    );
    const progress = await repo.get(user);
    assert.equal(Object.keys(progress!.steps).length, 100);
  });

  it('two repositories on one store (two processes on shared storage) still lose nothing, thanks to eTags', async () => {
    // Each repository serialises only its own updates; interleaving between them is resolved by eTag retries.
    const slow: Storage = {
      read: async (keys) => {
        const r = await storage.read(keys);
        await new Promise((res) => setTimeout(res, Math.random() * 5));
        return r;
      },
      write: (changes: StoreItems) => storage.write(changes),
      delete: (keys) => storage.delete(keys)
    };
    const a = new ProgressRepository(slow);
    const b = new ProgressRepository(slow);
    await a.update(user, () => undefined);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).update(user, (p) => {
          p.steps[`s${i}`] = { status: 'later', at: 'now' };
        })
      )
    );
    assert.equal(Object.keys((await a.get(user))!.steps).length, 40);
  });

  it('a failed update leaves the stored record as it was', async () => {
    const repo = new ProgressRepository(storage);
    await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    await assert.rejects(
      repo.update(user, (p) => {
        (p.steps as Record<string, unknown>).b = { status: 'bogus' };
      })
    );
    const progress = await repo.get(user);
    assert.deepEqual(Object.keys(progress!.steps), ['a']);
  });

  it('keeps an unreadable record aside instead of overwriting it silently', async () => {
    const memory = new MemoryStorage();
    const repo = new ProgressRepository(memory);
    const key = ProgressRepository.key(user);
    await memory.write({ [key]: { version: 99, steps: 'garbage' } });
    await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    const all = (memory as unknown as { memory: Record<string, string> }).memory;
    assert.ok(Object.keys(all).some((k) => k.startsWith(`${key}#unreadable-`)));
  });

  it('reset of a user with no record writes nothing; reset of an unreadable one keeps it aside first', async () => {
    const memory = new MemoryStorage();
    let writes = 0;
    const repo = new ProgressRepository({
      read: (keys) => memory.read(keys),
      write: (changes) => {
        writes++;
        return memory.write(changes);
      },
      delete: (keys) => memory.delete(keys)
    });
    await repo.reset(user);
    assert.equal(writes, 0);
    const key = ProgressRepository.key(user);
    await memory.write({ [key]: { version: 99 } });
    await repo.reset(user);
    const all = (memory as unknown as { memory: Record<string, string> }).memory;
    assert.ok(Object.keys(all).some((k) => k.startsWith(`${key}#unreadable-`)));
    assert.equal(await repo.get(user), undefined);
  });

  it('reset removes the record', async () => {
    const repo = new ProgressRepository(storage);
    await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    await repo.reset(user);
    assert.equal(await repo.get(user), undefined);
  });

  /** The store, counting reads. */
  const counted = (inner: Storage) => {
    const counter = { reads: 0 };
    const wrapped: Storage = {
      read: (keys) => {
        counter.reads++;
        return inner.read(keys);
      },
      write: (changes) => inner.write(changes),
      delete: (keys) => inner.delete(keys)
    };
    return { storage: wrapped, counter };
  };

  it('as the only writer of its store, serves what it last read or wrote without reading again, read-only', async () => {
    const { storage: s, counter } = counted(storage);
    const repo = new ProgressRepository(s, { exclusiveStore: true });
    assert.equal(await repo.get(user), undefined);
    const saved = await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    const reads = counter.reads;
    for (let i = 0; i < 5; i++) assert.deepEqual(await repo.get(user), saved);
    // Updates start from the remembered record too, and build on each other.
    for (const step of ['b', 'c']) {
      await repo.update(user, (p) => {
        p.steps[step] = { status: 'later', at: step };
      });
    }
    assert.equal(counter.reads, reads);
    assert.deepEqual(Object.keys((await new ProgressRepository(storage).get(user))!.steps).sort(), ['a', 'b', 'c']);
    await repo.update(user, (p) => {
      delete p.steps.b;
      delete p.steps.c;
    });
    const got = (await repo.get(user))!;
    assert.throws(() => {
      got.steps.b = { status: 'done', at: 'y' };
    }, TypeError);
    // And it survives a restart: a new repository reads the record from the store.
    assert.deepEqual((await new ProgressRepository(storage).get(user))!.steps, { a: { status: 'done', at: 'x' } });
  });

  it('on shared storage, sees another process’s update at once (reads every time, validates only what changed)', async () => {
    const mine = new ProgressRepository(storage);
    const other = new ProgressRepository(storage);
    await mine.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    assert.ok((await mine.get(user))!.steps.a);
    await other.update(user, (p) => {
      p.steps.b = { status: 'later', at: 'y' };
    });
    assert.deepEqual(Object.keys((await mine.get(user))!.steps).sort(), ['a', 'b']);
    await other.reset(user);
    assert.equal(await mine.get(user), undefined);
  });

  it('on shared storage, reads a record once per turn, and again once this process has written it', async () => {
    const { storage: s, counter } = counted(new MemoryStorage());
    const repo = new ProgressRepository(s);
    const turn = {};
    assert.equal(await repo.get(user, turn), undefined);
    assert.equal(await repo.get(user, turn), undefined);
    assert.equal(counter.reads, 1);
    await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    const before = counter.reads;
    // What the turn read before its own update is out of date: read again, once.
    assert.ok((await repo.get(user, turn))!.steps.a);
    assert.ok((await repo.get(user, turn))!.steps.a);
    assert.equal(counter.reads, before + 1);
    // Another process's update shows from the next turn on (and every read without a turn sees it).
    await new ProgressRepository(s).update(user, (p) => {
      p.steps.b = { status: 'later', at: 'y' };
    });
    assert.equal((await repo.get(user, turn))!.steps.b, undefined);
    assert.ok((await repo.get(user, {}))!.steps.b);
    assert.ok((await repo.get(user))!.steps.b);
  });

  it('within a turn, never serves a read that a write of this process overlapped', async () => {
    const memory = new MemoryStorage();
    let writeStarted: () => void = () => undefined;
    const slow: Storage = {
      read: async (keys) => {
        const r = await memory.read(keys);
        await new Promise((res) => setTimeout(res, 5));
        return r;
      },
      write: async (changes) => {
        writeStarted();
        await new Promise((res) => setTimeout(res, 10));
        return memory.write(changes);
      },
      delete: (keys) => memory.delete(keys)
    };
    const repo = new ProgressRepository(slow);
    for (let round = 1; round <= 10; round++) {
      // A read that starts before the update and ends after it…
      let turn = {};
      await Promise.all([
        repo.get(user, turn),
        repo.update(user, (p) => {
          p.steps[`a${round}`] = { status: 'done', at: 'now' };
        })
      ]);
      assert.equal(Object.keys((await repo.get(user, turn))!.steps).length, 2 * round - 1, `round ${round}, read first`);
      // …and one that starts while the write is under way.
      turn = {};
      const started = new Promise<void>((r) => (writeStarted = r));
      const update = repo.update(user, (p) => {
        p.steps[`b${round}`] = { status: 'done', at: 'now' };
      });
      await started;
      await repo.get(user, turn);
      await update;
      assert.equal(Object.keys((await repo.get(user, turn))!.steps).length, 2 * round, `round ${round}, read during the write`);
    }
  });

  it('within a turn, reads again a record written since, even after many other users pushed it out of memory', async () => {
    const { storage: s, counter } = counted(new MemoryStorage());
    const repo = new ProgressRepository(s, { cacheSize: 2 });
    const turn = {};
    assert.equal(await repo.get(user, turn), undefined);
    await repo.update(user, (p) => {
      p.steps.a = { status: 'done', at: 'x' };
    });
    for (let i = 0; i < 6; i++) await repo.update({ channelId: 'msteams', userId: `other-${i}` }, () => undefined);
    const before = counter.reads;
    assert.ok((await repo.get(user, turn))!.steps.a, 'the step marked in this turn shows');
    assert.equal(counter.reads, before + 1);
  });

  it('never serves a record older than its last completed update, with reads and updates interleaved', async () => {
    // Reads that take a while, so they overlap updates of the same user; writes that are instant.
    const memory = new MemoryStorage();
    const slow: Storage = {
      read: async (keys) => {
        const r = await memory.read(keys);
        await new Promise((res) => setTimeout(res, Math.random() * 4));
        return r;
      },
      write: (changes) => memory.write(changes),
      delete: (keys) => memory.delete(keys)
    };
    const repo = new ProgressRepository(slow, { exclusiveStore: true });
    for (let round = 1; round <= 80; round++) {
      // A read that started before the update may finish after it: it must not be what is served next.
      await Promise.all([
        repo.get(user),
        repo.update(user, (p) => {
          p.steps[`s${round}`] = { status: 'done', at: 'now' };
        }),
        repo.get(user)
      ]);
      assert.equal(Object.keys((await repo.get(user))!.steps).length, round, `round ${round}`);
    }
  });
});

describe('BusinessNumber and ProgramAccountNumber', () => {
  it('accept valid numbers in common spellings', () => {
    assert.equal(BusinessNumber.parse('123 456 782'), '123456782');
    assert.equal(ProgramAccountNumber.parse('123456782 rm 0001'), '123456782RM0001');
  });
  it('say exactly what is wrong', () => {
    assert.equal(BusinessNumber.safeParse('12345678').error?.issues[0]?.message, 'bn9.format');
    assert.equal(BusinessNumber.safeParse('123456789').error?.issues[0]?.message, 'bn9.checkDigit');
    assert.equal(ProgramAccountNumber.safeParse('123456782RT0001').error?.issues[0]?.message, 'bn15.notRm');
    assert.equal(ProgramAccountNumber.safeParse('123456782RM01').error?.issues[0]?.message, 'bn15.format');
  });
  it('masks all but the last three digits', () => {
    assert.equal(maskIdentifier('123456782'), '••••••782');
    assert.equal(maskIdentifier('123456782RM0001'), '•••••••••RM•001');
  });
});

describe('LruMap', () => {
  it('keeps at least the last `capacity` entries used, at most twice as many, and says which it dropped', () => {
    const dropped: string[] = [];
    const map = new LruMap<string, number>(2, (key) => dropped.push(key));
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3); // a and b move to the older generation
    assert.equal(map.get('a'), 1); // used again: kept
    map.set('d', 4); // c, a full the newer generation: b is dropped
    assert.deepEqual(dropped, ['b']);
    assert.equal(map.peek('b'), undefined);
    assert.equal(map.peek('c'), 3);
    map.set('e', 5); // peek did not count as a use: c goes with the next generation change
    map.set('f', 6);
    assert.deepEqual(dropped, ['b', 'c', 'a']);
    assert.deepEqual([map.peek('d'), map.peek('e'), map.peek('f')], [4, 5, 6]);
    assert.ok(map.size <= 4);
    map.delete('d');
    assert.equal(map.get('d'), undefined);
    assert.throws(() => new LruMap(0), /capacity/);
  });
});
