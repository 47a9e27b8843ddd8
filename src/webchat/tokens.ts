import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../storage/durableFile.js';

/** The signing key's file in DATA_DIR: kept across restarts so tokens and returning-user tickets stay valid. */
export const SIGNING_KEY_FILE = 'webchat-signing.key';

/** A stream URL is used at once by the client; a leaked one is useless a minute later. */
export const STREAM_TOKEN_TTL_SECONDS = 120;
/** A returning visitor is recognised for about a year; every visit renews the ticket. */
export const USER_TICKET_TTL_SECONDS = 400 * 24 * 3600;

/** The bearer token of one Direct Line conversation: bound to that conversation and one user. */
export interface ConversationClaims {
  kind: 'conversation';
  /** Conversation id. */
  conv: string;
  /** The user's channel id (`dl_…`). Web Chat reads this claim to know which messages are its own. */
  user: string;
  iat: number;
  exp: number;
}

/** Lets one WebSocket connect to one conversation's stream. */
export interface StreamClaims {
  kind: 'stream';
  conv: string;
  user: string;
  exp: number;
}

/** The returning-visitor ticket the page keeps in localStorage: proves a user id was issued here. */
export interface TicketClaims {
  kind: 'ticket';
  uid: string;
  iat: number;
  exp: number;
}

export type Claims = ConversationClaims | StreamClaims | TicketClaims;

/** Why a token was refused; `expired` is told apart so the client can refresh instead of failing. */
export class TokenError extends Error {
  constructor(readonly reason: 'malformed' | 'signature' | 'expired' | 'kind', message: string) {
    super(message);
  }
}

export class SigningKeyError extends Error {}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const MAX_TOKEN_LENGTH = 2048;

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Signs and checks the web chat's tokens: compact JWTs (HS256), so Web Chat can read the `user` claim
 * as it does from Azure's Direct Line tokens. The key never leaves the server.
 */
export class WebChatTokens {
  constructor(private readonly key: Buffer, private readonly now: () => number = () => Date.now()) {
    if (key.length < 32) throw new SigningKeyError('The web chat signing key must be at least 32 bytes.');
  }

  /** Loads the key from DATA_DIR, creating it (mode 600) on first start. */
  static async open(dataDir: string, now?: () => number): Promise<WebChatTokens> {
    return new WebChatTokens(await loadOrCreateKey(dataDir), now);
  }

  /** Seconds since the epoch, from the injected clock. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  sign(claims: Claims): string {
    const payload = base64url(JSON.stringify(claims));
    return `${HEADER}.${payload}.${this.mac(`${HEADER}.${payload}`)}`;
  }

  conversationToken(conv: string, user: string, ttlSeconds: number): { token: string; claims: ConversationClaims } {
    const iat = this.nowSeconds();
    const claims: ConversationClaims = { kind: 'conversation', conv, user, iat, exp: iat + ttlSeconds };
    return { token: this.sign(claims), claims };
  }

  streamToken(conv: string, user: string): string {
    return this.sign({ kind: 'stream', conv, user, exp: this.nowSeconds() + STREAM_TOKEN_TTL_SECONDS });
  }

  userTicket(uid: string): string {
    const iat = this.nowSeconds();
    return this.sign({ kind: 'ticket', uid, iat, exp: iat + USER_TICKET_TTL_SECONDS });
  }

  /** Checks the signature, the kind and the expiry; throws a TokenError saying which failed. */
  verify<K extends Claims['kind']>(token: unknown, kind: K): Extract<Claims, { kind: K }> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new TokenError('malformed', 'The token is missing or malformed.');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) throw new TokenError('malformed', 'The token is missing or malformed.');
    const expected = Buffer.from(this.mac(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TokenError('signature', 'The token was not issued by this assistant.');
    }
    let claims: Partial<Claims> & Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      throw new TokenError('malformed', 'The token is missing or malformed.');
    }
    if (claims?.kind !== kind) throw new TokenError('kind', `This is not a ${kind} token.`);
    if (typeof claims.exp !== 'number' || claims.exp <= this.nowSeconds()) throw new TokenError('expired', 'The token has expired.');
    return claims as unknown as Extract<Claims, { kind: K }>;
  }

  private mac(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}

async function loadOrCreateKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, SIGNING_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Someone may have copied the file with looser permissions: the key signs every session.
  if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (key.length < 32) {
    throw new SigningKeyError(`The web chat signing key ${file} is damaged (fewer than 32 bytes). Delete it to create a new one; open chat sessions will restart.`);
  }
  return key;
}
