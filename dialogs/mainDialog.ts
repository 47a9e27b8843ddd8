import {
  ComponentDialog,
  Dialog,
  DialogContext,
  DialogSet,
  type DialogInstance,
  type DialogStateManagerConfiguration,
  type DialogState,
  type DialogTurnResult
} from 'botbuilder-dialogs';
import { MessageFactory, type StatePropertyAccessor, type TurnContext } from 'botbuilder';
import { PROFILE_QUESTIONS, profileAnswerKey, type CommandIntentName, type KnowledgeEntry, type Language, type ProfileQuestion } from '../src/content/schema.js';
import { isSettled, type PlannedStep } from '../src/onboarding/onboardingPlan.js';
import type { OnboardingProgress } from '../src/onboarding/onboardingProgress.js';
import { progressCard } from '../cards/progressCard.js';
import { choicesCard } from '../cards/choicesCard.js';
import { button } from '../cards/renderCard.js';
import type { CardAction } from '../cards/cardActions.js';
import { identifierTyped, openQuestionAccepts, openStepId } from './answerPrompt.js';
import type { Candidate, Recognition } from '../src/recognizers/recognition.js';
import { OnboardingDialog, ONBOARDING_DIALOG, type OnboardingOptions } from './onboardingDialog.js';
import { PROFILE_DIALOG } from './profileDialog.js';
import { StartOverDialog, START_OVER_DIALOG } from './startOverDialog.js';
import { checkStepValue, keepValue, recordStep, recordSteps, STATUS_FOR_CHOICE } from './stepAnswers.js';
import { numberedSteps } from './stepNumbers.js';
import { isCompactTurn, turnInfo } from './turnContext.js';
import { MAX_TEXT_LENGTH } from './userInput.js';
import { scrubQuestion } from '../src/insights/insightsLog.js';
import type { ConversationDeps } from './conversationDeps.js';

export const MAIN_DIALOG = 'main';
/** Longer messages are not offered commands as "did you mean" guesses. */
const COMMAND_GUESS_MAX_WORDS = 4;
/** Longer than this, a message is a question of its own, not a follow-up to the last answer. */
const FOLLOW_UP_MAX_WORDS = 8;
/** Fewer words after an answer ("what now?", "is that ok?") are not a question to answer or to say not understood. */
const TRAILING_QUESTION_MIN_WORDS = 4;
/**
 * "Go to step 7", "step 7", "étape 3", "aller à l'étape 3", and the same said as a wish ("I want to redo
 * step 2", "je veux revenir à l'étape 2", people coming back to change an answer): a whole message naming a step by number.
 */
const STEP_NUMBER =
  /^(?:(?:please|ok|okay)\s+)?(?:(?:i\s+(?:want|need|would\s+like)\s+to|i['’]d\s+like\s+to|can\s+(?:we|i)|let['’]?s|je\s+veux|je\s+voudrais|j['’]aimerais|on\s+peut|peut-on)\s+)?(?:(?:go\s+(?:back\s+)?to|back\s+to|return\s+to|redo|reopen|revisit|open|show(?:\s+me)?|take\s+me\s+(?:back\s+)?to|aller\s+[àa]|va\s+[àa]|allez\s+[àa]|ouvrir|rouvrir|montre(?:-moi)?|reprendre|refaire|revoir|revenir\s+[àa]|retourner\s+[àa]|retour\s+[àa])\s+)?(?:the\s+|l['’]\s*)?(?:step|étape|etape)\s*(?:n[o°º]\.?\s*|#\s*)?(\d{1,2})\s*(?:please|svp|s['’]il\s+(?:te|vous)\s+pla[iî]t)?\s*[.!?]?$/i;
/** The answer-words kinds of statements that answer a profile question ("profile.broker.yes"…). */
const PROFILE_STATEMENTS = (Object.keys(PROFILE_QUESTIONS) as ProfileQuestion[]).flatMap((q) => [`profile.${q}.yes`, `profile.${q}.no`]);
/** The turn-state key botbuilder's DialogStateManager keeps its configuration under. */
const STATE_CONFIGURATION_KEY = 'DialogStateManagerConfiguration';
/** Dialogs that earlier versions ran as components, each with its own stack saved inside its state. */
const FORMER_COMPONENTS = new Set([MAIN_DIALOG, ONBOARDING_DIALOG, PROFILE_DIALOG, START_OVER_DIALOG]);

function savedInnerStack(instance: DialogInstance | undefined): DialogInstance[] | undefined {
  if (!instance || !FORMER_COMPONENTS.has(instance.id)) return undefined;
  const inner = (instance.state as { dialogs?: Partial<DialogState> } | undefined)?.dialogs?.dialogStack;
  return Array.isArray(inner) ? inner : undefined;
}

/**
 * The root of every conversation. Each message is routed here first: an answer to the open question
 * goes to it; otherwise a command (help, cancel, progress, start over, language…) or a CARM question
 * is handled on the spot and the open question, if any, is asked again. The open dialog is never lost
 * to an interruption.
 */
export class MainDialog extends ComponentDialog {
  /**
   * The memory scopes every dialog context of a turn uses. botbuilder builds them afresh each turn
   * unless given (as DialogManager's stateConfiguration does); they hold no state, so the first
   * turn's set serves all the others.
   */
  private stateConfiguration?: DialogStateManagerConfiguration;
  /**
   * Every dialog of a conversation, on one stack: the checklist, its profile and phases, start over,
   * and their questions. One set serves every dialog-state property (a personal chat has one, a
   * group chat one per person).
   */
  private readonly conversationDialogs = new DialogSet();
  /** Each entry's words, for reading follow-ups (built when first needed; content does not change). */
  private readonly entryWords = new Map<string, Set<string>>();

  constructor(private readonly deps: ConversationDeps) {
    super(MAIN_DIALOG);
    for (const dialog of [...new OnboardingDialog(deps).dialogs, ...new StartOverDialog(deps).dialogs]) {
      this.addDialog(dialog);
      this.conversationDialogs.add(dialog);
    }
  }

  /**
   * Runs the conversation for one message turn. The router works on the conversation's root dialog
   * stack: the same routing as when this dialog runs as a component (tests), without the nesting.
   */
  async run(context: TurnContext, accessor: StatePropertyAccessor<DialogState>): Promise<void> {
    if (this.stateConfiguration) context.turnState.set(STATE_CONFIGURATION_KEY, this.stateConfiguration);
    const state = await accessor.get(context, { dialogStack: [] });
    if (Array.isArray(state.dialogStack) && state.dialogStack.some(savedInnerStack)) state.dialogStack = this.flattenSavedStack(state.dialogStack);
    const dc = new DialogContext(this.conversationDialogs, context, state);
    this.stateConfiguration ??= context.turnState.get(STATE_CONFIGURATION_KEY);
    await this.route(dc);
  }

  /**
   * Conversations saved by earlier versions kept the checklist inside a "main" dialog, and the
   * checklist, profile and start over each as a component with its own stack (its waterfall named
   * "….steps"). Their stacks are laid out on the one stack, so an open question stays open.
   */
  private flattenSavedStack(stack: DialogInstance[]): DialogInstance[] {
    return stack.flatMap((instance) => {
      const inner = savedInnerStack(instance);
      if (!inner) return [instance];
      return this.flattenSavedStack(inner).map((child) => {
        if (child.id !== `${instance.id}.steps`) return child;
        const dialog = this.conversationDialogs.find(instance.id);
        return { ...child, id: instance.id, version: dialog?.getVersion() ?? child.version };
      });
    });
  }

  protected override async onBeginDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    await this.route(innerDc);
    return Dialog.EndOfTurn;
  }

  protected override async onContinueDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    await this.route(innerDc);
    return Dialog.EndOfTurn;
  }

  private t(language: Language, key: string, vars?: Record<string, string | number>): string {
    return this.deps.content.text.t(language, key, vars);
  }

  private async route(dc: DialogContext): Promise<void> {
    const { input, language } = turnInfo(dc.context);
    if (input.unreadableSubmit) {
      await dc.context.sendActivity(this.t(language, 'error.staleButton'));
      return this.repromptOrMenu(dc);
    }
    if (input.action) return this.handleAction(dc, input.action);
    if (!input.text) {
      await dc.context.sendActivity(this.t(language, 'error.unsupported'));
      return this.repromptOrMenu(dc, false);
    }
    if (input.text.length > MAX_TEXT_LENGTH) {
      await dc.context.sendActivity(this.t(language, 'error.tooLong', { max: MAX_TEXT_LENGTH }));
      return;
    }
    const text = await this.screenSensitive(dc, input.text);
    if (text === undefined) return;
    if (await this.takeOffer(dc, text)) return;
    const info = turnInfo(dc.context);
    // Someone writing French in an English client (or the reverse) gets replies in the language they
    // wrote, answers to a step included, and keeps getting them: a clear lead of function words, not
    // one "ok" or "oui", switches; a language chosen with its button stays.
    const written = info.languageChosen || input.text.split(/\s+/).length < 3 ? undefined : this.deps.content.lexicon.guessLanguage(input.text, 2);
    if (written && written !== info.language) {
      info.language = written;
      info.languageWritten = written;
    }
    // Sympathy first; what follows still answers the question, if there is one.
    const frustrated = this.deps.content.answerWords.mentions(text, 'frustration');
    if (frustrated) await dc.context.sendActivity(this.t(info.language, 'empathy.reply'));
    // Before the open step reads them: "clicked done by mistake" and "on a déjà fait 6 7 et 8" are not
    // answers to this step, whatever done words they carry.
    if (this.deps.content.answerWords.mentions(text, 'undo-request')) return this.undoLastStep(dc);
    if (await this.offerNumberedSteps(dc, text)) return;
    if (dc.activeDialog && openQuestionAccepts(dc, this.deps.content.answerWords)) {
      await this.answerQuestionAfterAnswer(dc, text);
      await dc.continueDialog();
      return;
    }
    if (await this.keepNumberForItsStep(dc, text)) return;
    if (await this.stepWordWithNoStepOpen(dc, text)) return;
    if (await this.changeSignInOption(dc, text)) return;
    if (await this.handleProfileStatements(dc, text)) return;
    if (await this.goToNumberedStep(dc, text)) return;
    const recognition = await this.followUp(dc, text, this.withoutUnaskedCommands(await this.deps.recognizer.recognize(text, info.language), text));
    // Someone fed up gets the way forward, not "did you mean…?" or "I'm not sure I understood".
    if (frustrated && recognition.decision !== 'answer') return dc.activeDialog ? this.reprompt(dc) : this.sendMenu(dc);
    const top = recognition.candidates[0];
    // Asked to do it for them ("can you register us for me?"): say first that only they can.
    const cannotAct = top?.kind === 'entry' && this.deps.content.answerWords.asksUsToAct(input.text);
    if (cannotAct) await dc.context.sendActivity(this.t(info.language, 'answer.cannotAct'));
    if (recognition.decision === 'answer' && top) {
      if (top.kind === 'command') return this.runCommand(dc, top.id as CommandIntentName);
      await this.deps.responder.sendAnswer(dc.context, top.id, info.language, 'text');
      info.answeredTopic = top.id;
      if (recognition.alsoAsked) await this.deps.responder.sendAlsoAsked(dc.context, recognition.alsoAsked.id, info.language);
      return this.reprompt(dc);
    }
    // Commands are short ("stop", "français"): a longer message that merely contains one of their words
    // ("can the broker continue to pay for us?") is not offered them as a guess.
    const wordCount = text.trim().split(/\s+/).length;
    const guesses = wordCount > COMMAND_GUESS_MAX_WORDS ? recognition.candidates.filter((c) => c.kind !== 'command') : recognition.candidates;
    if (recognition.decision === 'clarify' && guesses.length > 0) {
      await this.deps.responder.sendClarify(dc.context, guesses, info.language, (name) => this.commandTitle(info.language, name));
      // At a step or a first question, its buttons under the guesses: "none of these" should not leave
      // the checklist out of reach.
      if (openStepId(dc) || this.isProfileOpen(dc)) return this.reprompt(dc);
      return;
    }
    if (dc.activeDialog) {
      // A question we could not place: say so (with the closest topics), then the open question again.
      // At a step also a sentence or an off-topic question ("how long does all this take"); a few words
      // that are no answer ("donee") get the step's hint, and the first questions explain themselves.
      const asks = this.deps.content.answerWords.asks(text);
      const atStep = openStepId(dc) !== undefined;
      if ((asks && !recognition.offTopic) || (atStep && (asks || wordCount >= 4))) {
        await this.deps.responder.sendFallback(dc.context, text, recognition.candidates, info.language);
        return this.reprompt(dc);
      }
      // Not a question we know and not an answer: the open question explains what it expects.
      await dc.continueDialog();
      return;
    }
    await this.deps.responder.sendFallback(dc.context, text, recognition.candidates, info.language);
  }

  /**
   * A business or program account number typed while another step is open, or none ("we just got our
   * BN: 871 000 006"): kept for its own step and said back masked; the open step stays open. A number
   * in a question ("is 123456789 valid?") is not given, and one that does not validate is not kept; a
   * question after the number is answered.
   */
  private async keepNumberForItsStep(dc: DialogContext, text: string): Promise<boolean> {
    if (this.deps.content.answerWords.asks(text)) return false;
    const typed = identifierTyped(text);
    if (!typed) return false;
    const { user, language } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    // Read as its step reads it: a BN15 at the RM step, else a BN9 (or the BN9 inside any BN15) at the BN step.
    const steps = this.deps.plan.stepsFor(progress?.profile);
    for (const kind of ['programAccount', 'businessNumber'] as const) {
      const planned = steps.find((p) => p.step.collects === kind);
      const check = planned && checkStepValue(planned.step, 'done', typed, progress);
      if (!planned || !check?.ok || !check.value) continue;
      const value = check.value;
      await this.deps.progress.update(user, (p) => keepValue(p, value));
      await dc.context.sendActivity(this.t(language, 'value.keptForStep', { masked: value.shown, title: planned.step[language].title }));
      // "…871000006, and how do I…": the question after it is answered too.
      await this.answerQuestionAfterAnswer(dc, text);
      if (dc.activeDialog) await this.reprompt(dc);
      return true;
    }
    return false;
  }

  /**
   * "We switched to Sign-In Partner", "en fait on va prendre la CléGC finalement", said away from the
   * sign-in step once a choice is saved: the new choice replaces it, and is said back. Not a question,
   * not negated, and only with a word of change or correction ("we use our bank for payments" is not one).
   */
  private async changeSignInOption(dc: DialogContext, text: string): Promise<boolean> {
    const words = this.deps.content.answerWords;
    if (words.asks(text) || words.mentions(text, 'negation')) return false;
    if (!words.mentions(text, 'change-marker') && !words.mentions(text, 'correction-marker')) return false;
    const option = words.statement(text, ['gckey', 'sign-in-partner'] as const);
    if (!option) return false;
    const { language, user } = turnInfo(dc.context);
    const previous = (await this.deps.progress.get(user, dc.context))?.values.signInOption;
    if (!previous || previous === option) return false;
    await this.deps.progress.update(user, (p) => keepValue(p, { kind: 'signInOption', stored: option }));
    const label = (o: string) => this.t(language, `value.signInOption.${o}`);
    await dc.context.sendActivity(this.t(language, 'signIn.changed', { option: label(option), previous: label(previous) }));
    if (dc.activeDialog) await this.reprompt(dc);
    return true;
  }

  /**
   * "Done", "skip", "not yet" with no step open (a step card from an earlier conversation, after a
   * restart): where they stand and the next step, or the menu when no checklist was begun.
   */
  private async stepWordWithNoStepOpen(dc: DialogContext, text: string): Promise<boolean> {
    if (dc.activeDialog || !this.deps.content.answerWords.match(text, ['done', 'later', 'skip'])) return false;
    const { language, user } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    await dc.context.sendActivity(this.t(language, progress?.profile ? 'step.noneOpen' : 'step.noneOpenNoChecklist'));
    if (progress?.profile) await this.startOnboarding(dc, {});
    else await this.sendMenu(dc);
    return true;
  }

  /**
   * "We'll use GCKey, but what if I get locked out?": the open question takes the answer, and the
   * question after it is answered first (or said not understood) rather than dropped. A few words
   * ("what now?", "does that work?") are not a question of their own.
   */
  private async answerQuestionAfterAnswer(dc: DialogContext, text: string): Promise<void> {
    const question = this.deps.content.answerWords.questionAfterStatement(text);
    if (!question) return;
    const info = turnInfo(dc.context);
    const recognition = await this.deps.recognizer.recognize(question, info.language);
    const top = recognition.candidates[0];
    if (recognition.decision === 'answer' && top?.kind === 'entry') {
      await this.deps.responder.sendAnswer(dc.context, top.id, info.language, 'text');
      info.answeredTopic = top.id;
      return;
    }
    if (question.trim().split(/\s+/).length < TRAILING_QUESTION_MIN_WORDS) return;
    const topics = recognition.candidates.filter((c) => c.kind === 'entry');
    if (recognition.decision === 'clarify' && topics.length > 0) {
      await this.deps.responder.sendClarify(dc.context, topics, info.language, (name) => this.commandTitle(info.language, name));
    } else {
      await this.deps.responder.sendFallback(dc.context, question, recognition.offTopic ? [] : recognition.candidates, info.language);
    }
  }

  /**
   * Passwords and affinity answers typed into the chat. A secret: a warning and nothing else (the
   * message is not recognized, answered or recorded); undefined is returned. Affinity amounts: a warning,
   * the open question again, or the question read without its amounts (returned).
   */
  private async screenSensitive(dc: DialogContext, typed: string): Promise<string | undefined> {
    const { language } = turnInfo(dc.context);
    const words = this.deps.content.answerWords;
    if (words.givesSecret(typed)) {
      await dc.context.sendActivity(this.t(language, 'error.secretShared'));
      await this.reprompt(dc);
      return undefined;
    }
    if (!words.givesAffinityValue(typed)) return typed;
    // The portal asks for these, not the assistant.
    await dc.context.sendActivity(this.t(language, 'error.affinityShared'));
    if (dc.activeDialog) {
      await this.reprompt(dc);
      return undefined;
    }
    return scrubQuestion(typed);
  }

  /**
   * "Yes" to what the last message offered with a button ("Shall I mark them done?") takes the offer,
   * before any open question could read it as its own answer; "no" declines it. True when handled.
   */
  private async takeOffer(dc: DialogContext, text: string): Promise<boolean> {
    const { offer, language } = turnInfo(dc.context);
    if (!offer) return false;
    const words = this.deps.content.answerWords;
    const reply = words.match(text, ['offer-yes', 'no']) ?? words.matchFirstClause(text, ['offer-yes', 'no']);
    if (reply === 'offer-yes') await this.handleAction(dc, offer);
    else if (reply === 'no') {
      await dc.context.sendActivity(this.t(language, 'offer.declined'));
      await this.reprompt(dc);
    }
    return reply !== undefined;
  }

  /** Sentences about the first answers or the registration: change them, or offer to. True when handled. */
  private async handleProfileStatements(dc: DialogContext, text: string): Promise<boolean> {
    const { user } = turnInfo(dc.context);
    const words = this.deps.content.answerWords;
    if (words.mentions(text, 'change-answer-request') && (await this.deps.progress.get(user, dc.context))?.profile) {
      await this.runCommand(dc, 'change_profile');
      return true;
    }
    // Correcting an earlier answer while the three questions are still being asked ("oops, actually we
    // do use a broker" at the RM question): they are asked again from the first.
    if (this.isProfileOpen(dc) && !words.asks(text) && words.mentions(text, 'correction-marker') && words.statement(text, PROFILE_STATEMENTS)) {
      await this.runCommand(dc, 'change_profile');
      return true;
    }
    if ((await this.offerProfileChange(dc, text)) || (await this.offerRegisteredSteps(dc, text))) {
      await this.reprompt(dc);
      return true;
    }
    return false;
  }

  private async handleAction(dc: DialogContext, action: CardAction): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    switch (action.action) {
      case 'answer':
        if (!(await this.deps.responder.sendAnswer(dc.context, action.entryId, language, 'button'))) {
          await dc.context.sendActivity(this.t(language, 'error.staleButton'));
        } else {
          turnInfo(dc.context).answeredTopic = action.entryId;
        }
        return this.reprompt(dc);
      case 'feedback':
        this.deps.responder.recordFeedback(action.entryId, action.helpful, language);
        await dc.context.sendActivity(this.t(language, action.helpful ? 'feedback.thanks' : 'feedback.sorry'));
        return;
      case 'command':
        return this.runCommand(dc, action.command);
      case 'setLanguage':
        return this.switchLanguage(dc, action.language);
      case 'markRegistered':
        return this.markRegisteredSteps(dc);
      case 'markSteps':
        return this.markNumberedSteps(dc, action.stepIds);
      case 'jump':
      case 'markDone': {
        const progress = await this.deps.progress.get(user, dc.context);
        const planned = action.stepId ? this.deps.plan.find(action.stepId, progress?.profile) : undefined;
        if (!planned) {
          await dc.context.sendActivity(this.t(language, 'error.unknownStep'));
          await dc.context.sendActivity(MessageFactory.attachment(progressCard(this.deps.plan, progress, language, this.deps.content.text)));
          return;
        }
        if (action.action === 'jump') return this.startOnboarding(dc, { startAt: planned.step.id });
        if (progress?.steps[planned.step.id]?.status !== 'done') {
          await recordStep(this.deps.progress, user, planned.step.id, 'done', undefined, dc.context.activity.id);
          await dc.context.sendActivity(this.t(language, 'step.noted', { title: planned.step[language].title }));
        }
        if (dc.activeDialog) return this.restartOnboardingIfActive(dc);
        await dc.context.sendActivity(
          MessageFactory.attachment(progressCard(this.deps.plan, await this.deps.progress.get(user, dc.context), language, this.deps.content.text))
        );
        return;
      }
      case 'step':
      case 'choose':
        if (dc.activeDialog && openQuestionAccepts(dc, this.deps.content.answerWords)) {
          await dc.continueDialog();
          return;
        }
        if (action.action === 'step') return this.handleEarlierStepButton(dc, action);
        await dc.context.sendActivity(this.t(language, 'error.staleButton'));
        return this.repromptOrMenu(dc);
    }
  }

  /**
   * A button on an older step card. A repeat of what is already recorded (a double click) changes
   * nothing and says nothing; a new answer is recorded, and the open question stays where it was.
   */
  private async handleEarlierStepButton(dc: DialogContext, action: Extract<CardAction, { action: 'step' }>): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    const planned = this.deps.plan.find(action.stepId, progress?.profile);
    if (!planned) {
      await dc.context.sendActivity(this.t(language, 'error.staleButton'));
      return this.repromptOrMenu(dc);
    }
    if (action.choice === 'more') {
      await this.deps.responder.sendAnswer(dc.context, planned.step.learnMore[0]!, language, 'button');
      return this.reprompt(dc);
    }
    const status = STATUS_FOR_CHOICE[action.choice];
    const current = progress?.steps[action.stepId]?.status;
    if (current === status || (status === 'later' && isSettled(current))) return;
    const check = checkStepValue(planned.step, action.choice, action.value, progress);
    if (!check.ok) {
      await dc.context.sendActivity(this.t(language, check.messageKey, check.vars));
      return;
    }
    await recordStep(this.deps.progress, user, action.stepId, status, check.value, dc.context.activity.id);
    await dc.context.sendActivity(this.t(language, 'step.noted', { title: planned.step[language].title }));
    return this.restartOnboardingIfActive(dc);
  }

  private async runCommand(dc: DialogContext, command: CommandIntentName): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    switch (command) {
      case 'start_onboarding':
        return this.startOnboarding(dc, {});
      case 'show_progress':
        await dc.context.sendActivity(
          MessageFactory.attachment(progressCard(this.deps.plan, await this.deps.progress.get(user, dc.context), language, this.deps.content.text))
        );
        // The first questions have no card of their own to come back to: ask the open one again.
        if (this.isProfileOpen(dc)) return this.reprompt(dc);
        return;
      case 'help':
        await dc.context.sendActivity(this.t(language, 'help.text'));
        return this.reprompt(dc);
      case 'cancel':
        if (dc.activeDialog) {
          await dc.cancelAllDialogs();
          await dc.context.sendActivity(this.t(language, 'cancel.done'));
        } else {
          await dc.context.sendActivity(this.t(language, 'cancel.nothing'));
          await this.sendMenu(dc);
        }
        return;
      case 'menu':
        // "Go back" at a step means the step before it.
        if (openStepId(dc) && this.deps.content.answerWords.match(turnInfo(dc.context).input.text, ['go-back'])) return this.showPreviousStep(dc);
        await dc.cancelAllDialogs();
        return this.sendMenu(dc);
      case 'start_over':
        if (dc.stack.some((d) => d.id === START_OVER_DIALOG)) return this.reprompt(dc);
        await dc.beginDialog(START_OVER_DIALOG);
        return;
      case 'switch_to_french':
        return this.switchLanguage(dc, 'fr');
      case 'switch_to_english':
        return this.switchLanguage(dc, 'en');
      case 'talk_to_expert':
        await dc.context.sendActivity(this.t(language, 'expert.intro'));
        // One card: it names the broker and the help desk's number, and links the help desk's full answer.
        await this.deps.responder.sendAnswer(dc.context, 'get-expert-help', language, 'button');
        return this.reprompt(dc);
      case 'greeting':
        await dc.context.sendActivity(this.t(language, 'greeting.reply'));
        return dc.activeDialog ? this.reprompt(dc) : this.sendMenu(dc);
      case 'thanks':
        await dc.context.sendActivity(this.t(language, 'thanks.reply'));
        // At a step, its buttons again: the checklist goes on where it was.
        return dc.activeDialog ? this.reprompt(dc) : undefined;
      case 'goodbye':
        // The open step stays open for when they come back.
        await dc.context.sendActivity(this.t(language, 'goodbye.reply'));
        return;
      case 'undo':
        return this.undoLastStep(dc);
      case 'change_profile':
        await dc.cancelAllDialogs();
        await dc.beginDialog(ONBOARDING_DIALOG, { reviseProfile: true } satisfies OnboardingOptions);
        return;
      case 'identity':
        await dc.context.sendActivity(this.t(language, 'identity.reply'));
        return this.reprompt(dc);
      case 'previous_step':
        return this.showPreviousStep(dc);
      case 'acknowledge':
        // "ok", "got it" after an answer: nothing was asked, so nothing to misunderstand.
        if (dc.activeDialog) return this.reprompt(dc);
        const progress = await this.deps.progress.get(user, dc.context);
        await dc.context.sendActivity(this.t(language, progress?.profile ? 'acknowledge.replyStarted' : 'acknowledge.reply'));
        return;
    }
  }

  /**
   * A sentence that contradicts an answer to the first questions ("actually we do use a broker", after
   * "no broker"): offers to change the answers rather than guessing, since the checklist depends on them.
   */
  private async offerProfileChange(dc: DialogContext, text: string): Promise<boolean> {
    // Only a correction ("oops, actually we do use a broker"): a question about brokers ("I use a broker,
    // do I still have to register?", "UPS's CARM team") gets its answer, not a detour.
    const words = this.deps.content.answerWords;
    if (words.asks(text) || !words.mentions(text, 'correction-marker')) return false;
    const { language, user } = turnInfo(dc.context);
    const profile = (await this.deps.progress.get(user, dc.context))?.profile;
    if (!profile) return false;
    const fields = { resident: profile.resident, broker: profile.usesBroker, rm: profile.hasRmAccount };
    const stated = words.statement(text, PROFILE_STATEMENTS);
    if (!stated) return false;
    const [, question, side] = stated.split('.') as [string, ProfileQuestion, 'yes' | 'no'];
    if (fields[question] === (side === 'yes')) return false;
    const answer = this.t(language, profileAnswerKey(question, fields[question]));
    await this.sendOffer(dc, this.t(language, 'profile.changeOffer', { answer }), this.t(language, 'command.change_profile'), { action: 'command', command: 'change_profile' });
    return true;
  }

  /**
   * A short message not understood on its own, right after an answer ("by when?", "what's the max?",
   * "et pour les employés?"), is read again together with the topic just answered; kept only when that
   * reading is clear.
   */
  private async followUp(dc: DialogContext, text: string, recognition: Recognition): Promise<Recognition> {
    const { lastTopic, language } = turnInfo(dc.context);
    if (recognition.decision === 'answer' || !lastTopic || text.split(/\s+/).length > FOLLOW_UP_MAX_WORDS) return recognition;
    const entry = this.deps.content.knowledge.find((e) => e.id === lastTopic);
    if (!entry) return recognition;
    // Read with the last topic only what picks up a word of the answer just given, or has nothing else
    // to go on (question words only: "by when?", "and then?"). A message on another topic ("wat is soa"
    // after a GCKey answer) or off-topic ("tell me a joke") is read alone.
    const shared = (t: string) => t.length >= 3 && !this.deps.content.answerWords.match(t, ['question-first']) && this.wordsOf(entry).has(t);
    const tokens = this.deps.content.lexicon.contentTokens(text);
    const onlyAsks = this.deps.content.answerWords.asks(text) && tokens.every((t) => this.deps.content.answerWords.match(t, ['question-first']));
    if (!onlyAsks && !tokens.some(shared)) return recognition;
    const together = await this.deps.recognizer.recognize(`${entry[language].title} ${text}`, language);
    const top = together.candidates[0];
    if (together.decision !== 'answer' || top?.kind !== 'entry') return recognition;
    // Read with the last topic, it is the last topic again: sending the same card would hide that the
    // question was not understood. Say so, and offer that topic's neighbours.
    if (top.id === lastTopic) {
      return { ...recognition, decision: 'none', offTopic: false, candidates: entry.related.map((id) => ({ kind: 'entry' as const, id, score: 0 })) };
    }
    return { ...together, language: recognition.language };
  }

  /** The words of an entry (both languages' titles, answers and phrasings), as the recognizer reads them. */
  private wordsOf(entry: KnowledgeEntry): Set<string> {
    let words = this.entryWords.get(entry.id);
    if (!words) {
      const lexicon = this.deps.content.lexicon;
      const texts = (['en', 'fr'] as const).flatMap((l) => [entry[l].title, entry[l].answer, ...entry[l].questions]);
      words = new Set(texts.flatMap((t) => lexicon.contentTokens(t)));
      this.entryWords.set(entry.id, words);
    }
    return words;
  }

  /**
   * Commands that undo or stop are dropped when the message did not ask for them: "start over" from a
   * message that names no starting over ("hey it's me again"), "stop" from a question ("what happens if
   * I forget my password?" is not "forget it").
   */
  private withoutUnaskedCommands(recognition: Recognition, text: string): Recognition {
    const words = this.deps.content.answerWords;
    const unasked = (c: Candidate) =>
      c.kind === 'command' &&
      ((c.id === 'start_over' && !words.mentions(text, 'start-over-marker')) || (c.id === 'cancel' && words.opensWith(text, 'open-question-first')));
    if (!recognition.candidates.some(unasked)) return recognition;
    const candidates = recognition.candidates.filter((c) => !unasked(c));
    const wasTop = unasked(recognition.candidates[0]!);
    const decision = wasTop && recognition.decision === 'answer' ? 'none' : candidates.length === 0 ? 'none' : recognition.decision;
    return { ...recognition, decision, candidates };
  }

  /** An offer with one button; a typed "yes" to the next message takes it too (see takeOffer). */
  private async sendOffer(dc: DialogContext, text: string, title: string, action: CardAction): Promise<void> {
    const { language } = turnInfo(dc.context);
    await dc.context.sendActivity(MessageFactory.attachment(choicesCard({ language, text, buttons: [button(title, action, 'positive')] }, this.deps.cards)));
    turnInfo(dc.context).nextOffer = action;
  }

  /** "We registered in 2022": offers to mark every step that settles, rather than a click per step. */
  private async offerRegisteredSteps(dc: DialogContext, text: string): Promise<boolean> {
    const { language, user } = turnInfo(dc.context);
    const words = this.deps.content.answerWords;
    // Registered, with nothing wrong: "…already registered us, now I can't add the business" is a problem to answer.
    if (!words.statement(text, ['already-registered']) || words.mentions(text, 'problem') || words.mentions(text, 'negation')) return false;
    const progress = await this.deps.progress.get(user, dc.context);
    // No checklist yet ("our controller signed up last year, I just need to know what's left"): the
    // three questions first, then what registration covered is marked and the rest follows.
    if (!progress?.profile) {
      await dc.cancelAllDialogs();
      await dc.beginDialog(ONBOARDING_DIALOG, { alreadyRegistered: true } satisfies OnboardingOptions);
      return true;
    }
    const open = this.deps.plan.settledByRegistration(progress);
    if (open.length < 2) return false;
    await this.sendOffer(dc, this.t(language, 'registered.offer', { count: open.length }), this.t(language, 'registered.button'), { action: 'markRegistered' });
    return true;
  }

  private async markRegisteredSteps(dc: DialogContext): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    const open = this.deps.plan.settledByRegistration(await this.deps.progress.get(user, dc.context));
    await recordSteps(this.deps.progress, user, open.map((p) => p.step.id), 'done', dc.context.activity.id);
    await dc.context.sendActivity(open.length > 0 ? this.t(language, 'registered.done', { count: open.length }) : this.t(language, 'registered.nothing'));
    await dc.cancelAllDialogs();
    await dc.beginDialog(ONBOARDING_DIALOG, {});
  }

  /**
   * "We already did steps 1 to 3", "on a déjà fait 6 7 et 8": offers to mark those steps, naming each,
   * since numbers typed from memory may be off. Several numbers, or "step(s)" with one; a completion
   * word; not a question and not negated.
   */
  private async offerNumberedSteps(dc: DialogContext, text: string): Promise<boolean> {
    const words = this.deps.content.answerWords;
    const listed = numberedSteps(text);
    const byNumber = !!listed && (listed.numbers.length >= 2 || listed.namesSteps);
    // "All the pre-registration stuff is done": the phase's steps.
    const phase = byNumber ? undefined : this.deps.plan.phases.find((ph) => words.mentions(text, `phase.${ph.id}.name`));
    if (!byNumber && !phase) return false;
    if (words.asks(text) || words.mentions(text, 'negation') || !words.mentions(text, 'completion')) return false;
    const { language, user } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    if (!progress?.profile) return false;
    const steps = this.deps.plan.stepsFor(progress.profile);
    const numbers = phase ? steps.filter((p) => p.phase.id === phase.id).map((p) => p.number) : listed!.numbers;
    if (numbers.some((n) => n > steps.length)) {
      await dc.context.sendActivity(this.t(language, 'step.noSuchNumber', { total: steps.length }));
      await this.reprompt(dc);
      return true;
    }
    const open = numbers.map((n) => ({ n, planned: steps[n - 1]! })).filter(({ planned }) => progress.steps[planned.step.id]?.status !== 'done');
    if (open.length === 0) {
      await dc.context.sendActivity(this.t(language, 'steps.markedNothing'));
      await this.reprompt(dc);
      return true;
    }
    // One paragraph per step: a card's text block folds single line breaks.
    const list = open.map(({ n, planned }) => `• ${n}. ${planned.step[language].title}`).join('\n\n');
    await this.sendOffer(dc, this.t(language, 'steps.markOffer', { list }), this.t(language, 'steps.markButton'), {
      action: 'markSteps',
      stepIds: open.map(({ planned }) => planned.step.id)
    });
    return true;
  }

  private async markNumberedSteps(dc: DialogContext, stepIds: string[]): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    const planned = stepIds.map((id) => this.deps.plan.find(id, progress?.profile)).filter((p): p is PlannedStep => !!p);
    const open = planned.filter((p) => progress?.steps[p.step.id]?.status !== 'done');
    if (open.length === 0) {
      // Steps not in this person's checklist (an old card after the answers changed): a stale button.
      await dc.context.sendActivity(this.t(language, planned.length > 0 ? 'steps.markedNothing' : 'error.staleButton'));
      return this.repromptOrMenu(dc);
    }
    await recordSteps(this.deps.progress, user, open.map((p) => p.step.id), 'done', dc.context.activity.id);
    await dc.context.sendActivity(this.t(language, 'steps.marked', { count: open.length }));
    await dc.cancelAllDialogs();
    await dc.beginDialog(ONBOARDING_DIALOG, {});
  }

  /**
   * "Go to step 7" / "étape 3": the step with that number in the person's checklist, as the cards
   * number them, done or not (a finished step can be looked at again and put back to "not yet").
   */
  private async goToNumberedStep(dc: DialogContext, text: string): Promise<boolean> {
    const asked = STEP_NUMBER.exec(text.trim());
    if (!asked) return false;
    const { user, language } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    if (!progress?.profile) return false;
    const steps = this.deps.plan.stepsFor(progress.profile);
    const wanted = steps[Number(asked[1]) - 1];
    if (!wanted) {
      await dc.context.sendActivity(this.t(language, 'step.noSuchNumber', { total: steps.length }));
      await this.reprompt(dc);
      return true;
    }
    await this.startOnboarding(dc, { startAt: wanted.step.id });
    return true;
  }

  /** Shows the step before the one open (or next), as it stands: nothing is marked or unmarked. */
  private async showPreviousStep(dc: DialogContext): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    const progress = await this.deps.progress.get(user, dc.context);
    const steps = this.deps.plan.stepsFor(progress?.profile);
    const open = openStepId(dc) ?? this.deps.plan.nextStep(progress)?.step.id;
    const at = open ? steps.findIndex((p) => p.step.id === open) : steps.length;
    if (!progress?.profile || at <= 0) {
      await dc.context.sendActivity(this.t(language, 'previous.first'));
      if (!progress?.profile) return this.startOnboarding(dc, {});
      // No step open (a new conversation): the first step itself, not a reply without buttons.
      return dc.activeDialog ? this.reprompt(dc) : this.startOnboarding(dc, { startAt: steps[0]!.step.id });
    }
    return this.startOnboarding(dc, { startAt: steps[at - 1]!.step.id });
  }

  /** Puts the step marked last back to not done and shows it: a typed answer can be misread. */
  private async undoLastStep(dc: DialogContext): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    let reopened: PlannedStep[] = [];
    await this.deps.progress.update(user, (p) => {
      const marked = this.deps.plan.stepsFor(p.profile).filter((planned) => p.steps[planned.step.id]);
      const latest = marked.map((planned) => p.steps[planned.step.id]!.at).sort().at(-1);
      // Steps marked together ("we're already registered") are undone together.
      reopened = marked.filter((planned) => p.steps[planned.step.id]!.at === latest);
      for (const planned of reopened) delete p.steps[planned.step.id];
    });
    const first = reopened[0];
    if (!first) {
      await dc.context.sendActivity(this.t(language, 'undo.nothing'));
      return this.reprompt(dc);
    }
    await dc.context.sendActivity(
      reopened.length === 1 ? this.t(language, 'undo.done', { title: first.step[language].title }) : this.t(language, 'undo.doneMany', { count: reopened.length })
    );
    return this.startOnboarding(dc, { startAt: first.step.id });
  }

  private async switchLanguage(dc: DialogContext, language: Language): Promise<void> {
    const info = turnInfo(dc.context);
    await this.deps.languages.choose(info.user, language);
    info.language = language;
    info.languageChosen = true;
    await dc.context.sendActivity(this.t(language, 'language.switched'));
    // Open questions were written in the old language: ask the current step again in the new one.
    if (dc.activeDialog) return this.restartOnboardingIfActive(dc);
    return this.sendMenu(dc);
  }

  private async startOnboarding(dc: DialogContext, options: OnboardingOptions): Promise<void> {
    const { language } = turnInfo(dc.context);
    if (!options.startAt && this.isOnboardingActive(dc)) {
      await dc.context.sendActivity(this.t(language, 'onboarding.alreadyRunning'));
      return this.reprompt(dc);
    }
    await dc.cancelAllDialogs();
    await dc.beginDialog(ONBOARDING_DIALOG, options);
  }

  private async restartOnboardingIfActive(dc: DialogContext): Promise<void> {
    if (this.isOnboardingActive(dc)) {
      await dc.cancelAllDialogs();
      await dc.beginDialog(ONBOARDING_DIALOG, {});
      return;
    }
    return this.reprompt(dc);
  }

  private isOnboardingActive(dc: DialogContext): boolean {
    return dc.stack.some((d) => d.id === ONBOARDING_DIALOG);
  }

  /** The first three questions are being asked. */
  private isProfileOpen(dc: DialogContext): boolean {
    return dc.stack.some((d) => d.id === PROFILE_DIALOG);
  }

  private async reprompt(dc: DialogContext): Promise<void> {
    if (dc.activeDialog) await dc.repromptDialog();
  }

  private async repromptOrMenu(dc: DialogContext, menu = true): Promise<void> {
    if (dc.activeDialog) return dc.repromptDialog();
    if (menu) return this.sendMenu(dc);
  }

  commandTitle(language: Language, command: string): string {
    const key = `command.${command}`;
    return this.deps.content.text.has(key) ? this.t(language, key) : command;
  }

  /** The main menu, adapted to whether the user has a checklist under way. */
  async sendMenu(dc: { context: TurnContext }, withPopular = false): Promise<void> {
    const { language, user } = turnInfo(dc.context);
    // In a group chat or channel everyone sees the menu: its labels must not reflect one person's progress.
    const progress = isCompactTurn(dc.context) ? undefined : await this.deps.progress.get(user, dc.context);
    const started = !!progress && Object.keys(progress.steps).length > 0;
    const other: Language = language === 'en' ? 'fr' : 'en';
    const buttons = [
      button(this.t(language, !started ? 'menu.start' : this.deps.plan.nextStep(progress) ? 'menu.continue' : 'menu.review'), { action: 'command', command: 'start_onboarding' }, 'positive'),
      button(this.t(language, 'menu.progress'), { action: 'command', command: 'show_progress' }),
      button(this.t(language, 'menu.expert'), { action: 'command', command: 'talk_to_expert' }),
      button(this.t(language, 'menu.switchLanguage'), { action: 'setLanguage', language: other })
    ];
    await dc.context.sendActivity(MessageFactory.attachment(choicesCard({ language, text: this.t(language, 'menu.prompt'), buttons }, this.deps.cards)));
    if (withPopular && !isCompactTurn(dc.context)) await this.deps.responder.sendPopular(dc.context, language);
  }
}
