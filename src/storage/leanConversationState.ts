import { ConversationState, type Storage, type StoreItem, type TurnContext } from 'botbuilder';

interface Cached {
  state: StoreItem;
  hash: string;
}

/** The state's JSON text without its eTag: what decides whether it changed during the turn. */
function fingerprint(state: StoreItem): string {
  const { eTag: _eTag, ...rest } = state;
  return JSON.stringify(rest);
}

/**
 * botbuilder's ConversationState with a cheaper change check. BotState tells whether the state
 * changed by hashing it (its own serializer, then SHA-256) when it is loaded, when it is saved and
 * again after the write: a measurable share of a turn. Here the state's JSON text is kept instead
 * and compared. Same storage key, same turn cache entry (BotState's get, set, clear and delete keep
 * working), same writes (eTag '*', last writer wins, as before).
 */
export class LeanConversationState extends ConversationState {
  constructor(storage: Storage, namespace = '') {
    super(storage, namespace);
    if (typeof this.slot !== 'symbol') throw new Error('LeanConversationState: this botbuilder version keeps BotState\'s turn cache differently');
  }

  /** BotState's per-turn cache slot (a private field of BotState; the same object is used). */
  private get slot(): symbol {
    return (this as unknown as { stateKey: symbol }).stateKey;
  }

  override async load(context: TurnContext, force = false): Promise<StoreItem> {
    const cached = context.turnState.get(this.slot) as Cached | undefined;
    if (!force && cached?.state) return cached.state;
    const key = await this.storageKey(context);
    const state = (await this.storage.read([key]))[key] ?? {};
    context.turnState.set(this.slot, { state, hash: fingerprint(state) } satisfies Cached);
    return state;
  }

  override async saveChanges(context: TurnContext, force = false): Promise<void> {
    let cached = context.turnState.get(this.slot) as Cached | undefined;
    const now = cached ? fingerprint(cached.state) : undefined;
    if (!force && (!cached || cached.hash === now)) return;
    const key = await this.storageKey(context);
    cached ??= { state: {}, hash: '' };
    cached.state.eTag = '*';
    await this.storage.write({ [key]: cached.state });
    cached.hash = now ?? fingerprint(cached.state);
    context.turnState.set(this.slot, cached);
  }
}
