import { ConversationAnalysisClient, type ConversationalTask } from '@azure/ai-language-conversations';
import { AzureKeyCredential } from '@azure/core-auth';
import type { Language } from '../content/schema.js';
import type { Lexicon } from '../content/lexicon.js';
import type { Logger } from '../logger.js';
import { decide, type Candidate, type DecisionThresholds, type Recognition, type UtteranceRecognizer } from './recognition.js';

/** CLU intent names: knowledge entries keep their id, commands are prefixed, "None" is CLU's own. */
export const cluIntentForEntry = (id: string) => id;
export const cluIntentForCommand = (name: string) => `command.${name}`;

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

  constructor(
    private readonly settings: CluSettings,
    private readonly fallback: UtteranceRecognizer,
    private readonly lexicon: Lexicon,
    private readonly knownEntries: Set<string>,
    private readonly logger: Logger
  ) {
    this.client = new ConversationAnalysisClient(settings.endpoint, new AzureKeyCredential(settings.key), {
      allowInsecureConnection: settings.allowInsecureConnection,
      retryOptions: { maxRetries: 0 }
    });
  }

  async recognize(text: string, language: Language): Promise<Recognition> {
    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.settings.timeoutMs);
    try {
      const task: ConversationalTask = {
        kind: 'Conversation',
        analysisInput: { conversationItem: { id: '1', participantId: 'user', text: text.slice(0, 1000), language } },
        parameters: { projectName: this.settings.project, deploymentName: this.settings.deployment, stringIndexType: 'Utf16CodeUnit' }
      };
      const response = await this.client.analyzeConversation(task, { abortSignal: abort.signal });
      const prediction = (response as { result?: { prediction?: { projectKind?: string; intents?: Array<{ category: string; confidence: number }> } } })
        .result?.prediction;
      if (!prediction || prediction.projectKind !== 'Conversation' || !Array.isArray(prediction.intents)) {
        throw new Error('CLU answered without a conversation prediction');
      }
      const candidates: Candidate[] = [];
      let noneScore = 0;
      for (const intent of [...prediction.intents].sort((a, b) => b.confidence - a.confidence)) {
        if (intent.category === 'None') {
          noneScore = Math.max(noneScore, intent.confidence);
        } else if (intent.category.startsWith('command.')) {
          candidates.push({ kind: 'command', id: intent.category.slice('command.'.length), score: intent.confidence });
        } else if (this.knownEntries.has(intent.category)) {
          candidates.push({ kind: 'entry', id: intent.category, score: intent.confidence });
        }
      }
      const detected = this.lexicon.guessLanguage(text);
      const decision = noneScore > (candidates[0]?.score ?? 0) ? 'none' : decide(candidates, CLU_THRESHOLDS);
      return { decision, candidates: candidates.slice(0, 6), language: detected, source: 'clu' };
    } catch (error) {
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error), elapsedMs: Date.now() - started, timedOut: abort.signal.aborted },
        'CLU failed; this turn uses the local recognizer'
      );
      return this.fallback.recognize(text, language);
    } finally {
      clearTimeout(timer);
    }
  }
}
