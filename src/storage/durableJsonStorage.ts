import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Low } from 'lowdb';
import type { Storage, StoreItems } from 'botbuilder';
import { readWhole, StoreFileCorruptError, StoreSnapshotFile, syncDirectory, type SnapshotLines, type StoreSnapshot } from './durableFile.js';
import { DataDirLock } from './dataDirLock.js';
import { writeAllSync } from '../util/writeAllSync.js';

/** The lowdb database: every item kept as its JSON text, so reads copy by parsing and snapshots are cheap. */
type Snapshot = StoreSnapshot;

/** One journal line: the writes and deletes of one storage call. */
interface JournalRecord {
  w?: Record<string, string>;
  d?: string[];
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A journal line waiting to be written, with the item texts it sets (undefined: deleted). */
interface PendingLine {
  line: string;
  changes: Array<[key: string, text: string | undefined]>;
  waiter: Waiter;
}

/** A key with writes not yet durable: what the disk holds for it, and how many writes are pending. */
interface InFlight {
  durable: string | number | undefined;
  writes: number;
}

export interface DurableJsonStorageOptions {
  /** Rewrite the snapshot once the journal is larger than this and larger than the snapshot. */
  compactAfterBytes?: number;
  /** Writes a batch of journal lines at the file's end (tests simulate a full disk with it). */
  writeJournal?: (fd: number, buffer: Buffer) => void;
}

/**
 * botbuilder Storage on a lowdb JSON database under DATA_DIR.
 *
 * Each write is appended to a journal and fsynced before the call resolves (so before the turn is
 * acknowledged); writes arriving together share one append and one fsync. The lowdb snapshot is
 * rewritten durably only when the journal has grown past the snapshot's size, so the per-turn cost
 * does not grow with the number of stored users.
 */
export class DurableJsonStorage implements Storage {
  private pending: PendingLine[] = [];
  /** Keys whose latest writes are not yet durable; a failed write puts back what the disk holds. */
  private readonly inFlight = new Map<string, InFlight>();
  private flushing: Promise<void> | null = null;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private closed = false;

  private constructor(
    private readonly db: Low<Snapshot>,
    /** Each item's JSON text, or its line in the snapshot it was loaded from (decoded when first read). */
    private readonly items: Map<string, string | number>,
    private readonly lines: SnapshotLines | undefined,
    private readonly snapshotPath: string,
    private journal: FileHandle,
    private readonly lock: DataDirLock,
    private readonly compactAfterBytes: number,
    private readonly writeJournal: (fd: number, buffer: Buffer) => void
  ) {}

  static async open(dataDir: string, options: DurableJsonStorageOptions = {}): Promise<DurableJsonStorage> {
    const dir = resolve(dataDir);
    await mkdir(dir, { recursive: true });
    const lock = await DataDirLock.acquire(dir);
    try {
      const snapshotPath = join(dir, 'store.json');
      const journalPath = join(dir, 'store.journal');
      const file = new StoreSnapshotFile(snapshotPath);
      const db = new Low<Snapshot>(file, { format: 2, items: new Map() });
      await db.read();
      const { items, lines } = db.data;
      db.data = { format: 2, items: new Map() };
      const validLength = await replayJournal(journalPath, items);
      // A snapshot rewrite cut short by a crash leaves a temp file nobody else would remove.
      await file.removeLeftovers();
      const journal = await open(journalPath, 'a+');
      // A torn last line was never acknowledged: cut it so the next append starts on a clean line.
      if ((await journal.stat()).size > validLength) await journal.truncate(validLength);
      await syncDirectory(dir);
      const storage = new DurableJsonStorage(
        db,
        items,
        lines,
        snapshotPath,
        journal,
        lock,
        options.compactAfterBytes ?? 16 * 1024 * 1024,
        options.writeJournal ?? writeAllSync
      );
      storage.journalBytes = validLength;
      storage.snapshotBytes = await stat(snapshotPath).then((s) => s.size, () => 0);
      return storage;
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** An item's JSON text; an item still in the loaded snapshot's bytes is decoded and kept as text. */
  private text(key: string): string | undefined {
    const stored = this.items.get(key);
    if (typeof stored !== 'number') return stored;
    const text = this.lines!.text(stored);
    this.items.set(key, text);
    return text;
  }

  /** How many items are stored (for health and benchmarks). */
  get size(): number {
    return this.items.size;
  }

  async read(keys: string[]): Promise<StoreItems> {
    if (!Array.isArray(keys)) throw new TypeError('Storage.read: keys must be an array');
    const found: StoreItems = {};
    for (const key of keys) {
      const text = this.text(key);
      if (text !== undefined) found[key] = JSON.parse(text);
    }
    return found;
  }

  async write(changes: StoreItems): Promise<void> {
    if (!changes || typeof changes !== 'object') throw new TypeError('Storage.write: changes must be an object');
    this.assertOpen();
    const keys = Object.keys(changes);
    if (keys.length === 0) return;
    // Check every eTag before changing anything, so a conflict leaves the batch unapplied.
    for (const key of keys) {
      const change = changes[key];
      const existing = this.text(key);
      const eTag = change?.eTag;
      if (existing !== undefined && eTag && eTag !== '*' && storedETag(existing) !== eTag) {
        throw new Error(`Storage: error writing "${key}" due to eTag conflict.`);
      }
    }
    const record: Record<string, string> = {};
    for (const key of keys) {
      // The eTag goes last, where storedETag finds it without parsing the item.
      const { eTag: _previous, ...item } = changes[key] ?? {};
      const text = JSON.stringify({ ...item, eTag: randomUUID() });
      this.track(key);
      this.items.set(key, text);
      record[key] = text;
    }
    await this.append({ w: record }, Object.entries(record));
  }

  async delete(keys: string[]): Promise<void> {
    if (!Array.isArray(keys)) throw new TypeError('Storage.delete: keys must be an array');
    this.assertOpen();
    const removed = keys.filter((key) => this.items.has(key));
    for (const key of removed) {
      this.track(key);
      this.items.delete(key);
    }
    if (removed.length > 0) await this.append({ d: removed }, removed.map((key) => [key, undefined]));
  }

  /** Waits for every write to be on disk, rewrites the snapshot, and releases the data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushNow();
    this.closed = true;
    // Nothing in the journal and a current-format snapshot on disk: it already holds everything.
    if (this.journalBytes > 0 || !this.lines) await this.compact();
    await this.journal.close();
    await this.lock.release();
  }

  /** Resolves once everything written so far is durable. */
  async flushNow(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (!this.flushing) this.flushing = this.flushLoop();
      await this.flushing;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('Storage is closed');
  }

  private append(record: JournalRecord, changes: PendingLine['changes']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: JSON.stringify(record) + '\n', changes, waiter: { resolve, reject } });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Notes a write of `key` about to change memory ahead of the disk. */
  private track(key: string): void {
    let entry = this.inFlight.get(key);
    if (!entry) this.inFlight.set(key, (entry = { durable: this.items.get(key), writes: 0 }));
    entry.writes++;
  }

  /**
   * A write of `key` is durable, or failed: after a failure, readers get back what the disk holds,
   * unless a later write has replaced the failed one (it settles on its own).
   */
  private settle(key: string, text: string | undefined, durable: boolean): void {
    const entry = this.inFlight.get(key)!;
    if (durable) entry.durable = text;
    else if (this.items.get(key) === text) {
      if (entry.durable === undefined) this.items.delete(key);
      else this.items.set(key, entry.durable);
    }
    if (--entry.writes === 0) this.inFlight.delete(key);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        let durable = false;
        let failure: unknown;
        try {
          const buffer = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
          // Written in place; the fsync, which waits for the disk, stays off this thread.
          this.writeJournal(this.journal.fd, buffer);
          await this.journal.datasync();
          this.journalBytes += buffer.length;
          durable = true;
        } catch (error) {
          failure = error;
          // Part of the batch may be in the file (a disk that filled up mid-write): cut it, so the
          // next append starts on a clean line and a restart finds nothing that was not acknowledged.
          await this.journal.truncate(this.journalBytes).then(() => this.journal.datasync()).catch(() => undefined);
        }
        for (const { changes, waiter } of batch) {
          for (const [key, text] of changes) this.settle(key, text, durable);
          if (durable) waiter.resolve();
          else waiter.reject(failure);
        }
        if (this.journalBytes > Math.max(this.compactAfterBytes, this.snapshotBytes)) await this.compact();
      }
    } finally {
      this.flushing = null;
    }
  }

  /** The items as the disk holds them: writes still waiting for their journal line are left out. */
  private durableItems(): Map<string, string | number> {
    if (this.inFlight.size === 0) return this.items;
    const items = new Map(this.items);
    for (const [key, { durable }] of this.inFlight) {
      if (durable === undefined) items.delete(key);
      else items.set(key, durable);
    }
    return items;
  }

  /**
   * Rewrites the snapshot from memory (durably, through lowdb), then empties the journal. A crash
   * between the two replays the old journal over the new snapshot, which only repeats writes.
   */
  private async compact(): Promise<void> {
    this.db.data = { format: 2, items: this.durableItems(), lines: this.lines };
    try {
      await this.db.write();
    } finally {
      this.db.data = { format: 2, items: new Map() };
    }
    await this.journal.truncate(0);
    await this.journal.datasync();
    this.journalBytes = 0;
    this.snapshotBytes = await stat(this.snapshotPath).then((s) => s.size, () => 0);
  }
}

const ETAG_SUFFIX = /,?"eTag":"([0-9a-f-]{36})"\}$/;

/** The eTag of a stored item: read from the end of its text (where write puts it), else parsed. */
function storedETag(text: string): unknown {
  const match = ETAG_SUFFIX.exec(text.slice(-48));
  return match ? match[1] : (JSON.parse(text) as { eTag?: unknown }).eTag;
}

/** Applies the journal to the items; returns the length of its valid prefix. Read as bytes: a journal may outgrow a string. */
async function replayJournal(path: string, items: Map<string, string | number>): Promise<number> {
  let buffer: Buffer;
  try {
    buffer = await readWhole(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let offset = 0;
  while (offset < buffer.length) {
    const end = buffer.indexOf(0x0a, offset);
    if (end === -1) break; // torn tail: never acknowledged
    let record: JournalRecord;
    try {
      record = JSON.parse(buffer.toString('utf8', offset, end)) as JournalRecord;
    } catch (error) {
      throw new StoreFileCorruptError(path, error);
    }
    for (const [key, value] of Object.entries(record.w ?? {})) items.set(key, value);
    for (const key of record.d ?? []) items.delete(key);
    offset = end + 1;
  }
  return offset;
}
