import restify from 'restify';
import { z } from 'zod';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import type { Logger } from './logger.js';

export const MAX_BODY_BYTES = 256 * 1024;

/** Text that can go into a URL or a storage key: no unpaired UTF-16 surrogates (encodeURIComponent throws on them). */
const wellFormed = (s: string) => !/\p{Surrogate}/u.test(s);
const identifier = z.string().min(1).max(1024).refine(wellFormed, 'well-formed text');
/**
 * Ids the connector puts in the reply's URL path and headers: printable Latin-1 only (Node refuses
 * anything else in a header), and not a dot segment (a URL would resolve it away).
 */
const routableId = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => /^[\x20-\x7e\xa0-\xff]+$/.test(s) && s !== '.' && s !== '..', 'printable Latin-1 text, not "." or ".."');

/** A person or bot on the channel; the bot copies these into its replies, where the connector checks their types. */
const ChannelAccount = z.looseObject({
  id: identifier,
  name: z.string().optional(),
  aadObjectId: z.string().optional(),
  role: z.string().optional()
});

/**
 * The least an activity must carry before the adapter sees it, with the types the Bot Framework
 * schema gives the fields the bot reads or sends back; anything else is a 400, not a 500 or a failed turn.
 */
const IncomingActivity = z.object({
  type: z.string().min(1).max(64),
  id: routableId.optional(),
  serviceUrl: z.string().max(2048).refine((u) => /^https?:\/\/[^\s]+$/i.test(u), 'an http(s) URL'),
  channelId: z.string().min(1).max(256).refine(wellFormed, 'well-formed text'),
  conversation: z.looseObject({
    id: routableId,
    name: z.string().optional(),
    conversationType: z.string().optional(),
    tenantId: z.string().optional(),
    isGroup: z.boolean().optional(),
    aadObjectId: z.string().optional(),
    role: z.string().optional()
  }),
  from: ChannelAccount,
  recipient: ChannelAccount.partial({ id: true }).optional(),
  replyToId: routableId.optional(),
  locale: z.string().max(64).optional(),
  text: z.string().optional(),
  value: z.unknown().optional(),
  name: z.string().optional(),
  entities: z.array(z.looseObject({ type: z.string() })).optional(),
  attachments: z.array(z.looseObject({ contentType: z.string() })).optional(),
  membersAdded: z.array(ChannelAccount).optional(),
  membersRemoved: z.array(ChannelAccount).optional(),
  timestamp: z.string().optional(),
  localTimestamp: z.string().optional(),
  expiration: z.string().optional(),
  channelData: z.unknown().optional()
}).refine(
  // Teams always sends its channelData object; botbuilder's Teams handler reads it without a check.
  (a) => a.channelId !== 'msteams' || (typeof a.channelData === 'object' && a.channelData !== null && !Array.isArray(a.channelData)),
  { message: 'Teams activities carry a channelData object', path: ['channelData'] }
);

/** Routes another part of the product (the web chat) adds to the same server. */
export interface RouteModule {
  register(server: restify.Server): void;
  close?(): Promise<void>;
}

export interface HttpServerDeps {
  adapter: CloudAdapter;
  runTurn: (context: TurnContext) => Promise<void>;
  logger: Logger;
  version: string;
  modules?: RouteModule[];
}

/** Counts turns in progress so shutdown can wait for them. */
export class InFlightTurns {
  private count = 0;
  private idle: Array<() => void> = [];

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      this.count--;
      if (this.count === 0) this.idle.splice(0).forEach((r) => r());
    }
  }

  get active(): number {
    return this.count;
  }

  whenIdle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }
}

export interface HttpServer {
  server: restify.Server;
  turns: InFlightTurns;
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting requests and waits for turns in progress. */
  close(): Promise<void>;
}

export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const { adapter, logger } = deps;
  const server = restify.createServer({ name: 'carm-assistant', handleUncaughtExceptions: false });
  const turns = new InFlightTurns();
  let closing = false;

  server.use(restify.plugins.queryParser({ mapParams: false }));
  server.use(restify.plugins.bodyParser({ maxBodySize: MAX_BODY_BYTES, mapParams: false, rejectUnknown: false }));

  server.get('/healthz', async (_req, res) => {
    if (closing) {
      res.send(503, { status: 'stopping', version: deps.version });
    } else {
      res.send(200, { status: 'ok', version: deps.version });
    }
  });

  server.post('/api/messages', async (req, res) => {
    if (closing) {
      res.send(503, { error: 'The assistant is restarting; try again in a moment.' });
      return;
    }
    const check = IncomingActivity.safeParse(req.body);
    if (!check.success) {
      const issue = check.error.issues[0]!;
      res.send(400, { error: `Invalid activity: ${issue.path.join('.') || 'body'}: ${issue.message}` });
      return;
    }
    try {
      await turns.track(() => adapter.process(req, res, deps.runTurn));
    } catch (error) {
      // The adapter already answered when it can; this covers a failure before it did.
      logger.error({ err: error }, 'activity processing failed');
      if (!res.headersSent) res.send(400, { error: 'The activity could not be processed.' });
    }
  });

  for (const module of deps.modules ?? []) module.register(server);

  // restify's default error body can include internals; keep it to a code and a plain message.
  server.on('restifyError', (req: restify.Request, _res: restify.Response, err: Error & { statusCode?: number; toJSON?: () => unknown }, callback: () => void) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) logger.error({ err, url: req.url }, 'request failed');
    err.toJSON = () => ({ error: status >= 500 ? 'Something went wrong on our side.' : err.message });
    return callback();
  });

  return {
    server,
    turns,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          resolve((server.address() as { port: number }).port);
        });
      });
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets would hold close() open.
      (server.server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      await turns.whenIdle();
      for (const module of deps.modules ?? []) await module.close?.();
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
    }
  };
}
