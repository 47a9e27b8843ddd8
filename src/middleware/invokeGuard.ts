import { ActivityTypes, INVOKE_RESPONSE_KEY, StatusCodes, type Activity, type Middleware, type TurnContext } from 'botbuilder';

/**
 * Our cards only use Action.Submit, so no invoke is expected. An invoke the bot does not handle
 * (an unknown name, a foreign card, a replay dropped by the duplicate filter) would otherwise be
 * answered 501 by the adapter; it is the sender's request that is unsupported, so it gets a 400.
 */
export class UnhandledInvokeGuard implements Middleware {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    try {
      await next();
    } finally {
      if (context.activity.type === ActivityTypes.Invoke) this.answer(context);
    }
  }

  private answer(context: TurnContext): void {
    const sent = context.turnState.get(INVOKE_RESPONSE_KEY) as Partial<Activity> | undefined;
    const status = (sent?.value as { status?: number } | undefined)?.status;
    if (status === undefined || status === StatusCodes.NOT_IMPLEMENTED) {
      context.turnState.set(INVOKE_RESPONSE_KEY, {
        type: ActivityTypes.InvokeResponse,
        value: { status: StatusCodes.BAD_REQUEST, body: { error: 'This invoke is not supported by the CARM assistant.' } }
      });
    }
  }
}
