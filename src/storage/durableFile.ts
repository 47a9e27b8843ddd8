import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { dirname, basename, join } from 'node:path';
import type { Adapter } from 'lowdb';

/** fsyncs a directory so a rename or a new file in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class StoreFileCorruptError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(
      `The store file ${file} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'It was left untouched: restore it from a backup or move it aside, then start again.'
    );
  }
}

/** The temp file a durable replacement of `file` writes first. */
function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
}

/**
 * Replaces `file` durably: writes a temp file, fsyncs it, renames it over the old file, fsyncs the
 * directory. lowdb's own TextFile adapter never fsyncs, so a crash could leave an empty file.
 */
export async function replaceFileDurably(file: string, writeBody: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temp = tempFileFor(file);
  const handle = await open(temp, 'w');
  try {
    await writeBody(handle);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  await syncDirectory(dirname(file));
}

/** Deletes temp files of replacements a killed process never finished (only while holding the data directory). */
export async function removeTempLeftovers(file: string): Promise<void> {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.`;
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
  }
}

/**
 * The lines of a snapshot read from disk. An item loaded from it stays as bytes in this buffer until
 * it is first read, so opening a large store creates no per-item string for the value.
 */
export class SnapshotLines {
  constructor(
    readonly buffer: Buffer,
    /** Start and end of each item's value text in the buffer: [start0, end0, start1, end1, …]. */
    private readonly bounds: Float64Array
  ) {}

  text(line: number): string {
    return this.buffer.toString('utf8', this.bounds[2 * line], this.bounds[2 * line + 1]);
  }

  bytes(line: number): Buffer {
    return this.buffer.subarray(this.bounds[2 * line], this.bounds[2 * line + 1]);
  }
}

/** The store's items: each one's JSON text, or its line in `lines` (the snapshot it was loaded from). */
export interface StoreSnapshot {
  format: 2;
  items: Map<string, string | number>;
  lines?: SnapshotLines;
}

const SNAPSHOT_HEADER = '{"format":2,"items":{\n';
const SNAPSHOT_TRAILER = /^\},"count":(\d+),"crc32":(\d+)\}\n?$/;
const CHUNK_BYTES = 1 << 20;

/**
 * The store snapshot (lowdb adapter), written so that a large store opens fast and never needs one
 * giant string. The file is ordinary JSON, one item per line, each value inline (not re-encoded):
 *
 *     {"format":2,"items":{
 *     "key":{…value…},
 *     "key":{…value…}
 *     },"count":2,"crc32":123456789}
 *
 * Opening checks the CRC-32 and the count in the last line (the file is whole), then scans lines for
 * keys; values stay as bytes until read. Writing streams lines in 1 MB chunks, so a big store is
 * rewritten without holding the event loop; the write is durable (temp file, fsync, rename, directory
 * fsync). Format 1 files (one JSON document whose values are JSON strings) are still read.
 */
export class StoreSnapshotFile implements Adapter<StoreSnapshot> {
  constructor(private readonly file: string) {}

  async read(): Promise<StoreSnapshot | null> {
    let buffer: Buffer;
    try {
      buffer = await readWhole(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return buffer.subarray(0, SNAPSHOT_HEADER.length).toString('latin1') === SNAPSHOT_HEADER ? parseLines(buffer) : parseDocument(buffer);
    } catch (error) {
      throw new StoreFileCorruptError(this.file, error);
    }
  }

  removeLeftovers(): Promise<void> {
    return removeTempLeftovers(this.file);
  }

  async write(data: StoreSnapshot): Promise<void> {
    // A point-in-time copy of the entries: the store keeps changing while the chunks are written.
    const entries = [...data.items];
    const lines = data.lines;
    await replaceFileDurably(this.file, async (handle) => {
      let crc = 0;
      let parts: Buffer[] = [];
      let pending = 0;
      const add = (part: Buffer) => {
        crc = crc32(part, crc);
        parts.push(part);
        pending += part.length;
      };
      const flush = async () => {
        if (parts.length > 0) await handle.writev(parts);
        parts = [];
        pending = 0;
      };
      let text = SNAPSHOT_HEADER;
      for (let i = 0; i < entries.length; i++) {
        const [key, value] = entries[i]!;
        const end = i < entries.length - 1 ? ',\n' : '\n';
        if (typeof value === 'string') {
          text += `${JSON.stringify(key)}:${value}${end}`;
        } else {
          // Never read since it was loaded: its bytes are copied as they are.
          add(Buffer.from(`${text}${JSON.stringify(key)}:`, 'utf8'));
          add(lines!.bytes(value));
          text = end;
        }
        if (text.length + pending >= CHUNK_BYTES) {
          add(Buffer.from(text, 'utf8'));
          text = '';
          await flush();
        }
      }
      add(Buffer.from(text, 'utf8'));
      await flush();
      await handle.write(`},"count":${entries.length},"crc32":${crc}}\n`);
    });
  }
}

/**
 * Reads a file in a few large reads: the copy happens off the main thread in one go, so it goes on
 * while the main thread does other start-up work (readFile would wait for it every 512 KB).
 */
export async function readWhole(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(buffer, done, Math.min(size - done, 1 << 30), done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? buffer : buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Format 1: `{"format":1,"items":{"key":"<value as a JSON string>"}}`. */
function parseDocument(buffer: Buffer): StoreSnapshot {
  const data = JSON.parse(buffer.toString('utf8')) as { items?: unknown };
  if (!data || typeof data !== 'object' || typeof data.items !== 'object' || data.items === null) throw new Error('no "items" object');
  const items = new Map<string, string | number>();
  for (const [key, value] of Object.entries(data.items as Record<string, unknown>)) {
    items.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return { format: 2, items };
}

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const KEY_END = Buffer.from('":');

/** Format 2, line by line: keys are decoded, values only located. */
function parseLines(buffer: Buffer): StoreSnapshot {
  const trailerStart = buffer.lastIndexOf('\n},', buffer.length - 2) + 1;
  if (trailerStart === 0) throw new Error('the last line (item count and checksum) is missing');
  const trailer = SNAPSHOT_TRAILER.exec(buffer.toString('latin1', trailerStart));
  if (!trailer) throw new Error('the last line (item count and checksum) is damaged');
  if (crc32(buffer.subarray(0, trailerStart)) !== Number(trailer[2])) throw new Error('the checksum does not match: the file was changed or damaged');
  const count = Number(trailer[1]);
  const bounds = new Float64Array(2 * count);
  const items = new Map<string, string | number>();
  let offset = SNAPSHOT_HEADER.length;
  let line = 0;
  let nextSlash = -1;
  while (offset < trailerStart) {
    if (line >= count) throw new Error(`more than the ${count} items the last line announces`);
    let end = buffer.indexOf(NEWLINE, offset);
    if (end === -1 || end >= trailerStart) end = trailerStart - 1;
    if (buffer[offset] !== 0x22 /* " */) throw new Error(`item line ${line + 1} does not start with a key`);
    // The key ends at the first `":` unless the key holds a backslash (an escape), then it is parsed.
    let keyEnd = buffer.indexOf(KEY_END, offset + 1);
    let key: string;
    // The next backslash in the file, found once and reused until passed (no rescan per line).
    if (nextSlash !== Infinity && nextSlash <= offset) {
      nextSlash = buffer.indexOf(BACKSLASH, offset + 1);
      if (nextSlash === -1) nextSlash = Infinity;
    }
    if (nextSlash < keyEnd) {
      keyEnd = offset + 1;
      while (keyEnd < end && buffer[keyEnd] !== 0x22) keyEnd += buffer[keyEnd] === BACKSLASH ? 2 : 1;
      key = JSON.parse(buffer.toString('utf8', offset, keyEnd + 1)) as string;
    } else {
      key = buffer.toString('utf8', offset + 1, keyEnd);
    }
    if (keyEnd === -1 || keyEnd >= end || buffer[keyEnd + 1] !== 0x3a /* : */ || buffer[keyEnd + 2] !== 0x7b /* { */) {
      throw new Error(`item line ${line + 1} is not "key":{…}`);
    }
    const valueEnd = buffer[end - 1] === 0x2c /* , */ ? end - 1 : end;
    if (buffer[valueEnd - 1] !== 0x7d /* } */) throw new Error(`item line ${line + 1} is cut short`);
    bounds[2 * line] = keyEnd + 2;
    bounds[2 * line + 1] = valueEnd;
    items.set(key, line);
    line++;
    offset = end + 1;
  }
  if (line !== count) throw new Error(`expected ${count} items, found ${line}`);
  return { format: 2, items, lines: new SnapshotLines(buffer, bounds) };
}
