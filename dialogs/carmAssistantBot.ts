import {
  TeamsActivityHandler,
  TurnContext,
  type ConversationState,
  type UserState,
  type StatePropertyAccessor,
  type ChannelAccount
} from 'botbuilder';
import type { DialogState } from 'botbuilder-dialogs';
import type { Language } from '../src/content/schema.js';
import type { UserRef } from '../src/onboarding/progressRepository.js';
import { readUserInput, type UserInput } from './userInput.js';
import { setTurnInfo, turnInfo } from './turnContext.js';
import type { MainDialog } from './mainDialog.js';
import type { ConversationDeps } from './conversationDeps.js';
import { LanguagePreferences } from './languagePreferences.js';

/** Group chats and channels: answer only when @mentioned, and keep it short. */
function isGroupConversation(context: TurnContext): boolean {
  const type = context.activity.conversation?.conversationType;
  return type === 'groupChat' || type === 'channel';
}

/**
 * The bot for every channel (Teams, the web chat page, the Emulator). Teams specifics are kept to
 * what Teams users expect: mentions in group scopes, and a welcome on installation.
 */
export class CarmAssistantBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;

  constructor(
    private readonly deps: ConversationDeps,
    private readonly mainDialog: MainDialog,
    private readonly conversationState: ConversationState,
    private readonly userState: UserState
  ) {
    super();
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');

    this.onMessage(async (context, next) => {
      if (await this.prepareMessage(context)) await this.mainDialog.run(context, this.dialogState);
      await next();
    });

    this.onMembersAdded(async (context, next) => {
      const members = context.activity.membersAdded ?? [];
      const botId = context.activity.recipient?.id;
      const people = members.filter((m: ChannelAccount) => m.id && m.id !== botId);
      // In Teams the installation update welcomes; a channel roster change must not greet everyone.
      if (people.length > 0 && !isGroupConversation(context)) await this.welcome(context, people[0]!.id);
      await next();
    });

    this.onInstallationUpdateAdd(async (context, next) => {
      await this.welcome(context, context.activity.from?.id);
      await next();
    });

    // The web page's language switch: handled like the menu's language button.
    this.onEvent(async (context, next) => {
      const value = context.activity.value as { language?: unknown } | undefined;
      if (context.activity.name === 'setLanguage' && (value?.language === 'en' || value?.language === 'fr')) {
        const { language, chosen } = await this.deps.languages.resolve(context);
        const input: UserInput = { text: '', action: { action: 'setLanguage', language: value.language as Language } };
        setTurnInfo(context, { user: this.userRef(context), language, languageChosen: chosen, input });
        await this.mainDialog.run(context, this.dialogState);
      }
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    await this.conversationState.saveChanges(context, false);
    await this.userState.saveChanges(context, false);
  }

  private userRef(context: TurnContext, userId?: string): UserRef {
    const from = context.activity.from;
    // Teams gives a stable AAD object id; other channels a channel-scoped user id.
    const id = from?.aadObjectId ?? userId ?? from?.id ?? 'anonymous';
    return { channelId: context.activity.channelId ?? 'unknown', userId: id };
  }

  /** Works out the turn's user, language and input. Returns false when the bot should stay quiet. */
  private async prepareMessage(context: TurnContext): Promise<boolean> {
    const activity = context.activity;
    if (isGroupConversation(context)) {
      const mentioned = TurnContext.getMentions(activity).some((m) => m.mentioned?.id === activity.recipient?.id);
      // Card buttons carry no mention; they come from our own cards, so they count as addressed to us.
      if (!mentioned && activity.value === undefined) return false;
      if (typeof activity.text === 'string') {
        TurnContext.removeRecipientMention(activity);
        activity.text = activity.text.replace(/<at>[^<]*<\/at>/gi, '').trim();
      }
    }
    const { language, chosen } = await this.deps.languages.resolve(context);
    setTurnInfo(context, { user: this.userRef(context), language, languageChosen: chosen, input: readUserInput(activity) });
    return true;
  }

  /** First contact or return visit: say who we are, or where the user stands. */
  private async welcome(context: TurnContext, userId: string | undefined): Promise<void> {
    const user = this.userRef(context, userId);
    const { language, chosen } = await this.deps.languages.resolve(context);
    setTurnInfo(context, { user, language, languageChosen: chosen, input: { text: '' } });
    const t = (key: string, vars?: Record<string, string | number>) => this.deps.content.text.t(language, key, vars);
    const progress = await this.deps.progress.get(user);
    if (progress && Object.keys(progress.steps).length > 0) {
      const summary = this.deps.plan.summary(progress);
      await context.sendActivity(
        summary.next
          ? t('welcome.back', { done: summary.done, total: summary.total, percent: summary.percent, next: summary.next.step[language].title })
          : t('welcome.backComplete')
      );
      await this.mainDialog.sendMenu({ context });
      return;
    }
    await context.sendActivity(t('welcome.new'));
    await this.mainDialog.sendMenu({ context }, !isGroupConversation(context));
  }

  /** The language of the current turn, for the error handler's apology. */
  static languageOf(context: TurnContext): Language {
    try {
      return turnInfo(context).language;
    } catch {
      return LanguagePreferences.fromLocale(context.activity?.locale);
    }
  }
}
