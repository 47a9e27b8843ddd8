import type { ConversationState, StatePropertyAccessor, TurnContext } from 'botbuilder';
import type { Language } from '../src/content/schema.js';
import { CardAction } from '../cards/cardActions.js';
import { LruMap } from '../src/util/lruMap.js';
import type { TurnInfo } from './turnContext.js';

/** Conversations whose hints (language written, topic answered) are kept in memory. */
const RECENT_CONVERSATIONS = 10_000;

interface ConversationHints {
  language?: Language;
  topic?: string;
}

/** What a personal conversation carries from one message to the next, beyond its dialog stack. */
export interface CarriedOver {
  /** The language last clearly written, when it is not the channel's. */
  language?: Language;
  /** The entry answered last, for reading a follow-up. */
  lastTopic?: string;
  /** What the last message offered with a button ("Shall I mark them done?"). */
  offer?: CardAction;
}

/**
 * Keeps what carries over between the messages of a personal chat (group chats keep none of it).
 * An offer stands for the next message only and is kept in conversation state. The written language
 * and the last topic are hints that change with nearly every message (a storage write each time would
 * cost more than they are worth): kept in memory, lost on a restart, when the conversation goes back
 * to the channel's locale.
 */
export class CarryOver {
  private readonly pendingOffer: StatePropertyAccessor<CardAction | undefined>;
  private readonly hints = new LruMap<string, ConversationHints>(RECENT_CONVERSATIONS);

  constructor(conversationState: ConversationState) {
    this.pendingOffer = conversationState.createProperty<CardAction | undefined>('pendingOffer');
  }

  async read(context: TurnContext): Promise<CarriedOver> {
    const id = context.activity.conversation?.id;
    if (!id) return {};
    const hints = this.hints.get(id);
    // Read back through the card schema: stored state is data, and may be from an older version.
    const stored = await this.pendingOffer.get(context);
    return { language: hints?.language, lastTopic: hints?.topic, offer: stored === undefined ? undefined : CardAction.safeParse(stored).data };
  }

  async write(context: TurnContext, turn: TurnInfo): Promise<void> {
    const id = context.activity.conversation?.id;
    if (turn.compact || !id) return;
    if (turn.nextOffer) await this.pendingOffer.set(context, turn.nextOffer);
    else if (turn.offer) await this.pendingOffer.delete(context);
    if (turn.answeredTopic || turn.languageWritten) {
      const known = this.hints.peek(id);
      this.hints.set(id, { language: turn.languageWritten ?? known?.language, topic: turn.answeredTopic ?? known?.topic });
    }
  }
}
