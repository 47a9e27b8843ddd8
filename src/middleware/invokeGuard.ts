import { ActivityTypes, INVOKE_RESPONSE_KEY, StatusCodes, type Activity, type Middleware, type TurnContext } from 'botbuilder';
import type { Logger } from '../logger.js';

/**
 * Our cards only use Action.Submit, so no invoke is expected. An invoke the bot does not handle (an
 * unknown name, a foreign card, a replay dropped by the duplicate filter) would be answered 501 by the
 * adapter, and a malformed one (an `adaptiveCard/action` without its action) makes botbuilder's own
 * handler throw. Either way it is the sender's request that is wrong: it gets a 400.
 */
export class UnhandledInvokeGuard implements Middleware {
  constructor(private readonly logger?: Logger) {}

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    if (context.activity.type !== ActivityTypes.Invoke) return next();
    try {
      await next();
    } catch (error) {
      this.logger?.warn({ err: error, name: context.activity.name }, 'invoke could not be handled');
      this.refuse(context);
      return;
    }
    const sent = context.turnState.get(INVOKE_RESPONSE_KEY) as Partial<Activity> | undefined;
    const status = (sent?.value as { status?: number } | undefined)?.status;
    if (status === undefined || status === StatusCodes.NOT_IMPLEMENTED) this.refuse(context);
  }

  private refuse(context: TurnContext): void {
    context.turnState.set(INVOKE_RESPONSE_KEY, {
      type: ActivityTypes.InvokeResponse,
      value: { status: StatusCodes.BAD_REQUEST, body: { error: 'This invoke is not supported by the CARM assistant.' } }
    });
  }
}
