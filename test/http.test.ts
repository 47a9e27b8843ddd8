import assert from 'node:assert/strict';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { ChannelConversation, StandInChannel, visibleText } from './support/standInChannel.js';
import type { Activity, CloudAdapter, TurnContext } from 'botbuilder';
import { ClaimsIdentity } from 'botframework-connector';
import { createChannelAdapter, ReusingBotFrameworkAuthentication } from '../src/botAdapter.js';
import { loadConfig } from '../src/config.js';

describe('HTTP service through a stand-in channel', () => {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant();
  });
  after(async () => {
    await bot.cleanup();
  });

  it('GET /healthz answers 200 with the version', async () => {
    const r = await fetch(`${bot.url}/healthz`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  });

  it('welcomes a user who joins, and replies to a message posted as a channel would', async () => {
    const c = bot.conversation();
    const welcome = await c.join();
    assert.match(visibleText(welcome), /CARM Onboarding Assistant/);
    const replies = await c.say('hello');
    assert.ok(replies.length > 0);
    assert.ok(replies.every((r) => r.replyToId || r._replyToId), 'replies are threaded to the message');
  });

  it('rejects an activity without the fields a channel always sends with 400, not 500', async () => {
    for (const body of [{}, { type: 'message' }, { type: 'message', serviceUrl: 'not a url', channelId: 'x', conversation: { id: 'c' } }, { type: 7 }]) {
      const r = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match((await r.json()).error, /Invalid activity/);
    }
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const bad = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":' });
    assert.equal(bad.status, 400);
    const huge = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(300 * 1024) })
    });
    assert.equal(huge.status, 413);
  });
});

describe('HTTP service with a Microsoft App ID configured', () => {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant({ MicrosoftAppId: '00000000-0000-0000-0000-000000000001', MicrosoftAppPassword: 'test-secret' });
  });
  after(async () => {
    await bot.cleanup();
  });

  it('refuses an activity without a Bot Framework token with 401', async () => {
    const c = bot.conversation();
    const r = await bot.channel.post(bot.url, c.activity({ type: 'message', text: 'hello' }));
    assert.equal(r.status, 401);
    const forged = await bot.channel.post(bot.url, c.activity({ type: 'message', text: 'hello' }), { authorization: 'Bearer not-a-real-token' });
    assert.equal(forged.status, 401);
    assert.equal(bot.channel.repliesIn(c.id).length, 0);
  });
});

describe('Connections to channels', () => {
  /** Runs one activity through the adapter as restify would hand it over. */
  async function turn(adapter: CloudAdapter, activity: Partial<Activity>, logic: (context: TurnContext) => Promise<void>): Promise<number> {
    let status = 0;
    const res = { status: (s: number) => void (status = s), send: () => undefined, end: () => undefined, header: () => undefined };
    await adapter.process({ method: 'POST', headers: {}, body: activity } as never, res as never, logic);
    return status;
  }
  const activity = (serviceUrl: string, n: number): Partial<Activity> => ({
    type: 'message', id: `a-${n}`, text: 'hi', serviceUrl, channelId: 'emulator',
    conversation: { id: `c-${n % 3}` } as never, from: { id: `u-${n}`, name: 'U' }, recipient: { id: 'bot', name: 'Bot' }
  });

  it('reuses the client for a channel across turns and keeps one per service URL', async () => {
    const adapter = createChannelAdapter(loadConfig({ PORT: '0' }));
    const seen: Array<{ url: string; client: unknown; tokens: unknown }> = [];
    for (let n = 0; n < 6; n++) {
      const url = n % 2 ? 'http://127.0.0.1:1/a' : 'http://127.0.0.1:1/b';
      assert.equal(
        await turn(adapter, activity(url, n), async (context) => {
          seen.push({ url, client: context.turnState.get(adapter.ConnectorClientKey), tokens: context.turnState.get(adapter.UserTokenClientKey) });
        }),
        200
      );
    }
    const clients = (url: string) => new Set(seen.filter((s) => s.url === url).map((s) => s.client));
    assert.equal(clients('http://127.0.0.1:1/a').size, 1);
    assert.equal(clients('http://127.0.0.1:1/b').size, 1);
    assert.notEqual([...clients('http://127.0.0.1:1/a')][0], [...clients('http://127.0.0.1:1/b')][0]);
    assert.equal(new Set(seen.map((s) => s.tokens)).size, 1);
  });

  it('keeps clients apart for two bot identities on the same channel', async () => {
    const auth = new ReusingBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '' });
    const as = (audience: string) => auth.createConnectorFactory(new ClaimsIdentity([{ type: 'aud', value: audience }], true));
    const url = 'https://smba.trafficmanager.net/amer/';
    const first = await as('bot-a').create(url, undefined);
    assert.equal(await as('bot-a').create(url, undefined), first);
    assert.notEqual(await as('bot-b').create(url, undefined), first);
  });

  it('sends every reply to the channel its message came from when two channels talk to the bot at once', async () => {
    const bot = await startAssistant();
    const other = await StandInChannel.start();
    try {
      const here = Array.from({ length: 4 }, () => bot.conversation());
      const there = Array.from({ length: 4 }, () => new ChannelConversation(other, bot.url));
      const replies = await Promise.all([...here, ...there].map((c) => c.say('What is CARM?')));
      assert.ok(replies.every((r) => r.length > 0 && /CARM/.test(visibleText(r))));
      const ids = (conversations: ChannelConversation[]) => new Set(conversations.map((c) => c.id));
      assert.ok(bot.channel.received.every((r) => ids(here).has(r.conversation.id)), 'the first channel got only its own replies');
      assert.ok(other.received.every((r) => ids(there).has(r.conversation.id)), 'the second channel got only its own replies');
    } finally {
      await other.close();
      await bot.cleanup();
    }
  });
});
