import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import type * as AdaptiveCardsTypes from 'adaptivecards';
import { CardAction } from '../../cards/cardActions.js';
import { readUserInput } from '../../dialogs/userInput.js';

// adaptivecards' lib/ is extensionless ESM that Node cannot resolve; dist/ is the UMD build of the same
// source. Parsing and validating touch no DOM (only rendering does), so Node needs no jsdom for this.
const require = createRequire(import.meta.url);
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCardsTypes;

/** Teams rejects a message over about 28 KB, card included. */
export const TEAMS_MAX_MESSAGE_BYTES = 28 * 1024;
/** Teams shows at most 6 actions in one actions array (the rest would be cut or hidden). */
export const TEAMS_MAX_ACTIONS = 6;
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

type Json = Record<string, any>;

/** What the adaptivecards parser reports for a card targeting version 1.5 in a Teams-like host. */
export function parserProblems(card: Json): string[] {
  // The library's lang check is a /g regex, so its lastIndex leaks from one card to the next and
  // rejects every other valid "fr". Reset it: a library bug, not a card problem.
  const langRegex = AC.CardElement.langProperty.regEx;
  if (langRegex) langRegex.lastIndex = 0;
  const adaptiveCard = new AC.AdaptiveCard();
  adaptiveCard.hostConfig = new AC.HostConfig({ supportsInteractivity: true, actions: { maxActions: TEAMS_MAX_ACTIONS } });
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  adaptiveCard.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of adaptiveCard.validateProperties().validationEvents) problems.push(`validate: ${event.message}`);
  return problems;
}

function walk(node: unknown, path: string, visit: (value: unknown, path: string) => void): void {
  visit(node, path);
  if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`, visit);
}

/** Our own rules for an Action.Submit: object data that both Teams (messageBack) and Web Chat read back. */
function submitProblems(action: Json, path: string): string[] {
  const problems: string[] = [];
  const data = action.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [`${path}: Action.Submit data must be an object (Teams), got ${JSON.stringify(data)}`];
  const msteams = data.msteams;
  if (msteams?.type !== 'messageBack') problems.push(`${path}: no msteams messageBack, so Teams users would not see what they chose`);
  if (typeof msteams?.displayText !== 'string' || msteams.displayText.trim() === '') problems.push(`${path}: messageBack without displayText`);
  else if (msteams.displayText !== action.title) problems.push(`${path}: displayText "${msteams.displayText}" differs from the button "${action.title}"`);
  const { msteams: _ignored, ...hidden } = data;
  const parsed = CardAction.safeParse(msteams?.value);
  if (!parsed.success) problems.push(`${path}: messageBack value is not an action the bot reads: ${JSON.stringify(msteams?.value)}`);
  else {
    if (!isDeepStrictEqual(hidden, msteams.value)) problems.push(`${path}: data and messageBack value disagree`);
    // Teams delivers msteams.value as activity.value; Web Chat the whole data object. Both must read the same.
    const asTeams = readUserInput({ type: 'message', value: msteams.value });
    const asWebChat = readUserInput({ type: 'message', value: data });
    if (!isDeepStrictEqual(asTeams.action, parsed.data) || !isDeepStrictEqual(asWebChat.action, parsed.data)) {
      problems.push(`${path}: readUserInput does not read this button back as ${JSON.stringify(parsed.data)}`);
    }
  }
  return problems;
}

/**
 * Every problem that would stop Teams from showing a card as intended: the adaptivecards parser's
 * errors for version 1.5, plus the Teams limits checked offline. Empty when the card is fine.
 */
export function teamsCardProblems(attachment: Json): string[] {
  const problems: string[] = [];
  if (attachment.contentType !== ADAPTIVE_CARD_CONTENT_TYPE) problems.push(`contentType is ${attachment.contentType}`);
  const card = attachment.content as Json;
  if (!card || typeof card !== 'object') return [...problems, 'no card content'];
  if (card.type !== 'AdaptiveCard') problems.push(`type is ${card.type}`);
  if (card.version !== '1.5') problems.push(`version is ${card.version}, expected 1.5`);
  if (typeof card.fallbackText !== 'string' || !card.fallbackText.trim()) problems.push('no fallbackText');
  const bytes = Buffer.byteLength(JSON.stringify(attachment), 'utf8');
  if (bytes > TEAMS_MAX_MESSAGE_BYTES) problems.push(`card is ${bytes} bytes, over Teams' ${TEAMS_MAX_MESSAGE_BYTES}`);
  if (Array.isArray(card.actions) && card.actions.length > TEAMS_MAX_ACTIONS) problems.push(`${card.actions.length} top-level actions, over ${TEAMS_MAX_ACTIONS}`);
  const inputIds = new Set<string>();

  walk(card, '$', (node, path) => {
    if (typeof node === 'string' && node.includes('${')) problems.push(`${path}: unresolved template expression "${node}"`);
    if (!node || typeof node !== 'object' || Array.isArray(node)) return;
    const o = node as Json;
    if (o.type === 'ActionSet' && Array.isArray(o.actions) && o.actions.length > TEAMS_MAX_ACTIONS) problems.push(`${path}: ${o.actions.length} actions, over ${TEAMS_MAX_ACTIONS}`);
    if (typeof o.type === 'string' && o.type.startsWith('Action.')) {
      if (typeof o.title !== 'string' || !o.title.trim()) problems.push(`${path}: ${o.type} without a title`);
      if (o.type === 'Action.Submit') problems.push(...submitProblems(o, path));
      else if (o.type === 'Action.OpenUrl') {
        let url: URL | undefined;
        try {
          url = new URL(o.url);
        } catch {
          problems.push(`${path}: OpenUrl url is not a URL: ${o.url}`);
        }
        if (url && url.protocol !== 'https:') problems.push(`${path}: OpenUrl url is not https: ${o.url}`);
      } else problems.push(`${path}: ${o.type} is not an action our Teams cards use`);
    }
    if (o.type === 'TextBlock' && (typeof o.text !== 'string' || !o.text.trim())) problems.push(`${path}: empty TextBlock`);
    if (o.type === 'Column' && o.width !== undefined) {
      const w = o.width;
      const ok = (typeof w === 'number' && w > 0) || w === 'auto' || w === 'stretch' || (typeof w === 'string' && /^\d+px$/.test(w));
      if (!ok) problems.push(`${path}: Column width ${JSON.stringify(w)} is not a number, "auto", "stretch" or "NNpx"`);
    }
    if (typeof o.type === 'string' && o.type.startsWith('Input.')) {
      if (typeof o.id !== 'string' || !o.id) problems.push(`${path}: input without id (its value would never be sent)`);
      else if (inputIds.has(o.id)) problems.push(`${path}: duplicate input id ${o.id}`);
      else inputIds.add(o.id);
      if (typeof o.label !== 'string' || !o.label.trim()) problems.push(`${path}: input without a label`);
    }
  });
  problems.push(...parserProblems(card));
  return problems;
}

/** The Adaptive Card attachments in activities the bot sent. */
export function cardAttachments(activities: Json[]): Json[] {
  return activities.flatMap((a) => (a.attachments ?? []).filter((x: Json) => x.contentType === ADAPTIVE_CARD_CONTENT_TYPE));
}
