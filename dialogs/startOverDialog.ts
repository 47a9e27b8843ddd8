import { WaterfallDialog, type Dialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import { MessageFactory, type Activity, type TurnContext } from 'botbuilder';
import { choicesCard } from '../cards/choicesCard.js';
import { button } from '../cards/renderCard.js';
import { AnswerPrompt, type AnswerPromptOptions, type PromptAnswer } from './answerPrompt.js';
import { turnInfo } from './turnContext.js';
import type { ConversationDeps } from './conversationDeps.js';

export const START_OVER_DIALOG = 'startOver';
const PROMPT = 'startOver.confirm';

/**
 * Erasing progress is the one thing that cannot be undone, so it is confirmed first. Asked on top of
 * whatever is open: "no" goes back to it (the open step asks itself again), "yes" closes it too.
 */
export class StartOverDialog extends WaterfallDialog {
  readonly prompt: AnswerPrompt;

  constructor(private readonly deps: ConversationDeps) {
    super(START_OVER_DIALOG);
    this.prompt = new AnswerPrompt(PROMPT, deps.content.answerWords, async (context) => this.draw(context));
    this.addStep((s) => this.confirm(s));
    this.addStep((s) => this.apply(s));
  }

  /** This dialog and the one it begins. */
  get dialogs(): Dialog[] {
    return [this, this.prompt];
  }

  private async confirm(step: WaterfallStepContext) {
    const options: AnswerPromptOptions = { validations: { kind: 'yesNo', question: 'startOver' } };
    return step.prompt(PROMPT, options);
  }

  private draw(context: TurnContext): Partial<Activity> {
    const { language } = turnInfo(context);
    const t = (k: string) => this.deps.content.text.t(language, k);
    return MessageFactory.attachment(
      choicesCard({
        language,
        text: t('startOver.confirm'),
        buttons: [
          button(t('startOver.yes'), { action: 'choose', question: 'startOver', value: 'yes' }, 'destructive'),
          button(t('startOver.no'), { action: 'choose', question: 'startOver', value: 'no' })
        ]
      }, this.deps.cards)
    );
  }

  private async apply(step: WaterfallStepContext) {
    const { language, user } = turnInfo(step.context);
    const answer = step.result as PromptAnswer;
    const yes = answer.kind === 'yesNo' && answer.yes;
    const t = (k: string) => this.deps.content.text.t(language, k);
    if (yes) {
      await this.deps.progress.reset(user);
      // The way to begin again, as a button too: the message says "type start".
      await step.context.sendActivity(MessageFactory.attachment(choicesCard({
        language,
        text: t('startOver.done'),
        buttons: [button(t('menu.start'), { action: 'command', command: 'start_onboarding' }, 'positive')]
      }, this.deps.cards)));
      // What was open belonged to the erased checklist.
      return step.cancelAllDialogs();
    }
    // Nothing open under this question (asked from the menu, or in a new conversation): the way on as
    // buttons, or the reply would be a dead end.
    if (step.stack.length <= 1) {
      await step.context.sendActivity(MessageFactory.attachment(choicesCard({
        language,
        text: t('startOver.kept'),
        buttons: [
          button(t('menu.continue'), { action: 'command', command: 'start_onboarding' }, 'positive'),
          button(t('menu.progress'), { action: 'command', command: 'show_progress' })
        ]
      }, this.deps.cards)));
    } else {
      await step.context.sendActivity(t('startOver.kept'));
    }
    return step.endDialog(false);
  }
}
