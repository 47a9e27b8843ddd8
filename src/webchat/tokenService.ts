import { randomBytes } from 'node:crypto';
import type restify from 'restify';
import { z } from 'zod';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { TokenBucketLimiter, type TokenBucketOptions } from './rateLimiter.js';
import { TokenError, type WebChatTokens } from './tokens.js';
import { clientAddress, sendError } from './httpHelpers.js';

export const TOKEN_PATH = '/api/webchat/token';

/** Page loads per client address: a burst for a busy office, then one every two seconds. */
export const TOKEN_RATE: TokenBucketOptions = { capacity: 30, refillPerSecond: 0.5 };
const MAX_TOKEN_REQUEST_BYTES = 4 * 1024;
const DIRECT_LINE_TIMEOUT_MS = 10_000;

const TokenRequest = z
  .object({
    /** The returning-visitor ticket from an earlier visit. */
    ticket: z.string().max(2048).optional()
  })
  .optional();

/** What Azure's POST /tokens/generate answers. */
const GeneratedToken = z.object({ conversationId: z.string().min(1), token: z.string().min(1), expires_in: z.number().optional() });

/** What the page gets: a token for one conversation, and a ticket to come back as the same person. */
export interface WebChatSession {
  token: string;
  conversationId: string;
  expires_in: number;
  userId: string;
  ticket: string;
  returning: boolean;
  /** local: talk to this bot's own Direct Line endpoint; azure: to Azure's Direct Line service. */
  mode: 'local' | 'azure';
}

/**
 * POST /api/webchat/token: the page's only way in. Without DIRECT_LINE_SECRET it signs a token for the
 * bot's own Direct Line endpoint; with it, it asks Azure's token service (the secret stays here).
 */
export class WebChatTokenService {
  private readonly limiter = new TokenBucketLimiter(TOKEN_RATE);

  constructor(private readonly deps: { config: AppConfig; logger: Logger; tokens: WebChatTokens; fetch?: typeof fetch }) {}

  admit(req: restify.Request, res: restify.Response): boolean {
    const decision = this.limiter.take(clientAddress(req));
    if (!decision.allowed) {
      sendError(res, 429, `Too many chat sessions started; try again in ${decision.retryAfterSeconds} s.`, {
        'retry-after': String(decision.retryAfterSeconds)
      });
      return false;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_TOKEN_REQUEST_BYTES) {
      sendError(res, 413, `The request is larger than ${MAX_TOKEN_REQUEST_BYTES / 1024} KB.`, { connection: 'close' });
      return false;
    }
    return true;
  }

  register(server: restify.Server): void {
    server.post(TOKEN_PATH, async (req: restify.Request, res: restify.Response) => {
      res.setHeader('cache-control', 'no-store');
      const body = req.body === '' ? undefined : req.body;
      if (body !== undefined && (typeof body !== 'object' || Buffer.isBuffer(body))) {
        return sendError(res, 400, 'The body must be JSON, for example {"ticket": "…"} or {}.');
      }
      const parsed = TokenRequest.safeParse(body ?? undefined);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return sendError(res, 400, `Invalid token request: ${issue.path.join('.') || 'body'}: ${issue.message}`);
      }
      try {
        res.send(200, await this.session(parsed.data?.ticket));
      } catch (error) {
        if (error instanceof DirectLineUnavailable) return sendError(res, 502, error.message);
        throw error;
      }
    });
  }

  /** A session for a new or returning visitor. A ticket that does not verify just means a new visitor. */
  async session(ticket?: string): Promise<WebChatSession> {
    const { tokens, config } = this.deps;
    let uid: string | undefined;
    if (ticket) {
      try {
        uid = tokens.verify(ticket, 'ticket').uid;
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        this.deps.logger.info({ reason: error.reason }, 'web chat ticket refused; starting as a new visitor');
      }
    }
    const returning = uid !== undefined;
    uid ??= randomBytes(16).toString('base64url');
    // "dl_" marks a user id the server vouches for, as Azure Direct Line does.
    const userId = `dl_${uid}`;
    const renewedTicket = tokens.userTicket(uid);
    if (config.DIRECT_LINE_SECRET) {
      const generated = await this.azureToken(userId);
      return { ...generated, expires_in: generated.expires_in ?? 3600, userId, ticket: renewedTicket, returning, mode: 'azure' };
    }
    const conversationId = randomBytes(18).toString('base64url');
    const { token, claims } = tokens.conversationToken(conversationId, userId, config.WEBCHAT_TOKEN_TTL_SECONDS);
    return { token, conversationId, expires_in: claims.exp - claims.iat, userId, ticket: renewedTicket, returning, mode: 'local' };
  }

  private async azureToken(userId: string): Promise<z.infer<typeof GeneratedToken>> {
    const endpoint = this.deps.config.DIRECT_LINE_ENDPOINT.replace(/\/+$/, '');
    let response: Response;
    try {
      response = await (this.deps.fetch ?? fetch)(`${endpoint}/tokens/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.deps.config.DIRECT_LINE_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: { id: userId } }),
        signal: AbortSignal.timeout(DIRECT_LINE_TIMEOUT_MS)
      });
    } catch (error) {
      this.deps.logger.error({ err: error, endpoint }, 'Direct Line token service unreachable');
      throw new DirectLineUnavailable();
    }
    if (!response.ok) {
      // The status says enough (403: wrong secret); the body is not logged in case it echoes the request.
      this.deps.logger.error({ status: response.status, endpoint }, 'Direct Line token service refused');
      await response.body?.cancel();
      throw new DirectLineUnavailable();
    }
    const generated = GeneratedToken.safeParse(await response.json().catch(() => undefined));
    if (!generated.success) {
      this.deps.logger.error({ endpoint }, 'Direct Line token service answered without a token');
      throw new DirectLineUnavailable();
    }
    return generated.data;
  }
}

export class DirectLineUnavailable extends Error {
  constructor() {
    super('The chat service is not available right now. Please try again in a few minutes.');
  }
}
