import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type restify from 'restify';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Activity, TurnContext } from 'botbuilder';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { InFlightTurns } from '../server.js';
import type { ConversationStore, WebChatConversation } from './conversationStore.js';
import { TokenBucketLimiter, type TokenBucketOptions } from './rateLimiter.js';
import { TokenError, type ConversationClaims, type WebChatTokens } from './tokens.js';
import { WEBCHAT_CHANNEL_ID, type BotAccount, type WebChatAdapter } from './webChatAdapter.js';
import { bearerToken, clientAddress, parseWatermark, publicBaseUrl, sendError } from './httpHelpers.js';

export const DIRECT_LINE_PATH = '/v3/directline';

export interface WebChatLimits {
  /** Largest activity a page may post, in bytes. */
  maxActivityBytes: number;
  /** Every web chat request, per client address. */
  perClient: TokenBucketOptions;
  /** Activities posted, per conversation: a person does not send more than one a second for long. */
  perConversation: TokenBucketOptions;
  /** WebSocket pings; a stream that misses one is closed. */
  heartbeatMs: number;
}

export const DEFAULT_LIMITS: WebChatLimits = {
  maxActivityBytes: 32 * 1024,
  perClient: { capacity: 240, refillPerSecond: 20 },
  perConversation: { capacity: 20, refillPerSecond: 1 },
  heartbeatMs: 30_000
};

const Locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/, 'a language tag such as en-CA');

const StartConversationBody = z
  .object({ user: z.object({ id: z.string().max(256).optional() }).optional(), locale: Locale.optional() })
  .optional();

/** What a page may post. Unknown fields are dropped; the server sets who sent it, where and when. */
const PostedActivity = z
  .object({
    type: z.enum(['message', 'event', 'typing'], { error: 'type must be message, event or typing' }),
    text: z.string().optional(),
    textFormat: z.enum(['plain', 'markdown', 'xml']).optional(),
    value: z.unknown().optional(),
    name: z.string().min(1).max(256).optional(),
    locale: Locale.optional(),
    localTimestamp: z.string().max(64).optional(),
    localTimezone: z.string().max(64).optional(),
    from: z.object({ id: z.string().max(256).optional(), name: z.string().max(128).optional() }).optional(),
    channelData: z.record(z.string(), z.unknown()).optional(),
    entities: z.array(z.record(z.string(), z.unknown())).max(16).optional(),
    attachments: z.array(z.unknown()).max(0, 'attachments (file uploads) are not supported by this assistant').optional(),
    replyToId: z.string().max(256).optional()
  })
  .refine((a) => a.type !== 'event' || a.name, { message: 'an event needs a name', path: ['name'] });

type Handler = (req: restify.Request, res: restify.Response) => Promise<void>;

/** A refusal with its status, raised anywhere in a request and answered in one place. */
class Refusal extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export interface DirectLineServerDeps {
  config: AppConfig;
  logger: Logger;
  tokens: WebChatTokens;
  store: ConversationStore;
  adapter: WebChatAdapter;
  runTurn: (context: TurnContext) => Promise<void>;
  bot: BotAccount;
  limits?: Partial<WebChatLimits>;
}

/**
 * The Direct Line 3.0 endpoints Web Chat's own client (botframework-directlinejs) uses, served by the
 * bot itself: start or resume a conversation, post activities (echoed back with their id, as Web Chat
 * waits for), read them by watermark, refresh tokens, and a WebSocket stream.
 */
export class DirectLineServer {
  private readonly limits: WebChatLimits;
  private readonly perClient: TokenBucketLimiter;
  private readonly perConversation: TokenBucketLimiter;
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 });
  private readonly turns = new InFlightTurns();
  private heartbeat?: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly deps: DirectLineServerDeps) {
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.perClient = new TokenBucketLimiter(this.limits.perClient);
    this.perConversation = new TokenBucketLimiter(this.limits.perConversation);
  }

  /** Applied before body parsing: floods and oversized bodies are refused without reading them. */
  admit(req: restify.Request, res: restify.Response): boolean {
    const decision = this.perClient.take(clientAddress(req));
    if (!decision.allowed) {
      sendError(res, 429, `Too many requests; try again in ${decision.retryAfterSeconds} s.`, { 'retry-after': String(decision.retryAfterSeconds) });
      return false;
    }
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith(`${DIRECT_LINE_PATH}/`)) return true;
    if (/^\/v3\/directline\/conversations\/[^/]+\/upload$/.test(path)) {
      sendError(res, 415, 'File uploads are not supported by this assistant. Please type your question instead.', { connection: 'close' });
      return false;
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > this.limits.maxActivityBytes) {
      sendError(res, 413, `The request is larger than ${this.limits.maxActivityBytes / 1024} KB.`, { connection: 'close' });
      return false;
    }
    return true;
  }

  register(server: restify.Server): void {
    const base = DIRECT_LINE_PATH;
    server.post(`${base}/conversations`, this.handle((req, res) => this.startConversation(req, res)));
    server.get(`${base}/conversations/:conversationId`, this.handle((req, res) => this.resumeConversation(req, res)));
    server.post(`${base}/conversations/:conversationId/activities`, this.handle((req, res) => this.postActivity(req, res)));
    server.get(`${base}/conversations/:conversationId/activities`, this.handle((req, res) => this.getActivities(req, res)));
    server.get(`${base}/conversations/:conversationId/stream`, this.handle(async () => {
      throw new Refusal(400, 'This URL is a WebSocket stream: connect with a WebSocket client.');
    }));
    server.post(`${base}/tokens/refresh`, this.handle((req, res) => this.refreshToken(req, res)));

    server.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.checkStreams(), this.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Waits for turns in progress, then closes every stream. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.turns.whenIdle();
    for (const ws of this.sockets.clients) ws.close(1001, 'server stopping');
    await new Promise<void>((resolve) => this.sockets.close(() => resolve()));
    for (const ws of this.sockets.clients) ws.terminate();
  }

  private handle(work: Handler) {
    return async (req: restify.Request, res: restify.Response) => {
      res.setHeader('cache-control', 'no-store');
      if (this.closing) return sendError(res, 503, 'The assistant is restarting; try again in a moment.');
      try {
        await work(req, res);
      } catch (error) {
        if (error instanceof Refusal) return sendError(res, error.status, error.message, error.headers);
        this.deps.logger.error({ err: error, url: req.url }, 'web chat request failed');
        if (!res.headersSent) sendError(res, 500, 'Something went wrong on our side.');
      }
    };
  }

  private authenticate(req: IncomingMessage): ConversationClaims {
    const token = bearerToken(req);
    if (!token) throw new Refusal(401, 'Missing "Authorization: Bearer <token>" header; get a token from /api/webchat/token.');
    try {
      return this.deps.tokens.verify(token, 'conversation');
    } catch (error) {
      if (error instanceof TokenError && error.reason === 'expired') {
        throw new Refusal(403, 'The token has expired: refresh it before it expires, or get a new one from /api/webchat/token.');
      }
      throw new Refusal(401, `Invalid token: ${(error as Error).message}`);
    }
  }

  /** The conversation named in the URL, which must be the one the token is bound to. */
  private conversationFor(req: restify.Request, claims: ConversationClaims, continueAfter?: number): WebChatConversation {
    const id = String(req.params?.conversationId ?? '');
    if (id !== claims.conv) throw new Refusal(403, 'This token belongs to another conversation.');
    const conversation = this.deps.store.get(id) ?? this.deps.store.create(id, claims.user, continueAfter);
    if (conversation.userId !== claims.user) throw new Refusal(403, 'This token belongs to another user.');
    return conversation;
  }

  private watermark(req: restify.Request): number | undefined {
    const watermark = parseWatermark((req.query as Record<string, unknown> | undefined)?.watermark);
    if (watermark === 'invalid') throw new Refusal(400, 'watermark must be a whole number, as returned by this service.');
    return watermark;
  }

  private conversationResource(req: IncomingMessage, claims: ConversationClaims, token: string, watermark?: number) {
    const streamToken = this.deps.tokens.streamToken(claims.conv, claims.user);
    const wsBase = publicBaseUrl(req, this.deps.config).replace(/^http/, 'ws');
    const query = new URLSearchParams({ t: streamToken, ...(watermark !== undefined ? { watermark: String(watermark) } : {}) });
    return {
      conversationId: claims.conv,
      token,
      expires_in: Math.max(0, claims.exp - this.deps.tokens.nowSeconds()),
      streamUrl: `${wsBase}${DIRECT_LINE_PATH}/conversations/${encodeURIComponent(claims.conv)}/stream?${query}`
    };
  }

  private async startConversation(req: restify.Request, res: restify.Response): Promise<void> {
    const claims = this.authenticate(req);
    const body = StartConversationBody.safeParse(req.body ?? undefined);
    if (!body.success) throw new Refusal(400, `Invalid conversation request: ${describe(body.error)}`);
    const token = bearerToken(req)!;
    if (this.deps.store.get(claims.conv)) {
      res.send(200, this.conversationResource(req, claims, token));
      return;
    }
    const conversation = this.deps.store.create(claims.conv, claims.user);
    res.send(201, this.conversationResource(req, claims, token));
    // The bot greets the person who joined; the greeting reaches the page through its stream or a poll.
    const joined: Partial<Activity> = {
      ...this.envelope(req, conversation, body.data?.locale),
      type: 'conversationUpdate',
      membersAdded: [{ id: conversation.userId }, { id: this.deps.bot.id, name: this.deps.bot.name }] as Activity['membersAdded']
    };
    void this.runTurn(joined);
  }

  private async resumeConversation(req: restify.Request, res: restify.Response): Promise<void> {
    const claims = this.authenticate(req);
    const watermark = this.watermark(req);
    this.conversationFor(req, claims, watermark);
    res.send(200, this.conversationResource(req, claims, bearerToken(req)!, watermark));
  }

  private async getActivities(req: restify.Request, res: restify.Response): Promise<void> {
    const claims = this.authenticate(req);
    const watermark = this.watermark(req);
    res.send(200, this.conversationFor(req, claims, watermark).since(watermark));
  }

  private async refreshToken(req: restify.Request, res: restify.Response): Promise<void> {
    const claims = this.authenticate(req);
    const { token, claims: fresh } = this.deps.tokens.conversationToken(claims.conv, claims.user, this.deps.config.WEBCHAT_TOKEN_TTL_SECONDS);
    res.send(200, { conversationId: fresh.conv, token, expires_in: fresh.exp - fresh.iat });
  }

  private async postActivity(req: restify.Request, res: restify.Response): Promise<void> {
    const claims = this.authenticate(req);
    const conversation = this.conversationFor(req, claims);
    const rate = this.perConversation.take(conversation.id);
    if (!rate.allowed) {
      throw new Refusal(429, `Too many messages; try again in ${rate.retryAfterSeconds} s.`, { 'retry-after': String(rate.retryAfterSeconds) });
    }
    // A chunked body has no Content-Length for admit() to check.
    const raw = (req as { rawBody?: string | Buffer }).rawBody;
    if (raw !== undefined && Buffer.byteLength(raw) > this.limits.maxActivityBytes) {
      throw new Refusal(413, `The request is larger than ${this.limits.maxActivityBytes / 1024} KB.`);
    }
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Buffer.isBuffer(req.body)) {
      throw new Refusal(400, 'The body must be a JSON activity with "Content-Type: application/json".');
    }
    const parsed = PostedActivity.safeParse(req.body);
    if (!parsed.success) throw new Refusal(400, `Invalid activity: ${describe(parsed.error)}`);
    const posted = parsed.data;
    const activity: Partial<Activity> = {
      ...posted,
      ...this.envelope(req, conversation, posted.locale),
      from: { id: conversation.userId, ...(posted.from?.name ? { name: posted.from.name } : {}), role: 'user' }
    } as Partial<Activity>;
    // A typing indicator is neither kept nor a turn: the bot has nothing to say to it.
    if (activity.type === 'typing') {
      res.send(200, { id: `${conversation.id}|typing` });
      return;
    }
    // The echo (with the page's clientActivityID) tells Web Chat its message arrived.
    activity.id = conversation.append(activity);
    // The bot gets its own copy: it may trim the text or mentions, the history keeps what was sent.
    await this.runTurn(structuredClone(activity));
    res.send(200, { id: activity.id });
  }

  /** The fields the server sets on everything a page sends: who, where, when. */
  private envelope(req: IncomingMessage, conversation: WebChatConversation, locale?: string): Partial<Activity> {
    return {
      channelId: WEBCHAT_CHANNEL_ID,
      serviceUrl: `${publicBaseUrl(req, this.deps.config)}${DIRECT_LINE_PATH}`,
      conversation: { id: conversation.id } as Activity['conversation'],
      from: { id: conversation.userId, role: 'user' } as Activity['from'],
      recipient: { id: this.deps.bot.id, name: this.deps.bot.name, role: 'bot' } as Activity['recipient'],
      timestamp: new Date(),
      ...(locale ? { locale } : {})
    };
  }

  private runTurn(activity: Partial<Activity>): Promise<void> {
    return this.turns.track(async () => {
      try {
        await this.deps.adapter.processActivity(activity, this.deps.runTurn);
      } catch (error) {
        // The adapter's error handler already apologised; this is a failure inside that handler.
        this.deps.logger.error({ err: error, conversationId: activity.conversation?.id }, 'web chat turn could not be handled');
      }
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ error: reason })}`);
    };
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/v3\/directline\/conversations\/([^/]+)\/stream$/.exec(url.pathname);
    if (!match) return refuse(404, 'Not Found');
    if (this.closing) return refuse(503, 'Service Unavailable');
    if (!this.perClient.take(clientAddress(req)).allowed) return refuse(429, 'Too Many Requests');
    let claims;
    try {
      claims = this.deps.tokens.verify(url.searchParams.get('t'), 'stream');
    } catch (error) {
      return refuse(error instanceof TokenError && error.reason === 'expired' ? 403 : 401, 'Forbidden');
    }
    const id = decodeURIComponent(match[1]!);
    if (id !== claims.conv) return refuse(403, 'Forbidden');
    const watermark = parseWatermark(url.searchParams.get('watermark') ?? undefined);
    if (watermark === 'invalid') return refuse(400, 'Bad Request');
    const conversation = this.deps.store.get(id) ?? this.deps.store.create(id, claims.user, watermark);
    if (conversation.userId !== claims.user) return refuse(403, 'Forbidden');
    this.sockets.handleUpgrade(req, socket, head, (ws) => this.stream(ws, conversation, watermark));
  }

  /** Sends what the client has not seen yet, then every new activity as it is added. */
  private stream(ws: WebSocket, conversation: WebChatConversation, watermark?: number): void {
    const alive = ws as WebSocket & { alive?: boolean };
    alive.alive = true;
    ws.on('pong', () => (alive.alive = true));
    const send = (set: { activities: unknown[]; watermark: string }) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(set));
    };
    const unsubscribe = conversation.subscribe(send);
    const backlog = conversation.since(watermark);
    if (backlog.activities.length > 0) send(backlog);
    // The client's keep-alive is an empty message; nothing else is expected on the stream.
    ws.on('message', () => undefined);
    ws.on('close', unsubscribe);
    ws.on('error', () => ws.terminate());
  }

  /** Closes streams whose other end vanished without a close (a laptop lid, a dropped network). */
  private checkStreams(): void {
    for (const ws of this.sockets.clients) {
      const alive = ws as WebSocket & { alive?: boolean };
      if (alive.alive === false) {
        ws.terminate();
        continue;
      }
      alive.alive = false;
      ws.ping();
    }
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
}
