import {
  ActivityTypes,
  BotAdapter,
  TurnContext,
  type Activity,
  type ConversationReference,
  type Middleware,
  type ResourceResponse
} from 'botbuilder';
import type { Logger } from '../logger.js';
import type { ConversationStore } from './conversationStore.js';

export const WEBCHAT_CHANNEL_ID = 'webchat';

/** The bot as the web chat shows it. */
export interface BotAccount {
  id: string;
  name: string;
}

export interface WebChatAdapterDeps {
  store: ConversationStore;
  bot: BotAccount;
  logger: Logger;
  middleware: Middleware[];
  /** What happens when a turn fails (the same handler as the Bot Framework adapter's). */
  onTurnError: NonNullable<BotAdapter['onTurnError']>;
}

/**
 * Runs web chat turns in-process: what the bot sends goes into the conversation's history and out to
 * its open streams, with no Bot Framework Connector in between. Independent of the Teams adapter, so
 * the page works with or without a MicrosoftAppId.
 */
export class WebChatAdapter extends BotAdapter {
  constructor(private readonly deps: WebChatAdapterDeps) {
    super();
    this.use(...deps.middleware);
    this.onTurnError = deps.onTurnError;
  }

  /** Runs one turn for an activity already recorded in the conversation. */
  async processActivity(activity: Partial<Activity>, logic: (context: TurnContext) => Promise<void>): Promise<void> {
    const context = new TurnContext(this, activity);
    await this.runMiddleware(context, logic);
  }

  async sendActivities(context: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    const responses: ResourceResponse[] = [];
    for (const outgoing of activities) {
      if (outgoing.type === 'delay') {
        await new Promise((r) => setTimeout(r, typeof outgoing.value === 'number' ? Math.min(outgoing.value, 10_000) : 1000));
        responses.push({ id: '' });
        continue;
      }
      // Invoke responses and traces are for the channel and the Emulator, not for the person.
      if (outgoing.type === ActivityTypes.InvokeResponse || outgoing.type === ActivityTypes.Trace) {
        responses.push({ id: '' });
        continue;
      }
      const conversationId = outgoing.conversation?.id ?? context.activity.conversation?.id;
      const conversation = conversationId ? this.deps.store.get(conversationId) : undefined;
      if (!conversation) throw new Error(`The web chat conversation ${conversationId} is no longer open.`);
      const id = conversation.append({
        ...outgoing,
        channelId: WEBCHAT_CHANNEL_ID,
        conversation: { id: conversation.id } as Activity['conversation'],
        from: { ...this.deps.bot, role: 'bot' },
        recipient: { id: conversation.userId, role: 'user' } as Activity['recipient'],
        timestamp: new Date()
      });
      responses.push({ id });
    }
    return responses;
  }

  async updateActivity(): Promise<void> {
    throw new Error('The web chat cannot change a message already sent.');
  }

  async deleteActivity(): Promise<void> {
    throw new Error('The web chat cannot delete a message already sent.');
  }

  /** A proactive message into an open web chat conversation. */
  async continueConversation(reference: Partial<ConversationReference>, logic: (context: TurnContext) => Promise<void>): Promise<void> {
    const activity = TurnContext.applyConversationReference({ type: ActivityTypes.Event, name: 'continueConversation' }, reference, true);
    await this.processActivity(activity, logic);
  }
}
