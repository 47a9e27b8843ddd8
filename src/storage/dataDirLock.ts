import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export class DataDirLockedError extends Error {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process per DATA_DIR: two writers would interleave journal appends and lose data.
 * A lock left by a process that died (SIGKILL) is taken over.
 */
export class DataDirLock {
  /** Directories this process holds; a pid check cannot see a second open in the same process. */
  private static readonly held = new Set<string>();

  private constructor(private readonly file: string) {}

  static async acquire(dataDir: string): Promise<DataDirLock> {
    const file = join(dataDir, 'store.lock');
    if (DataDirLock.held.has(file)) {
      throw new DataDirLockedError(`This process is already using the data directory ${dataDir}.`);
    }
    const lock = await DataDirLock.take(dataDir, file);
    DataDirLock.held.add(file);
    return lock;
  }

  private static async take(dataDir: string, file: string): Promise<DataDirLock> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, 'wx');
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
        await handle.sync();
        await handle.close();
        return new DataDirLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        let holder: { pid?: number; host?: string } = {};
        try {
          holder = JSON.parse(await readFile(file, 'utf8'));
        } catch {
          // Unreadable lock: the holder died while writing it.
        }
        const sameHost = !holder.host || holder.host === hostname();
        if (holder.pid && holder.pid !== process.pid && sameHost && isAlive(holder.pid)) {
          throw new DataDirLockedError(
            `Another assistant process (pid ${holder.pid}) is already using the data directory ${dataDir}. ` +
              'Stop it first, or give this one its own DATA_DIR.'
          );
        }
        if (!sameHost) {
          throw new DataDirLockedError(
            `The data directory ${dataDir} is locked by host ${holder.host}. Remove ${file} only if that host no longer uses it.`
          );
        }
        await unlink(file).catch(() => undefined);
      }
    }
    throw new DataDirLockedError(`Could not lock the data directory ${dataDir}.`);
  }

  async release(): Promise<void> {
    DataDirLock.held.delete(this.file);
    await unlink(this.file).catch(() => undefined);
  }
}
