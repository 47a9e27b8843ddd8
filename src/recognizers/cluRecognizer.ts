import { ConversationAnalysisClient, type ConversationalTask } from '@azure/ai-language-conversations';
import { AzureKeyCredential } from '@azure/core-auth';
import { CommandIntentName, type Language } from '../content/schema.js';
import { foldText, type Lexicon } from '../content/lexicon.js';
import type { Logger } from '../logger.js';
import { decide, type Candidate, type DecisionThresholds, type Recognition, type UtteranceRecognizer } from './recognition.js';

/** CLU intent names: knowledge entries keep their id, commands are prefixed, "None" is CLU's own. */
export const cluIntentForEntry = (id: string) => id;
export const cluIntentForCommand = (name: string) => `command.${name}`;
export const CLU_NONE = 'None';

/** CLU's codes for our two languages (its supported list has en-us and fr, no fr-ca). */
export const CLU_LANGUAGE: Record<Language, string> = { en: 'en-us', fr: 'fr' };

export interface CluSettings {
  endpoint: string;
  key: string;
  project: string;
  deployment: string;
  timeoutMs: number;
  allowInsecureConnection: boolean;
}

/** CLU scores are calibrated differently from the local recognizer's. */
const CLU_THRESHOLDS: DecisionThresholds = { answer: 0.7, floor: 0.45, margin: 0.08 };

/**
 * Azure AI Language CLU (analyze-conversations). A turn whose CLU call fails or takes longer than the
 * timeout is answered by the local recognizer instead, and the failure is logged.
 */
export class CluRecognizer implements UtteranceRecognizer {
  private readonly client: ConversationAnalysisClient;
  private readonly exactCommands = new Map<string, CommandIntentName>();

  constructor(
    private readonly settings: CluSettings,
    private readonly fallback: UtteranceRecognizer,
    private readonly lexicon: Lexicon,
    private readonly knownEntries: Set<string>,
    private readonly logger: Logger,
    /** Words the interface tells people to type: exactly one of them is that command, without asking CLU. */
    commandWords: Partial<Record<CommandIntentName, { en: string[]; fr: string[] }>> = {}
  ) {
    this.client = new ConversationAnalysisClient(settings.endpoint, new AzureKeyCredential(settings.key), {
      allowInsecureConnection: settings.allowInsecureConnection,
      retryOptions: { maxRetries: 0 }
    });
    for (const [name, words] of Object.entries(commandWords)) {
      for (const w of [...(words?.en ?? []), ...(words?.fr ?? [])]) this.exactCommands.set(exactKey(w), name as CommandIntentName);
    }
  }

  async recognize(text: string, language: Language): Promise<Recognition> {
    const exact = this.exactCommands.get(exactKey(text));
    if (exact) {
      return { decision: 'answer', candidates: [{ kind: 'command', id: exact, score: 1 }], language: this.lexicon.guessLanguage(text), source: 'local' };
    }
    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.settings.timeoutMs);
    try {
      const task: ConversationalTask = {
        kind: 'Conversation',
        analysisInput: {
          // CLU refuses more than 1000 characters; an unpaired surrogate at the cut would be sent as U+FFFD.
          conversationItem: { id: '1', participantId: 'user', text: truncate(text, 1000), language: CLU_LANGUAGE[language] }
        },
        parameters: { projectName: this.settings.project, deploymentName: this.settings.deployment, stringIndexType: 'Utf16CodeUnit' }
      };
      const response = await this.client.analyzeConversation(task, { abortSignal: abort.signal });
      // The SDK maps the wire's confidenceScore to `confidence`.
      const prediction = (
        response as { result?: { prediction?: { projectKind?: string; topIntent?: string; intents?: Array<{ category?: unknown; confidence?: unknown }> } } }
      ).result?.prediction;
      if (!prediction || prediction.projectKind !== 'Conversation' || !Array.isArray(prediction.intents)) {
        throw new Error('CLU answered without a conversation prediction');
      }
      const intents = prediction.intents.filter(
        (i): i is { category: string; confidence: number } =>
          typeof i.category === 'string' && typeof i.confidence === 'number' && i.confidence >= 0 && i.confidence <= 1
      );
      if (intents.length === 0) throw new Error('CLU answered without scored intents');
      const candidates: Candidate[] = [];
      let noneScore = 0;
      for (const intent of [...intents].sort((a, b) => b.confidence - a.confidence)) {
        if (intent.category === CLU_NONE) {
          noneScore = Math.max(noneScore, intent.confidence);
        } else if (intent.category.startsWith('command.')) {
          // An intent the project has but this code does not know (an older or newer export) is ignored.
          const name = CommandIntentName.safeParse(intent.category.slice('command.'.length));
          if (name.success) candidates.push({ kind: 'command', id: name.data, score: intent.confidence });
        } else if (this.knownEntries.has(intent.category)) {
          candidates.push({ kind: 'entry', id: intent.category, score: intent.confidence });
        }
      }
      const detected = this.lexicon.guessLanguage(text);
      // topIntent "None" with a higher-scored intent listed means the project's confidence threshold said no.
      const saysNone = prediction.topIntent === CLU_NONE || noneScore > (candidates[0]?.score ?? 0);
      const decision = saysNone ? 'none' : decide(candidates, CLU_THRESHOLDS);
      return { decision, candidates: candidates.slice(0, 6), language: detected, source: 'clu', ...(saysNone ? { offTopic: true } : {}) };
    } catch (error) {
      this.logger.warn(
        {
          err: error instanceof Error ? error.message : String(error),
          statusCode: (error as { statusCode?: number }).statusCode,
          elapsedMs: Date.now() - started,
          timedOut: abort.signal.aborted
        },
        'CLU failed; this turn uses the local recognizer'
      );
      return this.fallback.recognize(text, language);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Case, accents and punctuation ignored; a message of punctuation only ("?") is kept as typed. */
function exactKey(text: string): string {
  return foldText(text) || text.trim();
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}
