import { writeSync } from 'node:fs';

/**
 * Writes the whole buffer at the file's position (its end, for a file opened to append). For a few
 * KB going into the page cache this is a copy; the thread pool's round trip costs about ten times
 * more. writeSync may write less than asked: the rest follows, or it throws.
 */
export function writeAllSync(fd: number, buffer: Buffer): void {
  for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset, buffer.length - offset);
}
