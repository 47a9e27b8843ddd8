import type { IncomingMessage } from 'node:http';
import type restify from 'restify';
import type { AppConfig } from '../config.js';

/** Every refusal is a status and one plain sentence, the same shape as the rest of the service. */
export function sendError(res: restify.Response, status: number, message: string, headers: Record<string, string> = {}): void {
  res.send(status, { error: message }, { 'cache-control': 'no-store', ...headers });
}

/** The client a rate limit applies to: the connection's address (a proxy in front shares one bucket). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket?.remoteAddress ?? 'unknown';
}

/** The token in `Authorization: Bearer …`, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The address clients reach the bot at, for URLs handed back to them (the WebSocket stream):
 * PUBLIC_BASE_URL when set, otherwise the Host the request came to.
 */
export function publicBaseUrl(req: IncomingMessage, config: AppConfig): string {
  if (config.PUBLIC_BASE_URL) return config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  const forwardedProto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim();
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true || forwardedProto === 'https';
  const host = typeof req.headers.host === 'string' && HOST.test(req.headers.host) ? req.headers.host : `localhost:${config.PORT}`;
  return `${secure ? 'https' : 'http'}://${host}`;
}

/** A watermark query value: absent, or a whole number. Anything else is the client's mistake. */
export function parseWatermark(raw: unknown): number | undefined | 'invalid' {
  if (raw === undefined || raw === '' || raw === null) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) return 'invalid';
  return Number(raw);
}
