import type { TurnContext } from 'botbuilder';
import type { Language } from '../src/content/schema.js';
import type { UserRef } from '../src/onboarding/progressRepository.js';
import type { UserInput } from './userInput.js';
import type { CardAction } from '../cards/cardActions.js';

/** What the bot works out once per turn and every dialog reads. */
export interface TurnInfo {
  user: UserRef;
  language: Language;
  /** True when the user chose the language themselves (not guessed from locale or text). */
  languageChosen: boolean;
  /** Set when this turn's message was clearly written in the other language: the conversation goes on in it. */
  languageWritten?: Language;
  /** What the bot offered with a button last turn ("Shall I mark them done?"): a typed "yes" takes it. */
  offer?: CardAction;
  /** What this turn offers, for the next one. */
  nextOffer?: CardAction;
  /** The knowledge entry answered last in this conversation: a short follow-up ("by when?") is read with it. */
  lastTopic?: string;
  /** The entry this turn answered, for the next one. */
  answeredTopic?: string;
  input: UserInput;
  /** Group chats and Teams channels: shorter replies (no extra suggestion cards or related questions). */
  compact: boolean;
}

const KEY = Symbol('carm.turnInfo');

export function setTurnInfo(context: TurnContext, info: TurnInfo): void {
  context.turnState.set(KEY, info);
}

export function turnInfo(context: TurnContext): TurnInfo {
  const info = context.turnState.get(KEY) as TurnInfo | undefined;
  if (!info) throw new Error('turn info was not set for this turn');
  return info;
}

/** Whether replies this turn should be compact; false when no turn info was set (tests, tools). */
export function isCompactTurn(context: TurnContext): boolean {
  return (context.turnState.get(KEY) as TurnInfo | undefined)?.compact ?? false;
}
