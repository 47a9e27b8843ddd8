import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export class DataDirLockedError extends Error {}

/** The holder refreshes the lock's mtime this often; a lock not refreshed for STALE_AFTER_MS is abandoned. */
const HEARTBEAT_MS = 10_000;
const STALE_AFTER_MS = 35_000;

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
 * A lock is taken over when its holder is provably gone: a dead pid on this host, or no heartbeat
 * for 35 s (a container restarted on a persistent volume has a new hostname, and may reuse the pid).
 */
export class DataDirLock {
  /** Directories this process holds; a pid check cannot see a second open in the same process. */
  private static readonly held = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(private readonly file: string) {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(file, now, now).catch(() => undefined);
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

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
        const silentFor = Date.now() - (await stat(file).then((s) => s.mtimeMs, () => 0));
        const sameHost = !holder.host || holder.host === hostname();
        const holderGone =
          silentFor > STALE_AFTER_MS || !holder.pid || (sameHost && (holder.pid === process.pid || !isAlive(holder.pid)));
        if (!holderGone) {
          throw new DataDirLockedError(
            sameHost
              ? `Another assistant process (pid ${holder.pid}) is already using the data directory ${dataDir}. ` +
                  'Stop it first, or give this one its own DATA_DIR.'
              : `The data directory ${dataDir} is in use by host ${holder.host} (seen ${Math.round(silentFor / 1000)} s ago). ` +
                  `If that host is gone, the lock is released ${STALE_AFTER_MS / 1000} s after its last sign of life.`
          );
        }
        await unlink(file).catch(() => undefined);
      }
    }
    throw new DataDirLockedError(`Could not lock the data directory ${dataDir}.`);
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    DataDirLock.held.delete(this.file);
    await unlink(this.file).catch(() => undefined);
  }
}
