import {
  ActivityTypes,
  TeamsActivityHandler,
  TurnContext,
  type Activity,
  type ConversationState,
  type Mention,
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
import { CarryOver } from './carryOver.js';

/** Group chats and channels: answer only when @mentioned, and keep it short. */
function isGroupConversation(context: TurnContext): boolean {
  const type = context.activity.conversation?.conversationType;
  return type === 'groupChat' || type === 'channel';
}

/**
 * The activity's mentions of the bot. Unlike TurnContext.getMentions, malformed entities are skipped:
 * a broken or hostile payload must not fail the turn.
 */
function botMentions(activity: Partial<Activity>): Mention[] {
  const botId = activity.recipient?.id;
  if (!Array.isArray(activity.entities) || typeof botId !== 'string') return [];
  return activity.entities.filter(
    (e): e is Mention => !!e && typeof e === 'object' && String(e.type).toLowerCase() === 'mention' && (e as Mention).mentioned?.id === botId
  );
}

/** Teams sends a personal-scope install as both conversationUpdate and installationUpdate: greet once. */
const WELCOME_REPEAT_MS = 5 * 60 * 1000;

const HTML_ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

/**
 * Removes every @mention of the bot (botbuilder's removeRecipientMention removes only the first), keeps
 * the names of other people mentioned without their <at> markup, and decodes the few HTML entities
 * Teams puts in message text.
 */
export function stripTeamsMentions(activity: Partial<Activity>): string {
  let text = typeof activity.text === 'string' ? activity.text : '';
  for (const mention of botMentions(activity)) {
    if (typeof mention.text === 'string' && mention.text) text = text.split(mention.text).join(' ');
    const name = mention.mentioned?.name;
    if (typeof name === 'string' && name) text = text.split(`<at>${name}</at>`).join(' ');
  }
  text = text.replace(/<at\b[^>]*>(.*?)<\/at>/gis, '$1').replace(/<\/?at\b[^>]*>/gi, '');
  text = text.replace(/&(nbsp|amp|lt|gt|quot|apos|#39);/g, (_, name: string) => HTML_ENTITIES[name]!);
  return text.replace(/[ \t\u00a0]+/g, ' ').trim();
}

/**
 * The bot for every channel (Teams, the web chat page, the Emulator). Teams specifics are kept to
 * what Teams users expect: mentions in group scopes, and a welcome on installation.
 */
export class CarmAssistantBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly welcomedAt: StatePropertyAccessor<number | undefined>;
  private readonly carryOver: CarryOver;

  constructor(
    private readonly deps: ConversationDeps,
    private readonly mainDialog: MainDialog,
    private readonly conversationState: ConversationState
  ) {
    super();
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');
    this.welcomedAt = conversationState.createProperty<number | undefined>('welcomedAt');
    this.carryOver = new CarryOver(conversationState);

    this.onMembersAdded(async (context, next) => {
      const members = context.activity.membersAdded ?? [];
      const botId = context.activity.recipient?.id;
      const people = members.filter((m: ChannelAccount) => m.id && m.id !== botId);
      // In Teams the installation update welcomes; a channel roster change must not greet everyone.
      if (people.length > 0 && !isGroupConversation(context)) await this.welcome(context, people[0]!.id);
      await next();
    });

    this.onInstallationUpdateAdd(async (context, next) => {
      // 'add-upgrade' is a new app version reaching every chat it is installed in: no greeting for that.
      if (context.activity.action === 'add') await this.welcome(context, context.activity.from?.id);
      await next();
    });

    // The web page's language switch: handled like the menu's language button.
    this.onEvent(async (context, next) => {
      const value = context.activity.value as { language?: unknown } | undefined;
      if (context.activity.name === 'setLanguage' && (value?.language === 'en' || value?.language === 'fr')) {
        const user = this.userRef(context);
        const { language, chosen } = await this.deps.languages.resolve(context, user);
        const input: UserInput = { text: '', action: { action: 'setLanguage', language: value.language as Language } };
        setTurnInfo(context, { user, language, languageChosen: chosen, input, compact: isGroupConversation(context) });
        await this.mainDialog.run(context, this.dialogStateFor(context));
      }
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    // Messages, nearly every turn, go straight to the conversation: ActivityHandler's chain of
    // turn, message and dialog events (none of them used here for messages) costs more than the
    // routing. Everything else (joins, installs, events, invokes) goes through it.
    if (context.activity?.type === ActivityTypes.Message) {
      if (await this.prepareMessage(context)) {
        await this.mainDialog.run(context, this.dialogStateFor(context));
        await this.carryOver.write(context, turnInfo(context));
      }
    } else {
      await super.run(context);
    }
    await this.conversationState.saveChanges(context, false);
  }

  /**
   * After a failed turn, the open question it was working on is dropped so the next message starts
   * clean. In a group chat or channel only that person's: the others' stay as they were stored.
   */
  async forgetFailedTurn(context: TurnContext): Promise<void> {
    if (!isGroupConversation(context)) {
      await this.conversationState.delete(context);
      return;
    }
    // What is stored, not what the failed turn changed in memory.
    await this.conversationState.load(context, true);
    await this.dialogStateFor(context).delete(context);
    await this.conversationState.saveChanges(context, true);
  }

  /**
   * In a group chat or channel each person has their own open question: one user's "yes" must not
   * answer another's onboarding step. Kept in conversation state, under the person's id.
   */
  private dialogStateFor(context: TurnContext): StatePropertyAccessor<DialogState> {
    if (!isGroupConversation(context)) return this.dialogState;
    return this.conversationState.createProperty<DialogState>(`dialogState:${this.userRef(context).userId}`);
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
    const group = isGroupConversation(context);
    if (group) {
      const mentioned = botMentions(activity).length > 0;
      // Card buttons carry no mention; they come from our own cards, so they count as addressed to us.
      if (!mentioned && (activity.value === undefined || activity.value === null)) return false;
    }
    if (typeof activity.text === 'string' && (group || activity.channelId === 'msteams')) activity.text = stripTeamsMentions(activity);
    const user = this.userRef(context);
    const resolved = await this.deps.languages.resolve(context, user);
    const carried = group ? {} : await this.carryOver.read(context);
    const written = resolved.chosen ? undefined : carried.language;
    const { language, chosen } = written ? { language: written, chosen: false } : resolved;
    let input = readUserInput(activity);
    // "@CARM Assistant" alone in a channel is a hello, not an unreadable message.
    if (group && !input.text && !input.action && !input.unreadableSubmit) input = { text: '', action: { action: 'command', command: 'greeting' } };
    setTurnInfo(context, { user, language, languageChosen: chosen, input, compact: group, offer: carried.offer, lastTopic: carried.lastTopic });
    return true;
  }

  /** First contact or return visit: say who we are, or where the user stands. */
  private async welcome(context: TurnContext, userId: string | undefined): Promise<void> {
    if (context.activity.channelId === 'msteams') {
      const last = await this.welcomedAt.get(context);
      if (last !== undefined && Date.now() - last < WELCOME_REPEAT_MS) return;
      await this.welcomedAt.set(context, Date.now());
    }
    const user = this.userRef(context, userId);
    const compact = isGroupConversation(context);
    const { language, chosen } = await this.deps.languages.resolve(context, user);
    setTurnInfo(context, { user, language, languageChosen: chosen, input: { text: '' }, compact });
    const t = (key: string, vars?: Record<string, string | number>) => this.deps.content.text.t(language, key, vars);
    // In a channel the installer's own progress is nobody else's business: the greeting stays generic.
    const progress = compact ? undefined : await this.deps.progress.get(user, context);
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
    await this.mainDialog.sendMenu({ context }, true);
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
