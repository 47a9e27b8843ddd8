import { MessageFactory, type TurnContext } from 'botbuilder';
import type { KnowledgeEntry, Language } from '../src/content/schema.js';
import type { UiText } from '../src/content/uiText.js';
import type { InsightsLog } from '../src/insights/insightsLog.js';
import type { Candidate } from '../src/recognizers/recognition.js';
import { answerCard } from '../cards/answerCard.js';
import { choicesCard } from '../cards/choicesCard.js';
import { button, type CardMemo, type SubmitButton } from '../cards/renderCard.js';
import { isCompactTurn } from './turnContext.js';

/** Entries shown under "Popular questions" and as fallback suggestions when nothing is close. */
const POPULAR = ['register-if-using-broker', 'registration-prerequisites', 'delegate-to-broker', 'security-amount', 'billing-cycle-and-due-date'];

/** Sends answers, "Did you mean…?" and honest fallbacks, and notes what was asked. */
export class KnowledgeResponder {
  private readonly byId: Map<string, KnowledgeEntry>;

  constructor(
    knowledge: KnowledgeEntry[],
    private readonly text: UiText,
    private readonly insights: InsightsLog,
    private readonly cards?: CardMemo
  ) {
    this.byId = new Map(knowledge.map((e) => [e.id, e]));
  }

  async sendAnswer(context: TurnContext, entryId: string, language: Language, via: 'text' | 'button'): Promise<boolean> {
    const entry = this.byId.get(entryId);
    if (!entry) return false;
    // Compact (group chats, channels): the answer and its source, without the related-question buttons.
    const related = isCompactTurn(context) ? [] : entry.related.map((id) => this.byId.get(id)).filter((e): e is KnowledgeEntry => !!e);
    await context.sendActivity(MessageFactory.attachment(answerCard(entry, related, language, this.text, this.cards)));
    this.insights.record({ type: 'answered', entryId, language, via });
    return true;
  }

  /** The second question of a message ("…and how much is the bond?") as a button under the first answer. */
  async sendAlsoAsked(context: TurnContext, entryId: string, language: Language): Promise<void> {
    const entry = this.byId.get(entryId);
    if (!entry) return;
    const buttons = [button(entry[language].title, { action: 'answer', entryId })];
    await context.sendActivity(MessageFactory.attachment(choicesCard({ language, text: this.text.t(language, 'answer.alsoAsked'), buttons }, this.cards)));
  }

  async sendClarify(context: TurnContext, candidates: Candidate[], language: Language, commandTitle: (name: string) => string): Promise<void> {
    const buttons = candidates.slice(0, 3).map((c) => this.candidateButton(c, language, commandTitle));
    buttons.push(button(this.text.t(language, 'clarify.none'), { action: 'command', command: 'talk_to_expert' }));
    await context.sendActivity(MessageFactory.attachment(choicesCard({ language, title: this.text.t(language, 'clarify.title'), buttons }, this.cards)));
    this.insights.record({ type: 'clarified', candidates: candidates.slice(0, 3).map((c) => c.id), language });
  }

  async sendFallback(context: TurnContext, question: string, suggestions: Candidate[], language: Language): Promise<void> {
    const t = (k: string) => this.text.t(language, k);
    const entries = suggestions.filter((c) => c.kind === 'entry' && this.byId.has(c.id)).slice(0, 3);
    const buttons: SubmitButton[] = entries.map((c) => this.candidateButton(c, language, () => ''));
    buttons.push(button(t('fallback.expertButton'), { action: 'command', command: 'talk_to_expert' }));
    await context.sendActivity(
      MessageFactory.attachment(
        choicesCard({ language, text: entries.length > 0 ? t('fallback.text') : t('fallback.noSuggestions'), note: t('fallback.human'), buttons })
      )
    );
    if (question) this.insights.record({ type: 'unanswered', question, language });
  }

  async sendPopular(context: TurnContext, language: Language): Promise<void> {
    const buttons = POPULAR.filter((id) => this.byId.has(id)).map((id) => button(this.byId.get(id)![language].title, { action: 'answer', entryId: id }));
    await context.sendActivity(MessageFactory.attachment(choicesCard({ language, title: this.text.t(language, 'popular.title'), buttons }, this.cards)));
  }

  recordFeedback(entryId: string, helpful: boolean, language: Language): void {
    if (this.byId.has(entryId)) this.insights.record({ type: 'feedback', entryId, helpful, language });
  }

  private candidateButton(c: Candidate, language: Language, commandTitle: (name: string) => string): SubmitButton {
    if (c.kind === 'entry') return button(this.byId.get(c.id)?.[language].title ?? c.id, { action: 'answer', entryId: c.id });
    return button(commandTitle(c.id), { action: 'command', command: c.id as never });
  }
}
