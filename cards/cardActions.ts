import { z } from 'zod';
import { CommandIntentName, Language } from '../src/content/schema.js';

const id = z.string().min(1).max(100);

/** Everything a button on one of our cards can send back. Anything else is rejected politely. */
export const CardAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('answer'), entryId: id }),
  z.object({ action: z.literal('feedback'), entryId: id, helpful: z.boolean() }),
  z.object({ action: z.literal('command'), command: CommandIntentName }),
  z.object({
    action: z.literal('step'),
    stepId: id,
    choice: z.enum(['done', 'later', 'skip', 'more']),
    value: z.string().max(100).optional()
  }),
  z.object({ action: z.literal('choose'), question: id, value: z.string().min(1).max(40) }),
  z.object({ action: z.literal('jump'), stepId: id.optional() }),
  z.object({ action: z.literal('markDone'), stepId: id.optional() }),
  /** "We already did steps 1 to 3": those steps, confirmed by the person. */
  z.object({ action: z.literal('markSteps'), stepIds: z.array(id).min(1).max(30) }),
  /** "We're already registered": every open step a registered business has done. */
  z.object({ action: z.literal('markRegistered') }),
  z.object({ action: z.literal('setLanguage'), language: Language })
]);
export type CardAction = z.infer<typeof CardAction>;

export type StepChoice = Extract<CardAction, { action: 'step' }>['choice'];
