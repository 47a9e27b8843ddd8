import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  CommandIntentName,
  CommandIntentsFile,
  KnowledgeFile,
  OnboardingPlanFile,
  PROFILE_QUESTIONS,
  WORDS_ONLY_COMMANDS,
  type KnowledgeEntry,
  type OnboardingPlanFile as Plan
} from './schema.js';
import { UiText } from './uiText.js';
import { Lexicon } from './lexicon.js';
import { AnswerWords, AnswerWordsFile } from '../../dialogs/userInput.js';

export class ContentError extends Error {}

/** Everything the assistant says or understands, loaded from content/ and validated. */
export interface AssistantContent {
  knowledge: KnowledgeEntry[];
  commands: CommandIntentsFile;
  plan: Plan;
  text: UiText;
  lexicon: Lexicon;
  answerWords: AnswerWords;
  /** Exact command words the interface tells people to type. */
  commandWords: Record<string, { en: string[]; fr: string[] }>;
  /** Examples of questions the assistant must not answer (training negatives). */
  outOfScope: { en: string[]; fr: string[] };
}

const UiStringsFile = z.record(z.string().regex(/^[a-zA-Z0-9_.-]+$/), z.string().min(1));
const OutOfScopeFile = z.object({ en: z.array(z.string()).min(10), fr: z.array(z.string()).min(10) }).strict();

async function readYaml<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ContentError(`${file}: ${(error as Error).message}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ContentError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

export async function loadContent(dir: string): Promise<AssistantContent> {
  const knowledgeDir = join(dir, 'knowledge');
  const files = (await readdir(knowledgeDir)).filter((f) => f.endsWith('.yaml')).sort();
  const knowledge: KnowledgeEntry[] = [];
  for (const file of files) knowledge.push(...(await readYaml(join(knowledgeDir, file), KnowledgeFile)));

  const ids = new Set<string>();
  for (const entry of knowledge) {
    if (ids.has(entry.id)) throw new ContentError(`knowledge: duplicate id "${entry.id}"`);
    ids.add(entry.id);
  }
  for (const entry of knowledge) {
    for (const related of entry.related) {
      if (!ids.has(related)) throw new ContentError(`knowledge: "${entry.id}" relates to unknown entry "${related}"`);
    }
  }

  const commands = await readYaml(join(dir, 'intents.yaml'), CommandIntentsFile);
  const plan = await readYaml(join(dir, 'onboarding', 'plan.yaml'), OnboardingPlanFile);
  const stepIds = new Set<string>();
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      if (stepIds.has(step.id)) throw new ContentError(`onboarding plan: duplicate step id "${step.id}"`);
      stepIds.add(step.id);
      for (const id of step.learnMore) {
        if (!ids.has(id)) throw new ContentError(`onboarding plan: step "${step.id}" links to unknown entry "${id}"`);
      }
    }
  }
  for (const step of plan.phases.flatMap((p) => p.steps)) {
    for (const note of step.notes) {
      if (note.unlessDone && !stepIds.has(note.unlessDone)) throw new ContentError(`onboarding plan: a note of step "${step.id}" waits for unknown step "${note.unlessDone}"`);
    }
  }

  const text = new UiText({
    en: await readYaml(join(dir, 'strings', 'en.yaml'), UiStringsFile),
    fr: await readYaml(join(dir, 'strings', 'fr.yaml'), UiStringsFile)
  });
  const lexicon = new Lexicon(await readYaml(join(dir, 'lexicon.yaml'), Lexicon.File));
  const outOfScope = await readYaml(join(dir, 'out-of-scope.yaml'), OutOfScopeFile);
  const commandWords = await readYaml(
    join(dir, 'command-words.yaml'),
    z.record(CommandIntentName, z.object({ en: z.array(z.string().min(1)), fr: z.array(z.string().min(1)) }).strict())
  );
  for (const name of WORDS_ONLY_COMMANDS) {
    if (!commandWords[name]?.en.length || !commandWords[name]?.fr.length) throw new ContentError(`command-words.yaml: "${name}" needs words in both languages`);
  }
  const answerWords = new AnswerWords(await readYaml(join(dir, 'answer-words.yaml'), AnswerWordsFile));
  // Phrases keyed by a question or a step ("profile.broker.yes", "step.register-business.topic") must name one
  // ("step.any": said at any step).
  const questions = new Set(Object.keys(PROFILE_QUESTIONS).map((q) => `profile.${q}`));
  const phaseIds = new Set<string>(plan.phases.map((ph) => ph.id));
  for (const kind of answerWords.kinds) {
    const phase = /^phase\.([a-z0-9-]+)\.name$/.exec(kind);
    if (phase && !phaseIds.has(phase[1]!)) throw new ContentError(`answer-words.yaml: "${kind}" names no phase of the plan`);
    const keyed = /^(profile\.[a-z]+|step\.[a-z0-9-]+)\.(yes|no|done|later|topic)$/.exec(kind);
    if (!keyed) continue;
    const [, key, side] = keyed as unknown as [string, string, string];
    const known = key.startsWith('step.') ? (stepIds.has(key.slice(5)) || key === 'step.any') && side !== 'yes' && side !== 'no' : questions.has(key) && (side === 'yes' || side === 'no' || side === 'topic');
    if (!known) throw new ContentError(`answer-words.yaml: "${kind}" names no question or step of the plan`);
  }
  return { knowledge, commands, plan, text, lexicon, outOfScope, answerWords, commandWords };
}
