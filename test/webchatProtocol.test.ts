import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Middleware, TurnContext } from 'botbuilder';
import { gunzipSync } from 'node:zlib';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { button, visibleText, type ChannelActivity } from './support/standInChannel.js';
import { DirectLineTestClient, StreamListener, decodeClaims, requestToken, type HttpResult } from './support/directLineClient.js';
import { WebChatTokens, SIGNING_KEY_FILE } from '../src/webchat/tokens.js';
import { createWebChat } from '../src/webchat/webChat.js';
import { ConversationStore } from '../src/webchat/conversationStore.js';
import { TokenBucketLimiter } from '../src/webchat/rateLimiter.js';
import { createHttpServer, type HttpServer } from '../src/server.js';
import { createChannelAdapter, turnErrorHandler } from '../src/botAdapter.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { loadContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/assistant.js';

const botReplies = (activities: ChannelActivity[]) => activities.filter((a) => a.from?.role === 'bot');
/** The welcome has arrived: its text and the menu card (one message). */
const welcomed = (activities: ChannelActivity[]) => botReplies(activities).some((a) => (a.attachments?.length ?? 0) > 0);

describe('web chat: Direct Line endpoint served by the bot', function () {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant({ WEBCHAT_TOKEN_TTL_SECONDS: '600' });
  });
  after(async () => {
    await bot?.cleanup();
  });

  it('issues a signed token bound to one conversation and one dl_ user, expiring after WEBCHAT_TOKEN_TTL_SECONDS', async () => {
    const { client, session } = await DirectLineTestClient.open(bot.url);
    assert.equal(session.mode, 'local');
    assert.equal(session.expires_in, 600);
    assert.match(session.userId, /^dl_[A-Za-z0-9_-]{16,}$/);
    const claims = decodeClaims(session.token);
    assert.equal(claims.conv, session.conversationId);
    assert.equal(claims.user, session.userId, 'Web Chat reads the user id from the token');
    assert.equal(claims.exp - claims.iat, 600);
    // The key that signs every session is private to the service account.
    const key = await stat(join(bot.dataDir, SIGNING_KEY_FILE));
    assert.equal(key.mode & 0o777, 0o600);
    assert.ok(client.conversationId.length >= 16);
  });

  it('starts a conversation (201 with a streamUrl) and the bot welcomes the user who joined', async () => {
    const { client } = await DirectLineTestClient.open(bot.url);
    const started = await client.start();
    assert.equal(started.status, 201);
    assert.equal(started.body.conversationId, client.conversationId);
    assert.equal(started.body.token, client.token);
    assert.ok(started.body.expires_in > 590 && started.body.expires_in <= 600);
    assert.match(started.body.streamUrl, new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/v3/directline/conversations/${client.conversationId}/stream\\?t=`));
    const welcome = await client.next((fresh) => welcomed(fresh));
    assert.match(visibleText(welcome), /CARM Onboarding Assistant/);
    for (const activity of welcome) {
      assert.equal(activity.channelId, 'webchat');
      assert.equal(activity.conversation.id, client.conversationId);
      assert.deepEqual(activity.from, { id: 'carm-assistant', name: 'CARM Onboarding Assistant', role: 'bot' });
      assert.match(activity.id, new RegExp(`^${client.conversationId}\\|\\d{7}$`));
      assert.ok(!Number.isNaN(Date.parse(activity.timestamp)));
    }
    // Starting again (a page reconnecting) neither creates a second conversation nor welcomes twice.
    const again = await client.start();
    assert.equal(again.status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await client.activities(client.watermark)).body.activities.length, 0);
  });

  it("echoes the user's activity with its id, their identity and clientActivityID, then the answer, in watermark order", async () => {
    const { client } = await DirectLineTestClient.open(bot.url);
    await client.start();
    await client.next((fresh) => welcomed(fresh));
    const before = client.watermark!;
    const posted = await client.post({
      type: 'message',
      text: 'do I need to register if I use a customs broker?',
      from: { id: 'somebody-else', role: 'user' },
      channelData: { clientActivityID: 'client-42' }
    });
    assert.equal(posted.status, 200);
    assert.match(posted.body.id, new RegExp(`^${client.conversationId}\\|\\d{7}$`));
    const fresh = await client.next((f) => botReplies(f).length >= 1);
    const echo = fresh[0]!;
    assert.equal(echo.id, posted.body.id, 'the echo comes first, with the id the POST returned');
    assert.equal(echo.text, 'do I need to register if I use a customs broker?');
    assert.deepEqual(echo.from, { id: client.userId, role: 'user' }, 'the token decides who speaks, not the body');
    assert.equal(echo.channelData.clientActivityID, 'client-42');
    assert.match(visibleText(botReplies(fresh)), /customs broker/i);
    assert.equal(botReplies(fresh)[0]!.replyToId, echo.id);

    // Watermarks: a number per activity, only newer activities after one, nothing after the last.
    assert.ok(Number(client.watermark) > Number(before));
    const replay = await client.activities(before);
    assert.deepEqual(replay.body.activities.map((a) => a.id), fresh.map((a) => a.id));
    const ids = replay.body.activities.map((a) => Number(a.id.split('|')[1]));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(replay.body.watermark, String(ids.at(-1)));
    const none = await client.activities(client.watermark);
    assert.deepEqual(none.body, { activities: [], watermark: client.watermark });
    const all = await client.activities();
    assert.equal(all.body.activities[0].id, `${client.conversationId}|0000001`);
    assert.equal((await client.activities('abc')).status, 400);
  });

  it("streams the backlog, then the user's echo and the bot's replies as they are sent; a resumed stream skips what was seen", async () => {
    const { client } = await DirectLineTestClient.open(bot.url);
    const started = await client.start();
    const stream = await StreamListener.open(started.body.streamUrl);
    try {
      await stream.waitFor((all) => welcomed(all));
      assert.match(visibleText(stream.activities), /CARM Onboarding Assistant/);
      const posted = await client.say('how do I give my broker access?');
      const all = await stream.waitFor((a) => a.some((x) => x.id === posted.body.id) && botReplies(a.slice(a.findIndex((x) => x.id === posted.body.id))).length >= 1);
      const after = all.slice(all.findIndex((a) => a.id === posted.body.id));
      assert.equal(after[0]!.from.role, 'user');
      assert.match(visibleText(botReplies(after)), /broker/i);
      const watermarks = stream.sets.map((s) => Number(s.watermark));
      assert.deepEqual(watermarks, [...watermarks].sort((a, b) => a - b), 'watermarks only grow');

      // Reconnecting (as Web Chat does after a dropped socket) with the last watermark: no repeats.
      const resumeAt = stream.sets.at(-1)!.watermark;
      const resumed = await client.request('GET', `/conversations/${client.conversationId}?watermark=${resumeAt}`);
      assert.equal(resumed.status, 200);
      assert.match(resumed.body.streamUrl, /watermark=\d+/);
      const second = await StreamListener.open(resumed.body.streamUrl);
      try {
        const reply = await client.say('thanks');
        await second.waitFor((a) => a.some((x) => x.id === reply.body.id) && botReplies(a).length >= 1);
        assert.equal(second.activities[0]!.id, reply.body.id, 'the resumed stream starts with what came after the watermark');
        assert.ok(second.activities.every((a) => Number(a.id.split('|')[1]) > Number(resumeAt)));
      } finally {
        second.close();
      }
    } finally {
      stream.close();
    }
  });

  it('refuses a token for another conversation with 403 on every endpoint, and a missing or forged token with 401', async () => {
    const { client: alice } = await DirectLineTestClient.open(bot.url);
    const { client: bob } = await DirectLineTestClient.open(bot.url);
    const bobStart = await bob.start();
    await alice.start();
    const other = bob.conversationId;
    const attempts = [
      await alice.request('GET', `/conversations/${other}/activities`),
      await alice.request('POST', `/conversations/${other}/activities`, { type: 'message', text: 'hello' }),
      await alice.request('GET', `/conversations/${other}`)
    ];
    for (const attempt of attempts) {
      assert.equal(attempt.status, 403);
      assert.match(attempt.body.error, /another conversation/);
    }
    // Alice's stream token on Bob's stream path.
    const aliceStart = await alice.start();
    const aliceStream = new URL(aliceStart.body.streamUrl);
    const forgedStream = aliceStream.href.replace(alice.conversationId, other);
    await assert.rejects(StreamListener.open(forgedStream), (e: { status?: number }) => e.status === 403);
    // Bob's conversation never saw Alice's attempt.
    const bobs = await bob.next((f) => welcomed(f));
    assert.ok(bobs.every((a) => a.from.role === 'bot'));

    assert.equal((await alice.request('GET', `/conversations/${alice.conversationId}/activities`, undefined, '')).status, 401);
    const [header, payload, signature] = alice.token.split('.');
    const claims = decodeClaims(alice.token);
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, conv: other })).toString('base64url')}.${signature}`;
    const forged = await alice.request('GET', `/conversations/${other}/activities`, undefined, tampered);
    assert.equal(forged.status, 401);
    assert.match(forged.body.error, /not issued by this assistant/);
    assert.ok(payload);
    // A returning-visitor ticket is not a conversation token, nor is a stream token.
    const session = await requestToken(bot.url);
    assert.equal((await alice.request('GET', `/conversations/${alice.conversationId}/activities`, undefined, session.body.ticket)).status, 401);
    const streamToken = new URL(bobStart.body.streamUrl).searchParams.get('t')!;
    assert.equal((await bob.request('GET', `/conversations/${other}/activities`, undefined, streamToken)).status, 401);
  });

  it('refuses an expired token with 403; refresh gives a token with a full lifetime that works', async () => {
    const { client } = await DirectLineTestClient.open(bot.url);
    await client.start();
    // Tokens signed with the service's own key, by a clock in the past.
    const past = await WebChatTokens.open(bot.dataDir, () => Date.now() - 2 * 3600 * 1000);
    const expired = past.conversationToken(client.conversationId, client.userId, 600).token;
    const refused = await client.request('POST', `/conversations/${client.conversationId}/activities`, { type: 'message', text: 'hi' }, expired);
    assert.equal(refused.status, 403);
    assert.match(refused.body.error, /expired/);
    assert.equal((await client.request('POST', '/tokens/refresh', undefined, expired)).status, 403);

    const older = await WebChatTokens.open(bot.dataDir, () => Date.now() - 5 * 60 * 1000);
    const ageing = older.conversationToken(client.conversationId, client.userId, 600).token;
    const refreshed = await client.request('POST', '/tokens/refresh', undefined, ageing);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.conversationId, client.conversationId);
    assert.equal(refreshed.body.expires_in, 600);
    const fresh = decodeClaims(refreshed.body.token);
    assert.ok(fresh.exp > decodeClaims(ageing).exp + 200, 'the refreshed token lives longer');
    assert.equal(fresh.user, client.userId);
    client.token = refreshed.body.token;
    const replies = await client.exchange({ type: 'message', text: 'hello' });
    assert.ok(replies.length > 0);
  });

  it('a returning visitor with a signed ticket keeps their user id and finds their progress; a forged ticket does not', async () => {
    const first = await DirectLineTestClient.open(bot.url);
    const visitor = first.client;
    await visitor.start();
    const welcome = botReplies(await visitor.next((f) => welcomed(f)));
    let replies = await visitor.exchange({ type: 'message', value: button(welcome, /Start my CARM checklist/) });
    replies = await visitor.exchange({ type: 'message', value: button(replies, /Yes, in Canada/) });
    replies = await visitor.exchange({ type: 'message', value: button(replies, /Yes, a broker/) });
    replies = await visitor.exchange({ type: 'message', value: button(replies, /Yes, we have an RM account/) });
    replies = await visitor.exchange({ type: 'message', value: button(replies, 'Done') });
    assert.match(visibleText(replies), /done/i);

    const back = await DirectLineTestClient.open(bot.url, first.session.ticket);
    assert.equal(back.session.returning, true);
    assert.equal(back.session.userId, visitor.userId);
    assert.notEqual(back.session.conversationId, visitor.conversationId);
    await back.client.start();
    const greeting = await back.client.next((f) => welcomed(f));
    assert.match(visibleText(greeting), /Welcome back.*1 of \d+/s);

    // Changing the user id inside the ticket breaks its signature: a new visitor, no progress.
    const [h, , s] = first.session.ticket.split('.');
    const claims = decodeClaims(first.session.ticket);
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, uid: 'someone-else' })).toString('base64url')}.${s}`;
    const stranger = await requestToken(bot.url, { ticket: forged });
    assert.equal(stranger.status, 200);
    assert.equal(stranger.body.returning, false);
    assert.notEqual(stranger.body.userId, visitor.userId);
    assert.notEqual(stranger.body.userId, 'dl_someone-else');
    const garbage = await requestToken(bot.url, { ticket: 'not-a-ticket' });
    assert.equal(garbage.body.returning, false);
    // A conversation token is not a ticket either.
    const misuse = await requestToken(bot.url, { ticket: visitor.token });
    assert.equal(misuse.body.returning, false);
  });

  it('answers malformed input with 400 and a clear JSON error, oversized bodies with 413, uploads with 415, never 500', async () => {
    const { client } = await DirectLineTestClient.open(bot.url);
    await client.start();
    const path = `/conversations/${client.conversationId}/activities`;
    const cases: Array<[string, HttpResult, number, RegExp]> = [
      ['bad JSON', await client.request('POST', path, '{"type":'), 400, /Invalid JSON/],
      ['not JSON', await client.request('POST', path, 'hello', undefined, { 'content-type': 'text/plain' }), 400, /JSON activity/],
      ['no body', await client.request('POST', path), 400, /JSON activity/],
      ['an array', await client.request('POST', path, []), 400, /JSON activity|Invalid activity/],
      ['a channel-only type', await client.request('POST', path, { type: 'conversationUpdate' }), 400, /type must be message, event or typing/],
      ['an event without a name', await client.request('POST', path, { type: 'event' }), 400, /event needs a name/],
      ['text that is not a string', await client.request('POST', path, { type: 'message', text: 42 }), 400, /text/],
      ['a bad locale', await client.request('POST', path, { type: 'message', text: 'hi', locale: '<script>' }), 400, /locale/],
      ['an attachment', await client.request('POST', path, { type: 'message', attachments: [{ contentType: 'image/png', contentUrl: 'x' }] }), 400, /attachments/],
      ['a huge message', await client.request('POST', path, { type: 'message', text: 'x'.repeat(40 * 1024) }), 413, /larger than 32 KB/],
      ['an upload', await client.request('POST', `/conversations/${client.conversationId}/upload?userId=x`, 'file', undefined, { 'content-type': 'multipart/form-data; boundary=x' }), 415, /not supported/],
      ['a bad start body', await client.request('POST', '/conversations', { locale: 42 }), 400, /locale/]
    ];
    for (const [label, result, status, message] of cases) {
      assert.equal(result.status, status, `${label}: ${JSON.stringify(result.body)}`);
      assert.match(result.body.error, message, label);
    }
    const token = (body: string | undefined, type = 'application/json') =>
      fetch(`${bot.url}/api/webchat/token`, { method: 'POST', headers: { 'content-type': type }, body });
    const badTicket = await token(JSON.stringify({ ticket: 5 }));
    assert.equal(badTicket.status, 400);
    assert.match((await badTicket.json()).error, /ticket/);
    assert.equal((await token('{"ticket":')).status, 400);
    assert.equal((await token('ticket please', 'text/plain')).status, 400);
    assert.equal((await token(JSON.stringify({ ticket: 'x'.repeat(6000) }))).status, 413);
    assert.equal((await token(undefined)).status, 200, 'an empty body is a new visitor');
    // None of this reached the bot as a turn or broke the conversation.
    assert.ok((await client.exchange({ type: 'message', text: 'hello' })).length > 0);
    assert.ok(!bot.logs.join('').includes('"level":50'), 'no request was logged as a server error');
  });

  it('refuses a WebSocket on an unknown path and a stream URL without a valid stream token', async () => {
    const ws = bot.url.replace('http', 'ws');
    await assert.rejects(StreamListener.open(`${ws}/somewhere`), (e: { status?: number }) => e.status === 404);
    const { client } = await DirectLineTestClient.open(bot.url);
    await assert.rejects(StreamListener.open(`${ws}/v3/directline/conversations/${client.conversationId}/stream`), (e: { status?: number }) => e.status === 401);
    await assert.rejects(
      StreamListener.open(`${ws}/v3/directline/conversations/${client.conversationId}/stream?t=${client.token}`),
      (e: { status?: number }) => e.status === 401,
      'a conversation token is not a stream token'
    );
  });

  it('serves the page, its script and styles, and Web Chat from node_modules (gzipped)', async () => {
    const page = await fetch(`${bot.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<html lang="en">/);
    assert.match(html, /src="webchat\/webchat\.js"/);
    for (const [path, type] of [['/app.js', /javascript/], ['/styles.css', /text\/css/]] as const) {
      const r = await fetch(`${bot.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type')!, type);
    }
    const bundle = await fetch(`${bot.url}/webchat/webchat.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type')!, /javascript/);
    assert.ok((await bundle.text()).includes('renderWebChat'));
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${bot.url}/webchat/webchat.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject)
      );
    });
    assert.equal(raw.encoding, 'gzip');
    assert.ok(raw.body.length < 2_000_000, `gzipped bundle is ${raw.body.length} bytes`);
    assert.ok(gunzipSync(raw.body).length > 3_000_000);
  });
});

describe('web chat: rate limits', function () {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant();
  });
  after(async () => {
    await bot?.cleanup();
  });

  it('limits new chat sessions per client with 429 and Retry-After', async () => {
    let allowed = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 45 && !refused; i++) {
      const r = await fetch(`${bot.url}/api/webchat/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (r.status === 200) allowed++;
      else refused = r;
      if (r.status === 200) await r.body?.cancel();
    }
    assert.ok(refused, 'a flood of session requests is refused');
    assert.equal(refused.status, 429);
    assert.ok(allowed >= 30 && allowed <= 33, `${allowed} sessions before the limit`);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match((await refused.json()).error, /Too many/);
  });

  it('limits the activities one conversation may post with 429 and Retry-After', async () => {
    // The session limit above does not apply to a conversation already open; this one was opened from a fresh instance's token module.
    const tokens = await WebChatTokens.open(bot.dataDir);
    const { token } = tokens.conversationToken('rate-limited-conversation', 'dl_rate-limit-test', 600);
    const client = new DirectLineTestClient(bot.url, token, 'rate-limited-conversation', 'dl_rate-limit-test');
    let refused;
    let sent = 0;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await client.post({ type: 'typing' });
      if (r.status === 200) sent++;
      else refused = r;
    }
    assert.ok(refused, 'a flood of posts is refused');
    assert.equal(refused.status, 429);
    assert.ok(sent >= 20 && sent <= 24, `${sent} posts before the limit`);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  });
});

describe('web chat: production through Azure Direct Line (DIRECT_LINE_SECRET)', function () {
  const secret = 'dl-secret-never-in-the-browser';
  let bot: RunningAssistant;
  let tokenService: Server;
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  const seen: Array<{ method?: string; url?: string; authorization?: string; body: any }> = [];

  before(async () => {
    tokenService = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
      if (answer.status === 0) return req.socket.destroy(); // the service is down mid-request
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((r) => tokenService.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/v3/directline`;
    bot = await startAssistant({ DIRECT_LINE_SECRET: secret, DIRECT_LINE_ENDPOINT: endpoint });
  });
  after(async () => {
    await bot?.cleanup();
    await new Promise<void>((r) => tokenService.close(() => r()));
  });

  it("gets the page's token from the Direct Line token service with the secret, bound to the visitor's user id", async () => {
    answer = { status: 200, body: { conversationId: 'azure-conversation-1', token: 'azure-token-1', expires_in: 3600 } };
    const first = await requestToken(bot.url);
    assert.equal(first.status, 200);
    assert.equal(first.body.mode, 'azure');
    assert.equal(first.body.token, 'azure-token-1');
    assert.equal(first.body.conversationId, 'azure-conversation-1');
    assert.equal(first.body.expires_in, 3600);
    const call = seen.at(-1)!;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/v3/directline/tokens/generate');
    assert.equal(call.authorization, `Bearer ${secret}`);
    assert.deepEqual(call.body, { user: { id: first.body.userId } });
    assert.match(first.body.userId, /^dl_/);
    assert.ok(!JSON.stringify(first.body).includes(secret), 'the secret never reaches the browser');
    const page = await (await fetch(`${bot.url}/`)).text();
    const script = await (await fetch(`${bot.url}/app.js`)).text();
    assert.ok(!page.includes(secret) && !script.includes(secret));

    // A returning visitor is the same Direct Line user, so the bot finds their progress.
    answer = { status: 200, body: { conversationId: 'azure-conversation-2', token: 'azure-token-2', expires_in: 3600 } };
    const back = await requestToken(bot.url, { ticket: first.body.ticket });
    assert.equal(back.body.returning, true);
    assert.deepEqual(seen.at(-1)!.body, { user: { id: first.body.userId } });
  });

  it('answers 502 with a plain message when the token service refuses, answers nonsense or is down', async () => {
    answer = { status: 403, body: { error: { code: 'BadArgument', message: 'bad secret' } } };
    const refused = await requestToken(bot.url);
    assert.equal(refused.status, 502);
    assert.match((refused.body as any).error, /not available/);
    assert.ok(!JSON.stringify(refused.body).includes(secret));
    answer = { status: 200, body: { nothing: 'useful' } };
    assert.equal((await requestToken(bot.url)).status, 502);
    answer = { status: 0, body: undefined };
    const down = await requestToken(bot.url);
    assert.equal(down.status, 502);
    assert.match((down.body as any).error, /not available/);
    assert.ok(bot.logs.some((l) => l.includes('Direct Line token service refused') && l.includes('403')));
    assert.ok(!bot.logs.join('').includes(secret), 'the secret is never logged');
  });

  it('keeps the local Direct Line endpoint closed to tokens it did not sign', async () => {
    const local = new DirectLineTestClient(bot.url, 'azure-token-1', 'azure-conversation-1', 'dl_x');
    assert.equal((await local.start()).status, 401);
  });
});

describe('web chat: restarts and Teams configuration', function () {
  it('keeps sessions across a restart: the key in DATA_DIR still verifies tokens and tickets', async () => {
    const first = await startAssistant();
    const dataDir = first.dataDir;
    let client: DirectLineTestClient;
    let ticket: string;
    try {
      const opened = await DirectLineTestClient.open(first.url);
      client = opened.client;
      ticket = opened.session.ticket;
      await client.start();
      await client.next((f) => welcomed(f));
    } finally {
      await first.stop();
      await first.channel.close();
    }
    const second = await startAssistant({}, { dataDir });
    try {
      const resumed = new DirectLineTestClient(second.url, client.token, client.conversationId, client.userId);
      resumed.watermark = client.watermark;
      const reconnect = await resumed.request('GET', `/conversations/${client.conversationId}?watermark=${client.watermark}`);
      assert.equal(reconnect.status, 200, JSON.stringify(reconnect.body));
      const replies = await resumed.exchange({ type: 'message', text: 'do I need to register if I use a customs broker?' });
      assert.match(visibleText(replies), /customs broker/i);
      assert.ok(replies.every((a) => Number(a.id.split('|')[1]) > Number(client.watermark)), 'numbering continues after the watermark');
      const back = await requestToken(second.url, { ticket });
      assert.equal(back.body.returning, true);
      assert.equal(back.body.userId, client.userId);
    } finally {
      await second.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('works with a MicrosoftAppId configured, while /api/messages requires Bot Framework tokens', async () => {
    const bot = await startAssistant({ MicrosoftAppId: '00000000-0000-0000-0000-000000000001', MicrosoftAppPassword: 'test-secret' });
    try {
      const { client } = await DirectLineTestClient.open(bot.url);
      await client.start();
      await client.next((f) => welcomed(f));
      const replies = await client.exchange({ type: 'message', text: 'do I need to register if I use a customs broker?' });
      assert.match(visibleText(replies), /customs broker/i);
      const c = bot.conversation();
      assert.equal((await bot.channel.post(bot.url, c.activity({ type: 'message', text: 'hello' }))).status, 401);
    } finally {
      await bot.cleanup();
    }
  });
});

describe('web chat: its own adapter (createWebChat on the real HTTP server)', function () {
  let http: HttpServer;
  let url: string;
  let dataDir: string;
  const logs: string[] = [];
  const seenByMiddleware: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'carm-webchat-'));
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0' });
    const logger = createLogger('info', { write: (l: string) => logs.push(l) });
    const content = await loadContent(join(PROJECT_ROOT, 'content'));
    const recorder: Middleware = {
      onTurn: async (context, next) => {
        seenByMiddleware.push(`${context.activity.channelId}:${context.activity.type}`);
        await next();
      }
    };
    const runTurn = async (context: TurnContext) => {
      if (context.activity.type === 'conversationUpdate') throw new Error('welcome failed on purpose');
      if (context.activity.text === 'boom') throw new Error('turn failed on purpose');
      await context.sendActivity(`echo: ${context.activity.text}`);
    };
    const webChat = await createWebChat({ config, logger, runTurn, middleware: [recorder], onTurnError: turnErrorHandler({ logger, apology: () => 'Sorry (test apology)', message: 'web chat turn failed' }),
      dataDir,
      content
    });
    http = createHttpServer({ adapter: createChannelAdapter(config), runTurn, logger, version: 'test', modules: [webChat] });
    url = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
  });
  after(async () => {
    await http?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the given middleware and turn, apologises for a failed message turn only, and logs both failures', async () => {
    const { client } = await DirectLineTestClient.open(url);
    assert.equal((await client.start()).status, 201);
    const echo = await client.exchange({ type: 'message', text: 'hello' });
    assert.deepEqual(echo.map((a) => a.text), ['echo: hello']);
    const failed = await client.post({ type: 'message', text: 'boom' });
    assert.equal(failed.status, 200, 'the message was received even though the turn failed');
    const after = await client.next((f) => f.some((a) => a.from.role === 'bot'));
    assert.deepEqual(after.map((a) => [a.from.role, a.text]), [['user', 'boom'], ['bot', 'Sorry (test apology)']]);
    assert.equal(after[1]!.replyToId, failed.body.id);
    // The failed welcome (a conversationUpdate) was logged but not apologised for.
    const all = await client.activities();
    assert.equal(all.body.activities.filter((a) => a.text === 'Sorry (test apology)').length, 1);
    assert.ok(logs.some((l) => l.includes('welcome failed on purpose') && l.includes('web chat turn failed')));
    assert.ok(logs.some((l) => l.includes('turn failed on purpose')));
    assert.deepEqual(seenByMiddleware, ['webchat:conversationUpdate', 'webchat:message', 'webchat:message']);
  });
});

describe('web chat: history and rate-limit bookkeeping', () => {
  it('numbers activities, trims the oldest past the cap, and serves watermarks across the trim', () => {
    const store = new ConversationStore({ maxHistory: 3 });
    const c = store.create('conv', 'dl_u');
    for (let i = 1; i <= 5; i++) assert.equal(c.append({ type: 'message', text: `m${i}` }), `conv|000000${i}`);
    assert.deepEqual(c.since().activities.map((a) => a.text), ['m3', 'm4', 'm5']);
    assert.deepEqual(c.since(3).activities.map((a) => a.text), ['m4', 'm5']);
    assert.deepEqual(c.since(1).activities.map((a) => a.text), ['m3', 'm4', 'm5'], 'a client far behind gets what is left');
    assert.equal(c.since(5).activities.length, 0);
    assert.equal(c.watermark, '5');
    const revived = store.create('after-restart', 'dl_u', 41);
    assert.equal(revived.append({ type: 'message' }), 'after-restart|0000042');
    assert.equal(revived.since(41).activities.length, 1);
  });

  it('forgets idle conversations and the least recently used beyond the cap, never one with an open stream', () => {
    let now = 0;
    const store = new ConversationStore({ maxConversations: 3, idleMs: 1000, now: () => now });
    const streamed = store.create('streamed', 'u');
    const unsubscribe = streamed.subscribe(() => undefined);
    store.create('a', 'u');
    now = 10;
    store.create('b', 'u');
    now = 20;
    store.get('a');
    store.create('c', 'u'); // over the cap: b is the least recently active idle one
    assert.equal(store.get('b'), undefined);
    assert.ok(store.get('a') && store.get('c') && store.get('streamed'));
    now = 5000;
    store.sweep();
    assert.equal(store.size, 1, 'idle ones are gone, the streamed one stays');
    unsubscribe();
  });

  it('a token bucket allows the burst, then refills at its rate, and says how long to wait', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ capacity: 3, refillPerSecond: 0.5, now: () => now });
    assert.deepEqual([1, 2, 3].map(() => limiter.take('ip').allowed), [true, true, true]);
    assert.deepEqual(limiter.take('ip'), { allowed: false, retryAfterSeconds: 2 });
    assert.equal(limiter.take('other-ip').allowed, true, 'each client has its own bucket');
    now = 2000;
    assert.equal(limiter.take('ip').allowed, true);
    assert.equal(limiter.take('ip').allowed, false);
  });
});
