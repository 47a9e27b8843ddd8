import WebSocket from 'ws';
import type { ChannelActivity } from './standInChannel.js';
import type { WebChatSession } from '../../src/webchat/tokenService.js';

/** What POST /api/webchat/token answers. */
export type WebChatSessionBody = WebChatSession;

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T = any>(url: string, init: RequestInit = {}): Promise<HttpResult<T>> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: response.status, body, headers: response.headers };
}

export function requestToken(botUrl: string, body: unknown = {}): Promise<HttpResult<WebChatSessionBody>> {
  return call(`${botUrl}/api/webchat/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * Plays Web Chat's Direct Line client (botframework-directlinejs) against the bot's endpoint, with
 * plain HTTP and a WebSocket, so each protocol step can be checked.
 */
export class DirectLineTestClient {
  watermark?: string;

  constructor(readonly botUrl: string, public token: string, readonly conversationId: string, readonly userId: string) {}

  static async open(botUrl: string, ticket?: string): Promise<{ client: DirectLineTestClient; session: WebChatSessionBody }> {
    const result = await requestToken(botUrl, ticket ? { ticket } : {});
    if (result.status !== 200) throw new Error(`token request answered ${result.status}: ${JSON.stringify(result.body)}`);
    const s = result.body;
    return { client: new DirectLineTestClient(botUrl, s.token, s.conversationId, s.userId), session: s };
  }

  get base(): string {
    return `${this.botUrl}/v3/directline`;
  }

  request<T = any>(method: string, path: string, body?: unknown, token = this.token, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return call<T>(`${this.base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    });
  }

  start(locale = 'en-CA') {
    return this.request('POST', '/conversations', { user: { id: this.userId }, locale });
  }

  post(activity: ChannelActivity) {
    return this.request<{ id: string }>('POST', `/conversations/${this.conversationId}/activities`, {
      from: { id: this.userId, role: 'user' },
      locale: 'en-CA',
      channelData: { clientActivityID: `client-${Math.random().toString(36).slice(2)}` },
      ...activity
    });
  }

  say(text: string) {
    return this.post({ type: 'message', text });
  }

  /** Clicks a card button as Web Chat does: a message whose value is the button's data. */
  click(data: ChannelActivity) {
    return this.post({ type: 'message', value: data, channelData: { postBack: true } });
  }

  activities(watermark?: string) {
    const query = watermark === undefined ? '' : `?watermark=${encodeURIComponent(watermark)}`;
    return this.request<{ activities: ChannelActivity[]; watermark: string }>('GET', `/conversations/${this.conversationId}/activities${query}`);
  }

  /** Polls from the last watermark until the new activities satisfy `done`; returns them all. */
  async next(done: (fresh: ChannelActivity[]) => boolean, timeoutMs = 15_000): Promise<ChannelActivity[]> {
    const deadline = Date.now() + timeoutMs;
    const fresh: ChannelActivity[] = [];
    for (;;) {
      const result = await this.activities(this.watermark);
      if (result.status !== 200) throw new Error(`GET activities answered ${result.status}: ${JSON.stringify(result.body)}`);
      fresh.push(...result.body.activities);
      this.watermark = result.body.watermark;
      if (done(fresh)) return fresh;
      if (Date.now() > deadline) throw new Error(`timed out; got: ${fresh.map((a) => `${a.from?.role}:${a.type}:${a.text ?? ''}`).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a message and waits until the bot has answered it (and has stopped sending for a moment). */
  async exchange(activity: ChannelActivity): Promise<ChannelActivity[]> {
    const posted = await this.post(activity);
    if (posted.status !== 200) throw new Error(`post answered ${posted.status}: ${JSON.stringify(posted.body)}`);
    // The POST returns once the bot's turn is over, so everything it said is already in the history.
    const fresh = await this.next((f) => f.some((a) => a.id === posted.body.id));
    return fresh.filter((a) => a.from?.role === 'bot');
  }
}

/** A WebSocket on a streamUrl that collects every activity set it receives. */
export class StreamListener {
  readonly sets: Array<{ activities: ChannelActivity[]; watermark: string }> = [];
  private constructor(readonly socket: WebSocket) {}

  static open(streamUrl: string): Promise<StreamListener> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(streamUrl);
      const listener = new StreamListener(socket);
      socket.on('message', (data) => {
        const text = data.toString();
        if (text) listener.sets.push(JSON.parse(text));
      });
      socket.once('open', () => resolve(listener));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`stream refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  get activities(): ChannelActivity[] {
    return this.sets.flatMap((s) => s.activities);
  }

  async waitFor(predicate: (all: ChannelActivity[]) => boolean, timeoutMs = 15_000): Promise<ChannelActivity[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.activities)) {
      if (Date.now() > deadline) throw new Error(`stream timed out; got: ${this.activities.map((a) => `${a.from?.role}:${a.text ?? a.type}`).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.activities;
  }

  close(): void {
    this.socket.close();
  }
}

/** The claims of a compact JWT, unverified (what Web Chat itself reads). */
export function decodeClaims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}
