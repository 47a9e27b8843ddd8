import assert from 'node:assert/strict';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { visibleText } from './support/standInChannel.js';

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
