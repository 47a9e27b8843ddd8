import { ActivityTypes, type Activity, type Middleware, type ResourceResponse, type TurnContext } from 'botbuilder';

/** Fields of a plain reply (text, cards) once botbuilder has addressed it; anything else is sent as it is. */
const PLAIN_FIELDS = new Set([
  'type',
  'text',
  'speak',
  'textFormat',
  'inputHint',
  'attachments',
  'attachmentLayout',
  'locale',
  'channelId',
  'serviceUrl',
  'conversation',
  'from',
  'recipient',
  'replyToId'
]);

/** Teams refuses messages over about 28 KB; a merged reply stays well under it. */
const MAX_MERGED_BYTES = 20_000;

function isPlain(activity: Partial<Activity>): boolean {
  if (activity.type !== ActivityTypes.Message) return false;
  if (activity.attachmentLayout && activity.attachmentLayout !== 'list') return false;
  for (const key of Object.keys(activity)) {
    if (!PLAIN_FIELDS.has(key) && (activity as Record<string, unknown>)[key] !== undefined) return false;
  }
  return true;
}

/** Serialized sizes of cards seen; built cards are shared and frozen, so each is measured once. */
const measured = new WeakMap<object, number>();

function attachmentSize(attachment: object): number {
  let bytes = measured.get(attachment);
  if (bytes === undefined) {
    bytes = JSON.stringify(attachment).length;
    if (Object.isFrozen(attachment)) measured.set(attachment, bytes);
  }
  return bytes;
}

const size = (a: Partial<Activity>) => (a.text?.length ?? 0) + (a.attachments ?? []).reduce((sum, x) => sum + attachmentSize(x), 0);

/**
 * Sends one message per turn where it reads the same: "✓ Done" and the next step's card, an answer
 * and the question it interrupted, a greeting and the menu go out as one message with the text on
 * top and the cards in order. Every reply is a call to the channel (and counts against Teams'
 * per-conversation rate limit), and a single message arrives as one piece.
 *
 * Replies are held until the turn's work is done, then merged. A text that follows a card is not
 * merged into it (it would show above the card); nor is anything but a plain text-and-cards message.
 */
export class OneMessagePerTurn implements Middleware {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const held: Array<Partial<Activity>> = [];
    let flushing = false;
    /** Sends past the hold below. */
    const sendNow = async (activities: Array<Partial<Activity>>) => {
      flushing = true;
      try {
        return await context.sendActivities(activities);
      } finally {
        flushing = false;
      }
    };
    const flush = async () => {
      if (held.length > 0) await sendNow(merge(held.splice(0)));
    };
    context.onSendActivities(async (_ctx, activities, send) => {
      if (flushing) return send();
      const responses: ResourceResponse[] = [];
      for (const activity of activities) {
        if (isPlain(activity)) {
          held.push(activity);
          // The reply counts as given now: prompts check this to decide whether to re-ask.
          context.responded = true;
          responses.push({ id: '' });
        } else {
          await flush();
          responses.push(...(await sendNow([activity])));
        }
      }
      return responses;
    });
    try {
      await next();
    } finally {
      await flush();
    }
  }
}

/** Folds consecutive plain replies: texts first, then the cards, as the user would read them. */
export function merge(replies: Array<Partial<Activity>>): Array<Partial<Activity>> {
  if (replies.length === 1) return [{ ...replies[0] }];
  const out: Array<Partial<Activity>> = [];
  const sizes: number[] = [];
  for (const reply of replies) {
    const last = out.at(-1);
    const cardsBeforeText = !!last?.attachments?.length && !!reply.text;
    const replySize = size(reply);
    if (!last || cardsBeforeText || sizes.at(-1)! + replySize > MAX_MERGED_BYTES) {
      out.push({ ...reply });
      sizes.push(replySize);
      continue;
    }
    sizes[sizes.length - 1]! += replySize;
    if (reply.text) last.text = last.text ? `${last.text}\n\n${reply.text}` : reply.text;
    if (reply.speak) last.speak = last.speak ? `${last.speak} ${reply.speak}` : reply.speak;
    if (reply.attachments?.length) {
      last.attachments = [...(last.attachments ?? []), ...reply.attachments];
      last.attachmentLayout = 'list';
    }
    if (reply.inputHint) last.inputHint = reply.inputHint;
    if (reply.textFormat && !last.textFormat) last.textFormat = reply.textFormat;
  }
  return out;
}
