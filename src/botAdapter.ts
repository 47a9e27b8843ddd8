import { CloudAdapter, type BotAdapter, ConfigurationBotFrameworkAuthentication, type TurnContext } from 'botbuilder';
import type { AppConfig } from './config.js';
import type { Logger } from './logger.js';

/** The Bot Framework adapter for /api/messages: open without an app id (Emulator), authenticated with one. */
export function createChannelAdapter(config: AppConfig): CloudAdapter {
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: config.MicrosoftAppId ?? '',
    MicrosoftAppPassword: config.MicrosoftAppPassword ?? '',
    MicrosoftAppType: config.MicrosoftAppType,
    MicrosoftAppTenantId: config.MicrosoftAppTenantId ?? ''
  });
  return new CloudAdapter(auth);
}

export interface TurnErrorDeps {
  logger: Logger;
  /** Drops the open question of the failed turn; absent where the bot keeps no conversation state (tests). */
  forgetTurn?: (context: TurnContext) => Promise<void>;
  /** What the log line says ("turn failed", "web chat turn failed"). */
  message?: string;
  /** The apology in the user's language. */
  apology: (context: TurnContext) => string;
}

/**
 * Logs the failure, apologises only to a person who sent a message, and drops the dialog stack that
 * failed so the next message starts clean. Onboarding progress lives elsewhere and is kept.
 */
export function turnErrorHandler(deps: TurnErrorDeps): NonNullable<BotAdapter['onTurnError']> {
  return async (context, error) => {
    const activity = context.activity;
    deps.logger.error(
      { err: error, activityType: activity?.type, channelId: activity?.channelId, conversationId: activity?.conversation?.id },
      deps.message ?? 'turn failed'
    );
    try {
      if (activity?.type === 'message') await context.sendActivity(deps.apology(context));
    } catch (sendError) {
      deps.logger.warn({ err: sendError }, 'could not tell the user about the failed turn');
    }
    try {
      await deps.forgetTurn?.(context);
    } catch (stateError) {
      deps.logger.warn({ err: stateError }, 'could not clear the conversation state');
    }
  };
}
