import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (dist/src/ is two levels down), as a path even when it contains spaces. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const VERSION: string = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
