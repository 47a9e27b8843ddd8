import type { AssistantContent } from '../content/loadContent.js';
import type { Language } from '../content/schema.js';
import { CLU_LANGUAGE, CLU_NONE, cluIntentForCommand, cluIntentForEntry } from './cluRecognizer.js';

/**
 * A CLU "import project" file (Azure AI Language authoring API, Conversation project), built from the
 * same content the local recognizer trains on, so a team can train CLU with one upload.
 * Format: https://learn.microsoft.com/azure/ai-services/language-service/conversational-language-understanding/concepts/data-formats
 */
export interface CluProjectFile {
  projectFileVersion: string;
  stringIndexType: 'Utf16CodeUnit';
  metadata: {
    projectKind: 'Conversation';
    projectName: string;
    multilingual: boolean;
    description: string;
    language: string;
    settings: { confidenceThreshold: number };
  };
  assets: {
    projectKind: 'Conversation';
    intents: Array<{ category: string }>;
    entities: never[];
    utterances: Array<{ text: string; intent: string; language: string; dataset: 'Train' | 'Test' }>;
  };
}

/** The authoring API version whose project file format this is. */
export const CLU_PROJECT_FILE_VERSION = '2023-04-01';

/** CLU naming and data limits (service-limits page). */
export const CLU_LIMITS = {
  nameLength: 50,
  /** Project, model and deployment names: letters, digits, _ . - and no spaces. */
  projectName: /^[A-Za-z0-9_.-]{1,50}$/,
  /** Intent names: letters, digits and any symbol except : $ & % * ( ) + ~ # / ? (we also refuse spaces). */
  intentName: /^[A-Za-z0-9!"',;<=>@[\\\]^_`{|}.-]{1,50}$/,
  intents: 500,
  utterances: 25000,
  utteranceLength: 500
} as const;

export class CluExportError extends Error {}

export interface CluExportOptions {
  projectName: string;
  description?: string;
}

/**
 * Intent per knowledge entry (its id), per command (`command.<name>`, its phrasings and command words),
 * and CLU's own "None" for the out-of-scope examples. Duplicate phrasings are kept once; the same phrasing under two intents, a
 * name CLU refuses, or an utterance over CLU's length limit stops the export with the reason.
 */
export function buildCluProject(content: AssistantContent, options: CluExportOptions): CluProjectFile {
  if (!CLU_LIMITS.projectName.test(options.projectName)) {
    throw new CluExportError(`project name "${options.projectName}": CLU allows 1-50 letters, digits, _ . - (no spaces)`);
  }
  const intents: string[] = [];
  const utterances: CluProjectFile['assets']['utterances'] = [];
  const seen = new Map<string, string>(); // language + normalized text -> intent

  const addIntent = (name: string) => {
    if (!CLU_LIMITS.intentName.test(name)) {
      throw new CluExportError(`intent "${name}": CLU intent names are at most 50 characters, without spaces or : $ & % * ( ) + ~ # / ?`);
    }
    if (intents.includes(name)) throw new CluExportError(`intent "${name}" appears twice`);
    intents.push(name);
  };
  const add = (intent: string, language: Language, text: string) => {
    const clean = text.replace(/\s+/g, ' ').trim();
    if (!clean) return;
    if (clean.length > CLU_LIMITS.utteranceLength) {
      throw new CluExportError(`${intent}: utterance longer than ${CLU_LIMITS.utteranceLength} characters: "${clean.slice(0, 60)}…"`);
    }
    const key = `${language}\u0000${clean.toLowerCase()}`;
    const owner = seen.get(key);
    if (owner === intent) return;
    if (owner) throw new CluExportError(`"${clean}" (${language}) is a phrasing of both ${owner} and ${intent}`);
    seen.set(key, intent);
    utterances.push({ text: clean, intent, language: CLU_LANGUAGE[language], dataset: 'Train' });
  };

  for (const entry of content.knowledge) {
    const intent = cluIntentForEntry(entry.id);
    addIntent(intent);
    for (const language of ['en', 'fr'] as const) {
      add(intent, language, entry[language].title);
      for (const q of entry[language].questions) add(intent, language, q);
    }
  }
  // Commands with training phrasings, and those known by their exact words only (goodbye).
  for (const name of new Set([...content.commands.intents.map((c) => c.name), ...Object.keys(content.commandWords)])) {
    const intent = cluIntentForCommand(name);
    addIntent(intent);
    const command = content.commands.intents.find((c) => c.name === name);
    const words = content.commandWords[name];
    for (const u of [...(command?.en ?? []), ...(words?.en ?? [])]) add(intent, 'en', u);
    for (const u of [...(command?.fr ?? []), ...(words?.fr ?? [])]) add(intent, 'fr', u);
  }
  addIntent(CLU_NONE);
  for (const q of content.outOfScope.en) add(CLU_NONE, 'en', q);
  for (const q of content.outOfScope.fr) add(CLU_NONE, 'fr', q);

  if (intents.length > CLU_LIMITS.intents) throw new CluExportError(`${intents.length} intents; CLU allows ${CLU_LIMITS.intents}`);
  if (utterances.length > CLU_LIMITS.utterances) throw new CluExportError(`${utterances.length} utterances; CLU allows ${CLU_LIMITS.utterances}`);

  return {
    projectFileVersion: CLU_PROJECT_FILE_VERSION,
    stringIndexType: 'Utf16CodeUnit',
    metadata: {
      projectKind: 'Conversation',
      projectName: options.projectName,
      multilingual: true,
      description: options.description ?? 'CARM Onboarding Assistant: CARM questions and commands, English and French',
      language: CLU_LANGUAGE.en,
      // 0: CLU never replaces a prediction by None on its own; the bot applies its calibrated thresholds
      // (answer / clarify / not sure) to the scores. A threshold raised later in Language Studio is honoured.
      settings: { confidenceThreshold: 0 }
    },
    assets: {
      projectKind: 'Conversation',
      intents: intents.map((category) => ({ category })),
      entities: [],
      utterances
    }
  };
}

/** Counts for the one-line summary. */
export function summarize(project: CluProjectFile): { intents: number; commands: number; utterances: number; byLanguage: Record<string, number> } {
  const byLanguage: Record<string, number> = {};
  for (const u of project.assets.utterances) byLanguage[u.language] = (byLanguage[u.language] ?? 0) + 1;
  const commands = project.assets.intents.filter((i) => i.category.startsWith('command.')).length;
  return { intents: project.assets.intents.length, commands, utterances: project.assets.utterances.length, byLanguage };
}
