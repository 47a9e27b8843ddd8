import { createHash } from 'node:crypto';
import type { Storage, StoreItems } from 'botbuilder';
import { BlobsStorage, type BlobsStorageOptions } from 'botbuilder-azure-blobs';

const MAX_BLOB_NAME = 1024;
const HASHED_PREFIX = 950;

/**
 * The blob name for a storage key: one-to-one, at most 1,024 characters, only URL-safe characters.
 * BlobsStorage's own sanitizing drops empty path segments ("a//b" and "a/b" share a blob) and cuts
 * names at 1,024 encoded characters (long keys that start alike share a blob).
 * Letters, digits and "-" stay; other UTF-16 units become "_XX" (below 0x80) or ".XXXX"; a name that
 * would be too long keeps a readable prefix and ends with "~" and the key's SHA-256.
 */
export function blobName(key: string): string {
  if (key === '') return '_';
  let name = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d) name += key[i];
    else if (c < 0x80) name += '_' + c.toString(16).toUpperCase().padStart(2, '0');
    else name += '.' + c.toString(16).toUpperCase().padStart(4, '0');
    if (name.length > MAX_BLOB_NAME) break;
  }
  if (name.length <= MAX_BLOB_NAME) return name;
  const prefix = name.slice(0, HASHED_PREFIX).replace(/(_[0-9A-F]?|\.[0-9A-F]{0,3})$/, '');
  return `${prefix}~${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

const CONFLICT = /^Storage: error writing "(.*)" due to eTag conflict\.$/s;

/**
 * botbuilder-azure-blobs BlobsStorage with the Storage contract's key semantics (see blobName) and
 * with conflict messages naming the caller's key. It also recovers from a failed first call:
 * BlobsStorage keeps the promise of its container creation, so one failure while the account was
 * unreachable would fail every later call until a restart.
 */
export class SafeBlobsStorage implements Storage {
  private inner: Storage;
  private reached = false;

  constructor(private readonly create: () => Storage) {
    this.inner = create();
  }

  static fromConnectionString(connectionString: string, container: string, options?: BlobsStorageOptions): SafeBlobsStorage {
    return new SafeBlobsStorage(() => new BlobsStorage(connectionString, container, options));
  }

  async read(keys: string[]): Promise<StoreItems> {
    if (!Array.isArray(keys)) throw new TypeError('Storage.read: keys must be an array');
    const names = keys.map(blobName);
    const found = await this.call((s) => s.read(names));
    const items: StoreItems = {};
    keys.forEach((key, i) => {
      const item = found[names[i]!];
      if (item) items[key] = item;
    });
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    if (!changes || typeof changes !== 'object') throw new TypeError('Storage.write: changes must be an object');
    const keyOf = new Map<string, string>();
    const byName: StoreItems = {};
    for (const [key, item] of Object.entries(changes)) {
      const name = blobName(key);
      keyOf.set(name, key);
      byName[name] = item;
    }
    try {
      await this.call((s) => s.write(byName));
    } catch (error) {
      const conflict = CONFLICT.exec((error as Error)?.message ?? '');
      if (conflict && keyOf.has(conflict[1]!)) throw new Error(`Storage: error writing "${keyOf.get(conflict[1]!)}" due to eTag conflict.`);
      throw error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    if (!Array.isArray(keys)) throw new TypeError('Storage.delete: keys must be an array');
    await this.call((s) => s.delete(keys.map(blobName)));
  }

  private async call<T>(operation: (storage: Storage) => Promise<T>): Promise<T> {
    const inner = this.inner;
    try {
      const result = await operation(inner);
      this.reached = true;
      return result;
    } catch (error) {
      // Until one call has worked, the failure may be the cached container creation: start afresh.
      if (!this.reached && this.inner === inner) this.inner = this.create();
      throw error;
    }
  }
}
