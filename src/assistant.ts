import { join, resolve } from 'node:path';
import type { Storage, TurnContext } from 'botbuilder';
import type { AppConfig } from './config.js';
import type { Logger } from './logger.js';
import { loadContent, type AssistantContent } from './content/loadContent.js';
import { DurableJsonStorage } from './storage/durableJsonStorage.js';
import { SafeBlobsStorage } from './storage/blobStorage.js';
import { LeanConversationState } from './storage/leanConversationState.js';
import { ProgressRepository } from './onboarding/progressRepository.js';
import { OnboardingPlan } from './onboarding/onboardingPlan.js';
import { InsightsLog } from './insights/insightsLog.js';
import { LocalRecognizer } from './recognizers/localRecognizer.js';
import { createRecognizer } from './recognizers/createRecognizer.js';
import { createChannelAdapter, turnErrorHandler } from './botAdapter.js';
import { DuplicateActivityFilter, SerializedConversationTurns } from './middleware/turnOrdering.js';
import { UnhandledInvokeGuard } from './middleware/invokeGuard.js';
import { OneMessagePerTurn } from './middleware/oneMessagePerTurn.js';
import { createHttpServer, type HttpServer, type RouteModule } from './server.js';
import { createWebChat } from './webchat/webChat.js';
import { KnowledgeResponder } from '../dialogs/knowledgeResponder.js';
import { CardMemo } from '../cards/renderCard.js';
import { LanguagePreferences } from '../dialogs/languagePreferences.js';
import { MainDialog } from '../dialogs/mainDialog.js';
import { CarmAssistantBot } from '../dialogs/carmAssistantBot.js';
import type { ConversationDeps } from '../dialogs/conversationDeps.js';
import { PROJECT_ROOT, VERSION } from './projectRoot.js';

export { PROJECT_ROOT, VERSION };

export interface Assistant {
  http: HttpServer;
  storage: Storage;
  content: AssistantContent;
  progress: ProgressRepository;
  bot: CarmAssistantBot;
  /** Runs one turn through the same middleware and bot as /api/messages (used by the web chat). */
  runTurn: (context: TurnContext) => Promise<void>;
  /** Stops the server, waits for turns, makes every write durable and releases the data directory. */
  close(): Promise<void>;
}

export interface AssistantOptions {
  contentDir?: string;
  /** Replaces the configured store (benchmarks compare against MemoryStorage). */
  storage?: Storage;
}

/** The composition root: builds every part once and hands each what it needs. */
export async function createAssistant(config: AppConfig, logger: Logger, options: AssistantOptions = {}): Promise<Assistant> {
  const dataDir = resolve(config.DATA_DIR);
  // The store is read from disk while the content is parsed and the recognizer trained: opening a
  // large JSON store is mostly waiting for the disk.
  const opening: Promise<Storage> = (async () =>
    options.storage ??
    (config.STORAGE === 'blob'
      ? SafeBlobsStorage.fromConnectionString(config.BLOB_CONNECTION_STRING!, config.BLOB_CONTAINER)
      : await DurableJsonStorage.open(dataDir)))();
  // Awaited below; until then a failure to open must not count as an unhandled rejection.
  opening.catch(() => undefined);
  let content: AssistantContent;
  let local: LocalRecognizer;
  try {
    content = await loadContent(options.contentDir ?? join(PROJECT_ROOT, 'content'));
    local = LocalRecognizer.fromContent(content);
  } catch (error) {
    await opening.then(
      (s) => (s instanceof DurableJsonStorage ? s.close() : undefined),
      () => undefined
    );
    throw error;
  }
  const storage = await opening;
  const closeStorage = async () => {
    if (storage instanceof DurableJsonStorage) await storage.close();
  };
  try {
    const conversationState = new LeanConversationState(storage);
    // The JSON store locks its data directory: this process is its only writer.
    const progress = new ProgressRepository(storage, { exclusiveStore: storage instanceof DurableJsonStorage, logger });
    const plan = new OnboardingPlan(content.plan);
    const insights = new InsightsLog(join(dataDir, 'insights.jsonl'));
    const recognizer = createRecognizer(config, local, content, logger);
    const cards = new CardMemo();
    const deps: ConversationDeps = {
      content,
      plan,
      progress,
      cards,
      responder: new KnowledgeResponder(content.knowledge, content.text, insights, cards),
      recognizer,
      languages: new LanguagePreferences(progress),
      logger
    };
    const mainDialog = new MainDialog(deps);
    const bot = new CarmAssistantBot(deps, mainDialog, conversationState);

    const adapter = createChannelAdapter(config);
    const dedupe = new DuplicateActivityFilter();
    const ordering = new SerializedConversationTurns();
    const oneMessage = new OneMessagePerTurn();
    adapter.use(new UnhandledInvokeGuard(logger)).use(dedupe).use(ordering).use(oneMessage);
    const apology = (context: TurnContext) => content.text.t(CarmAssistantBot.languageOf(context), 'error.apology');
    const forgetTurn = (context: TurnContext) => bot.forgetFailedTurn(context);
    adapter.onTurnError = turnErrorHandler({ logger, forgetTurn, apology });

    const runTurn = (context: TurnContext) => bot.run(context);
    const modules: RouteModule[] = [
      await createWebChat({ config, logger, runTurn, middleware: [dedupe, ordering, oneMessage],
        onTurnError: turnErrorHandler({ logger, forgetTurn, apology, message: 'web chat turn failed' }),
        dataDir,
        content
      })
    ];
    const http = createHttpServer({ adapter, runTurn, logger, version: VERSION, modules });

    return {
      http,
      storage,
      content,
      progress,
      bot,
      runTurn,
      async close() {
        await http.close();
        await insights.close();
        await closeStorage();
      }
    };
  } catch (error) {
    await closeStorage();
    throw error;
  }
}
