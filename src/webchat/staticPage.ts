import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type restify from 'restify';
import type { AppConfig } from '../config.js';

const gzipAsync = promisify(gzip);

interface Asset {
  body: Buffer;
  gzipped?: Buffer;
  etag: string;
  type: string;
}

/** The page's own files; a fixed list, so no request path ever reaches the file system. */
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' }
};

export const WEBCHAT_SCRIPT_PATH = '/webchat/webchat.js';

/** Web Chat's browser bundle in node_modules. Its package exports hide dist/, so find the package root. */
export function webChatBundlePath(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('botframework-webchat'));
  while (!existsSync(join(dir, 'package.json')) && dir !== parse(dir).root) dir = dirname(dir);
  return join(dir, 'dist', 'webchat.js');
}

/**
 * Serves the help-widget page and Web Chat's bundle (no CDN is needed). Files are read once and kept
 * gzipped in memory; the page's Content-Security-Policy allows only this origin and Direct Line.
 */
export class StaticPage {
  private readonly assets = new Map<string, Promise<Asset>>();

  constructor(private readonly publicDir: string, private readonly config: AppConfig) {}

  register(server: restify.Server): void {
    // Worked out once: the page's security headers and where the Web Chat bundle is installed.
    const pageHeaders = this.pageHeaders();
    for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
      const headers = path === '/' ? pageHeaders : {};
      server.get(path, async (req: restify.Request, res: restify.Response) =>
        this.serve(req, res, () => this.load(join(this.publicDir, file), type), headers, 'no-cache')
      );
    }
    const bundle = webChatBundlePath();
    server.get(WEBCHAT_SCRIPT_PATH, async (req: restify.Request, res: restify.Response) =>
      this.serve(req, res, () => this.load(bundle, 'text/javascript; charset=utf-8'), {}, 'public, max-age=86400')
    );
  }

  private load(file: string, type: string): Promise<Asset> {
    let asset = this.assets.get(file);
    if (!asset) {
      asset = (async () => {
        const body = await readFile(file);
        return { body, gzipped: await gzipAsync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, type };
      })();
      // A failed read is retried on the next request rather than remembered.
      asset.catch(() => this.assets.delete(file));
      this.assets.set(file, asset);
    }
    return asset;
  }

  private async serve(req: restify.Request, res: restify.Response, load: () => Promise<Asset>, extra: Record<string, string>, cache: string): Promise<void> {
    const asset = await load();
    const headers: Record<string, string> = {
      'content-type': asset.type,
      'cache-control': cache,
      etag: asset.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'strict-origin-when-cross-origin',
      ...extra
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzipOk = asset.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzipOk ? asset.gzipped! : asset.body;
    res.writeHead(200, { ...headers, ...(gzipOk ? { 'content-encoding': 'gzip' } : {}), 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Only this origin and the Direct Line service; Web Chat injects its styles, hence 'unsafe-inline' for styles only. */
  private pageHeaders(): Record<string, string> {
    const directLine = new URL(this.config.DIRECT_LINE_ENDPOINT);
    const wsDirectLine = `${directLine.protocol === 'https:' ? 'wss:' : 'ws:'}//${directLine.host}`;
    const csp = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob: https:",
      "font-src 'self' data:",
      `connect-src 'self' ${directLine.origin} ${wsDirectLine}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'"
    ].join('; ');
    return { 'content-security-policy': csp };
  }
}
