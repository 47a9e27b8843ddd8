import {
  CloudAdapter,
  type BotAdapter,
  ConfigurationBotFrameworkAuthentication,
  type TurnContext
} from 'botbuilder';
import {
  AuthenticationConstants,
  type AuthenticateRequestResult,
  type ClaimsIdentity,
  type ConnectorClient,
  type ConnectorFactory,
  type UserTokenClient
} from 'botframework-connector';
import type { AppConfig } from './config.js';
import type { Logger } from './logger.js';
import { LruMap } from './util/lruMap.js';

/** Service URLs a bot talks to are few (a channel's regions, the web chat); this bounds a misbehaving sender. */
const REMEMBERED_CLIENTS = 64;

/**
 * botbuilder's authentication, except that the clients the bot replies through are built once per
 * bot identity, service URL and audience instead of on every turn: CloudAdapter asks for a new
 * ConnectorClient and UserTokenClient (an HTTP pipeline and credentials each) per activity, about a
 * fifth of a small turn's work. Both clients are stateless between requests; the C# SDK's
 * BotFrameworkAdapter keeps its connector clients the same way, by service URL and app id.
 */
export class ReusingBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly connectors = new LruMap<string, Promise<ConnectorClient>>(REMEMBERED_CLIENTS);
  private readonly tokenClients = new LruMap<string, Promise<UserTokenClient>>(REMEMBERED_CLIENTS);

  override async authenticateRequest(activity: Parameters<ConfigurationBotFrameworkAuthentication['authenticateRequest']>[0], authHeader: string): Promise<AuthenticateRequestResult> {
    return this.reusing(await super.authenticateRequest(activity, authHeader));
  }

  override async authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    return this.reusing(await super.authenticateStreamingRequest(authHeader, channelIdHeader));
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusingFactory(super.createConnectorFactory(claimsIdentity), claimsIdentity);
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.remember(this.tokenClients, appIdOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
  }

  private reusing(result: AuthenticateRequestResult): AuthenticateRequestResult {
    const factory = result.connectorFactory;
    return factory ? { ...result, connectorFactory: this.reusingFactory(factory, result.claimsIdentity) } : result;
  }

  private reusingFactory(factory: ConnectorFactory, claimsIdentity: ClaimsIdentity): ConnectorFactory {
    const appId = appIdOf(claimsIdentity);
    return {
      create: (serviceUrl: string, audience?: string) =>
        this.remember(this.connectors, `${appId}\n${serviceUrl}\n${audience ?? ''}`, () => factory.create(serviceUrl, audience))
    };
  }

  /** The client made for `key`, made once; a failed attempt is not kept, so the next turn tries again. */
  private remember<T>(cache: LruMap<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    const known = cache.get(key);
    if (known) return known;
    const made = make();
    cache.set(key, made);
    made.catch(() => {
      if (cache.peek(key) === made) cache.delete(key);
    });
    return made;
  }
}

/** The bot identity the clients act as: what botbuilder's factory uses (the audience, else the app id claim). */
function appIdOf(claimsIdentity: ClaimsIdentity | undefined): string {
  return (
    claimsIdentity?.getClaimValue(AuthenticationConstants.AudienceClaim) ??
    claimsIdentity?.getClaimValue(AuthenticationConstants.AppIdClaim) ??
    ''
  );
}

/** The Bot Framework adapter for /api/messages: open without an app id (Emulator), authenticated with one. */
export function createChannelAdapter(config: AppConfig): CloudAdapter {
  return new CloudAdapter(
    new ReusingBotFrameworkAuthentication({
      MicrosoftAppId: config.MicrosoftAppId ?? '',
      MicrosoftAppPassword: config.MicrosoftAppPassword ?? '',
      MicrosoftAppType: config.MicrosoftAppType,
      MicrosoftAppTenantId: config.MicrosoftAppTenantId ?? ''
    })
  );
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
