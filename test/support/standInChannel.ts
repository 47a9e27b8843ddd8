import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/** An activity as the channel sees it: loose JSON. */
export type ChannelActivity = Record<string, any>;

/**
 * Plays a Bot Framework channel for tests: POSTs activities to the bot's /api/messages with its own
 * serviceUrl, and records what the bot sends back to /v3/conversations/{id}/activities.
 */
export class StandInChannel {
  readonly received: ChannelActivity[] = [];
  /** The same activities by conversation id, so a conversation's replies are found without a scan. */
  private readonly byConversation = new Map<string, ChannelActivity[]>();
  private listeners: Array<() => void> = [];
  private counter = 0;

  private constructor(private readonly server: Server, readonly serviceUrl: string) {}

  static async start(): Promise<StandInChannel> {
    let channel!: StandInChannel;
    const server = createServer(async (req, res) => {
      const body = await readBody(req);
      const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/?]+))?/.exec(req.url ?? '');
      if (req.method === 'POST' && match) {
        let activity: ChannelActivity;
        try {
          activity = body ? JSON.parse(body) : {};
        } catch {
          res.writeHead(400);
          res.end();
          return;
        }
        activity.conversation = activity.conversation ?? { id: decodeURIComponent(match[1]!) };
        activity._replyToId = match[2] ? decodeURIComponent(match[2]) : undefined;
        channel.received.push(activity);
        const key = String(activity.conversation?.id);
        const list = channel.byConversation.get(key);
        if (list) list.push(activity);
        else channel.byConversation.set(key, [activity]);
        channel.listeners.splice(0).forEach((l) => l());
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `sent-${++channel.counter}` }));
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    channel = new StandInChannel(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return channel;
  }

  /** Sends one activity to the bot as this channel would, and returns the HTTP status and body. */
  async post(botUrl: string, activity: ChannelActivity, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const response = await fetch(`${botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ serviceUrl: this.serviceUrl, ...activity })
    });
    return { status: response.status, body: await response.text() };
  }

  /** Replies the bot sent in one conversation, in order. */
  repliesIn(conversationId: string): ChannelActivity[] {
    return [...(this.byConversation.get(conversationId) ?? [])];
  }

  /** How many replies the bot has sent in one conversation so far. */
  replyCount(conversationId: string): number {
    return this.byConversation.get(conversationId)?.length ?? 0;
  }

  /** Forgets what was received (long benchmark runs); repliesIn starts again from empty. */
  clearReceived(): void {
    this.received.length = 0;
    this.byConversation.clear();
  }

  async waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the bot');
      await new Promise<void>((r) => {
        this.listeners.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export interface ConversationOptions {
  channelId?: string;
  locale?: string;
  userId?: string;
  conversationId?: string;
  conversationType?: string;
  /** Extra fields merged into every activity (Teams channelData, tenant…). */
  extra?: ChannelActivity;
}

/** One user's conversation with the bot through the stand-in channel. */
export class ChannelConversation {
  readonly id: string;
  readonly userId: string;
  private sent = 0;

  constructor(private readonly channel: StandInChannel, private readonly botUrl: string, private readonly options: ConversationOptions = {}) {
    this.id = options.conversationId ?? `conv-${randomUUID()}`;
    this.userId = options.userId ?? `user-${randomUUID()}`;
  }

  activity(fields: ChannelActivity): ChannelActivity {
    return {
      id: `act-${randomUUID()}`,
      channelId: this.options.channelId ?? 'emulator',
      conversation: { id: this.id, ...(this.options.conversationType ? { conversationType: this.options.conversationType } : {}) },
      from: { id: this.userId, name: 'Test User' },
      recipient: { id: 'carm-bot', name: 'CARM Assistant' },
      locale: this.options.locale ?? 'en-CA',
      timestamp: new Date().toISOString(),
      ...this.options.extra,
      ...fields
    };
  }

  /** Sends an activity and returns the replies the bot sent during that turn. */
  async send(fields: ChannelActivity): Promise<ChannelActivity[]> {
    const activity = this.activity(fields);
    const result = await this.channel.post(this.botUrl, activity);
    if (result.status >= 300) throw new Error(`bot answered ${result.status}: ${result.body}`);
    this.sent++;
    // Replies are threaded to the activity that caused them, so concurrent sends stay apart.
    return this.channel.repliesIn(this.id).filter((r) => (r.replyToId ?? r._replyToId) === activity.id);
  }

  say(text: string): Promise<ChannelActivity[]> {
    return this.send({ type: 'message', text });
  }

  /** Clicks a card button: sends its data as the activity's value, with no text. */
  click(data: ChannelActivity): Promise<ChannelActivity[]> {
    return this.send({ type: 'message', value: data });
  }

  join(): Promise<ChannelActivity[]> {
    return this.send({ type: 'conversationUpdate', membersAdded: [{ id: this.userId }, { id: 'carm-bot' }] });
  }
}

/** Everything a reply shows a person: its text, and the text of any card in it. */
export function visibleText(replies: ChannelActivity[]): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      for (const key of ['text', 'title', 'label', 'value']) if (typeof o[key] === 'string' && key !== 'value') parts.push(o[key] as string);
      for (const [k, v] of Object.entries(o)) if (k !== 'data' && k !== 'fallbackText' && typeof v === 'object') walk(v);
    }
  };
  for (const r of replies) {
    if (typeof r.text === 'string') parts.push(r.text);
    walk(r.attachments?.map((a: ChannelActivity) => a.content));
  }
  return parts.join('\n');
}

/** Card buttons in the replies, by title, with the data they submit. */
export function buttons(replies: ChannelActivity[]): Array<{ title: string; data?: ChannelActivity; url?: string }> {
  const found: Array<{ title: string; data?: ChannelActivity; url?: string }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, any>;
      if (o.type === 'Action.Submit') found.push({ title: o.title, data: o.data });
      if (o.type === 'Action.OpenUrl') found.push({ title: o.title, url: o.url });
      for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
    }
  };
  walk(replies.map((r) => r.attachments?.map((a: ChannelActivity) => a.content)));
  return found;
}

export function button(replies: ChannelActivity[], title: string | RegExp): ChannelActivity {
  const b = buttons(replies).find((x) => (typeof title === 'string' ? x.title === title : title.test(x.title)));
  if (!b?.data) throw new Error(`no button ${title} among: ${buttons(replies).map((x) => x.title).join(' | ')}`);
  return b.data;
}

/**
 * Answers the checklist's three profile questions with their buttons, through any way of clicking
 * (a stand-in channel conversation, a DialogTestClient, a raw post). Returns what the last click got.
 */
export async function answerProfile<T>(
  click: (data: ChannelActivity) => Promise<T>,
  answers: { resident: boolean; broker: boolean; rm: boolean }
): Promise<T> {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  await click({ action: 'choose', question: 'profile.resident', value: yes(answers.resident) });
  await click({ action: 'choose', question: 'profile.broker', value: yes(answers.broker) });
  return click({ action: 'choose', question: 'profile.rm', value: yes(answers.rm) });
}
