import type { AssistantContent } from '../src/content/loadContent.js';
import type { Logger } from '../src/logger.js';
import type { OnboardingPlan } from '../src/onboarding/onboardingPlan.js';
import type { ProgressRepository } from '../src/onboarding/progressRepository.js';
import type { UtteranceRecognizer } from '../src/recognizers/recognition.js';
import type { CardMemo } from '../cards/renderCard.js';
import type { KnowledgeResponder } from './knowledgeResponder.js';
import type { LanguagePreferences } from './languagePreferences.js';

/** What the dialogs need, built once by the composition root. */
export interface ConversationDeps {
  content: AssistantContent;
  plan: OnboardingPlan;
  progress: ProgressRepository;
  responder: KnowledgeResponder;
  recognizer: UtteranceRecognizer;
  languages: LanguagePreferences;
  /** Cards built once and reused (steps, answers, menus). */
  cards: CardMemo;
  logger: Logger;
}
