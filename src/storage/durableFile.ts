import { open, readdir, rename, readFile, unlink } from 'node:fs/promises';
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

/**
 * A lowdb adapter whose write is durable: temp file, fsync, rename over the old file, fsync the
 * directory. lowdb's own TextFile adapter never fsyncs, so a crash could leave an empty file.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new StoreFileCorruptError(this.file, error);
    }
  }

  /** Deletes temp files of writes a killed process never finished (call only while holding the data directory). */
  async removeLeftovers(): Promise<void> {
    const dir = dirname(this.file);
    const prefix = `.${basename(this.file)}.`;
    for (const name of await readdir(dir)) {
      if (name.startsWith(prefix) && name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  async write(data: T): Promise<void> {
    const temp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.tmp`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(data));
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await rename(temp, this.file);
    await syncDirectory(dirname(this.file));
  }
}
