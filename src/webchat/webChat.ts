import { join } from 'node:path';
import type restify from 'restify';
import type { BotAdapter, Middleware, TurnContext } from 'botbuilder';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { AssistantContent } from '../content/loadContent.js';
import type { RouteModule } from '../server.js';
import { ConversationStore } from './conversationStore.js';
import { DirectLineServer, DIRECT_LINE_PATH, type WebChatLimits } from './directLineServer.js';
import { StaticPage } from './staticPage.js';
import { TOKEN_PATH, WebChatTokenService } from './tokenService.js';
import { WebChatTokens } from './tokens.js';
import { WebChatAdapter, type BotAccount } from './webChatAdapter.js';
import { PROJECT_ROOT } from '../projectRoot.js';

export interface WebChatDeps {
  config: AppConfig;
  logger: Logger;
  runTurn: (context: TurnContext) => Promise<void>;
  /** The same duplicate filter and turn ordering as /api/messages. */
  middleware: Middleware[];
  /** What happens when a turn fails (see src/botAdapter.ts turnErrorHandler). */
  onTurnError: NonNullable<BotAdapter['onTurnError']>;
  dataDir: string;
  content: AssistantContent;
}

export interface WebChatOptions {
  /** Where index.html, app.js and styles.css live (the repository's public/ by default). */
  publicDir?: string;
  limits?: Partial<WebChatLimits>;
  now?: () => number;
}

/**
 * The website chat: the page at /, Web Chat's bundle, /api/webchat/token and a Direct Line 3.0
 * endpoint whose turns run in-process through their own adapter.
 */
export async function createWebChat(deps: WebChatDeps, options: WebChatOptions = {}): Promise<RouteModule> {
  const tokens = await WebChatTokens.open(deps.dataDir, options.now);
  const store = new ConversationStore({ now: options.now });
  const bot: BotAccount = { id: 'carm-assistant', name: deps.content.text.t('en', 'app.name') };
  const adapter = new WebChatAdapter({ store, bot, logger: deps.logger, middleware: deps.middleware, onTurnError: deps.onTurnError });
  const directLine = new DirectLineServer({ config: deps.config, logger: deps.logger, tokens, store, adapter, runTurn: deps.runTurn, bot, limits: options.limits });
  const tokenService = new WebChatTokenService({ config: deps.config, logger: deps.logger, tokens });
  const page = new StaticPage(options.publicDir ?? join(PROJECT_ROOT, 'public'), deps.config);

  return {
    register(server: restify.Server) {
      // Before body parsing: a flood or an oversized body is refused without being read.
      server.pre((req: restify.Request, res: restify.Response, next: restify.Next) => {
        const path = (req.url ?? '').split('?')[0]!;
        let admitted = true;
        if (path.startsWith(`${DIRECT_LINE_PATH}/`) || path === TOKEN_PATH) admitted = directLine.admit(req, res);
        if (admitted && path === TOKEN_PATH && req.method === 'POST') admitted = tokenService.admit(req, res);
        return next(admitted ? undefined : false);
      });
      tokenService.register(server);
      directLine.register(server);
      page.register(server);
    },
    close: () => directLine.close()
  };
}
