import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { answerProfile, button, buttons, visibleText, type ChannelActivity, type ChannelConversation } from './support/standInChannel.js';
import { readUserInput, MAX_TEXT_LENGTH } from '../dialogs/userInput.js';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { OnboardingProgress } from '../src/onboarding/onboardingProgress.js';
import type { Language } from '../src/content/schema.js';

/**
 * Property-based storms of malformed and odd activities against a running assistant. Each run is
 * bounded (fixed number of runs, fixed seed from FC_SEED or random) so the suite stays well under a
 * minute; a failure prints the seed and the shrunk counterexample.
 */

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
/** FC_RUNS_FACTOR=10 runs a longer storm locally (the default keeps the file under a minute). */
const RUNS_FACTOR = Number(process.env.FC_RUNS_FACTOR ?? 1);
const fcOptions = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns * RUNS_FACTOR)), ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true });

// ------------------------------------------------------------------------------------------------
// Odd strings
// ------------------------------------------------------------------------------------------------

/** Business numbers in the spellings people use, and in spellings meant to slip past a scrubber. */
const BN_DIGITS = ['123456782', '100000009', '870543218'];
const businessNumberText = fc.oneof(
  fc.constantFrom(...BN_DIGITS),
  fc.constantFrom('123 456 782', '123-456-782', '123 456 782 RM 0001', '123456782RM0001', '123456782 rm 0001', '870-543-218-RM-0002'),
  fc.constantFrom('１２３４５６７８２', '123\u200b456\u200b782', '123\u00a0456\u00a0782', '1\u20602\u20603\u20604\u20605\u20606\u20607\u20608\u20602', '123\ufeff456\ufeff782'),
  fc.tuple(fc.constantFrom('My BN is ', 'mon NE est ', 'BN: ', '', 'is '), fc.constantFrom(...BN_DIGITS), fc.constantFrom('', ' RM 0001', 'RM0001', ' please')).map(
    ([a, b, c]) => `${a}${b}${c}`
  )
);

const unicodeOddity = fc.constantFrom(
  '\u202e', // right-to-left override
  '\u200f', // right-to-left mark
  '\u200b', // zero-width space
  '\u200d', // zero-width joiner
  '\ufeff', // byte-order mark
  '\u0000', // NUL
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '👩‍👩‍👧‍👦',
  '🇨🇦',
  'e\u0301', // combining accent
  'ﷺ',
  '\u0627\u0644\u0639\u0631\u0628\u064a\u0629', // Arabic
  '\u05e2\u05d1\u05e8\u05d9\u05ea', // Hebrew
  '\u2028', // line separator
  '\r\n',
  '\t',
  '<at>CARM Assistant</at>',
  '<script>alert(1)</script>',
  '{{$root}}',
  '${process.exit()}',
  '%s%n%x',
  '../../etc/passwd',
  '\\u0000',
  '"\'`'
);

const oddString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }), // includes lone surrogates
  fc.array(unicodeOddity, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  businessNumberText
);

/** Odd ids: mostly the printable kind channels use, sometimes anything. */
const oddId = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) },
  { weight: 2, arbitrary: fc.constantFrom('19:abc@thread.tacv2;messageid=1', 'a:1-2_3', 'conv with spaces', 'été-à-ü', '%2F..%2F', '?x=1#y', '../x', 'x'.repeat(1024)) },
  { weight: 1, arbitrary: oddString.filter((s) => s.length > 0) }
);

const question = fc.constantFrom(
  'How do I register for CARM?',
  'What is the security amount?',
  'Comment ajouter mon courtier?',
  'show my progress',
  'help',
  'menu',
  'start',
  'done',
  'yes',
  'non',
  'français',
  'english',
  'talk to an expert',
  'start over'
);

/** Longer than the assistant accepts, but under the HTTP body limit. */
const tooLongText = fc
  .tuple(fc.integer({ min: MAX_TEXT_LENGTH + 1, max: 60_000 }), fc.constantFrom('a', 'é', '🙂', ' x', '\u200b', '123456782 '))
  .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n) + 'z');

const textField = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 3, arbitrary: question },
  { weight: 2, arbitrary: fc.tuple(question, unicodeOddity, oddString).map(([q, u, s]) => `${u}${q}${u}${s}`) },
  { weight: 1, arbitrary: tooLongText },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '\n\n', '\u200b\u200b') }
);

// ------------------------------------------------------------------------------------------------
// Odd card submits
// ------------------------------------------------------------------------------------------------

const KNOWN_ACTIONS = ['answer', 'feedback', 'command', 'step', 'choose', 'jump', 'markDone', 'setLanguage'];
const STEP_IDS = ['choose-business-account-manager', 'choose-sign-in-option', 'get-business-number', 'get-program-account', 'no-such-step'];

/** Submits our own cards could send: valid actions (they must work for other users during the storm). */
const validAction = fc.oneof(
  fc.record({ action: fc.constant('answer'), entryId: fc.constantFrom('security-amount', 'billing-cycle-and-due-date', 'no-such-entry') }),
  fc.record({ action: fc.constant('feedback'), entryId: fc.constantFrom('security-amount', 'nope'), helpful: fc.boolean() }),
  fc.record({
    action: fc.constant('command'),
    command: fc.constantFrom('start_onboarding', 'show_progress', 'help', 'cancel', 'menu', 'start_over', 'switch_to_french', 'switch_to_english', 'talk_to_expert', 'greeting', 'thanks', 'goodbye', 'undo', 'acknowledge', 'change_profile', 'previous_step', 'identity')
  }),
  fc.record(
    {
      action: fc.constant('step'),
      stepId: fc.constantFrom(...STEP_IDS),
      choice: fc.constantFrom('done', 'later', 'skip', 'more'),
      value: fc.oneof(businessNumberText, fc.constantFrom('gckey', 'sign-in-partner', 'undecided', '123456782RM0001'), fc.string({ maxLength: 30 }))
    },
    { requiredKeys: ['action', 'stepId', 'choice'] }
  ),
  fc.record({
    action: fc.constant('choose'),
    question: fc.constantFrom('profile.resident', 'profile.broker', 'profile.rm', 'startOver', 'nope'),
    value: fc.constantFrom('yes', 'no', 'maybe')
  }),
  fc.record({ action: fc.constantFrom('jump', 'markDone'), stepId: fc.constantFrom(...STEP_IDS) }, { requiredKeys: ['action'] }),
  fc.record({ action: fc.constant('setLanguage'), language: fc.constantFrom('en', 'fr', 'de') })
);

/** Deeply nested junk, built without recursion limits in the generator. */
const deepJunk = fc.integer({ min: 50, max: 2000 }).map((depth) => {
  let node: unknown = { action: 'step' };
  for (let i = 0; i < depth; i++) node = i % 2 ? [node] : { a: node };
  return node;
});

const junkValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }),
  deepJunk,
  fc.record({ action: fc.oneof(oddString, fc.constantFrom('delete', 'admin', '__proto__', 'constructor', 'toString')) }, { requiredKeys: [] }),
  // Known action names with fields of the wrong type or size.
  fc.record({
    action: fc.constantFrom(...KNOWN_ACTIONS),
    stepId: fc.oneof(fc.integer(), fc.constant(null), fc.string({ minLength: 101, maxLength: 300 }), fc.array(fc.string())),
    entryId: fc.oneof(fc.integer(), fc.object()),
    helpful: fc.oneof(fc.string(), fc.integer()),
    command: fc.oneof(oddString, fc.integer()),
    choice: fc.oneof(oddString, fc.integer()),
    language: fc.oneof(oddString, fc.boolean()),
    value: fc.oneof(fc.string({ minLength: 101, maxLength: 500 }), fc.object(), fc.integer())
  }),
  fc.constantFrom('{"action":"command","command":"help"}', '{"action":', '[1,2,3]', 'null', '"just a string"', '{"__proto__":{"action":"command","command":"start_over"}}'),
  fc.record({ msteams: fc.oneof(fc.anything({ maxDepth: 2 }), fc.record({ type: fc.constant('messageBack'), value: fc.anything({ maxDepth: 2 }) })) }),
  fc.string({ minLength: 1000, maxLength: 50_000 })
);

// ------------------------------------------------------------------------------------------------
// Whole activities
// ------------------------------------------------------------------------------------------------

interface Pools {
  serviceUrl: string;
  seedUserId: string;
  seedConversationId: string;
  seedActivities: ChannelActivity[];
  /** Activity ids the seeded user's progress records as applied. */
  appliedIds: string[];
}

function oddOrMissing<T>(arb: fc.Arbitrary<T>, weight = 6): fc.Arbitrary<T | undefined | unknown> {
  return fc.oneof(
    { weight, arbitrary: arb },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })) }
  );
}

function activityArb(p: Pools): fc.Arbitrary<ChannelActivity> {
  const userId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('storm-user-1', 'storm-user-2', 'storm-user-3') },
    { weight: 3, arbitrary: fc.constant(p.seedUserId) },
    { weight: 2, arbitrary: oddString.filter((s) => s.length > 0) },
    { weight: 1, arbitrary: fc.constantFrom('29:1abcDEF', 'a'.repeat(1024), 'user/../../x', 'user%2F..%2F', '*', 'anonymous') }
  );
  const conversationId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('storm-conv-1', 'storm-conv-2', 'storm-conv-3') },
    { weight: 2, arbitrary: fc.constant(p.seedConversationId) },
    { weight: 2, arbitrary: oddId },
    { weight: 1, arbitrary: fc.constantFrom('a:1/b:2', '..', 'c?x=1#frag') }
  );
  const serviceUrl = fc.oneof(
    { weight: 3, arbitrary: fc.constant(p.serviceUrl) },
    // Only addresses the schema refuses: a channel that fails is tested on its own below.
    { weight: 1, arbitrary: fc.constantFrom('not a url', 'ftp://127.0.0.1/', '', 'http://', 'javascript:alert(1)', `${p.serviceUrl} x`) }
  );
  const channelId = fc.oneof(
    { weight: 8, arbitrary: fc.constant('emulator') },
    { weight: 2, arbitrary: fc.constantFrom('msteams', 'webchat', 'directline', 'slack', 'test') },
    { weight: 1, arbitrary: oddString.filter((s) => s.length > 0) }
  );
  const type = fc.oneof(
    { weight: 10, arbitrary: fc.constant('message') },
    { weight: 3, arbitrary: fc.constantFrom('conversationUpdate', 'event', 'invoke', 'typing', 'messageReaction', 'installationUpdate', 'endOfConversation', 'messageUpdate', 'messageDelete', 'trace', 'handoff', 'command') },
    { weight: 1, arbitrary: oddString.filter((s) => s.length > 0) }
  );
  const value = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: validAction }, { weight: 3, arbitrary: junkValue });
  const replayed = fc.constantFrom(...p.seedActivities);
  // Fields the bot reads for meaning: junk of every kind, in envelopes that are valid or not.
  const content = {
    id: oddOrMissing(fc.oneof(fc.uuid(), fc.constantFrom(...p.seedActivities.map((a) => a.id as string)), oddString), 10),
    recipient: oddOrMissing(fc.record({ id: fc.oneof(fc.constant('carm-bot'), oddString), name: oddString }, { requiredKeys: [] }), 10),
    locale: oddOrMissing(fc.oneof(fc.constantFrom('en-CA', 'fr-CA', 'fr', 'en', 'zz-ZZ', 'FR_ca', ''), oddString), 6),
    value,
    name: fc.oneof(fc.constantFrom('setLanguage', 'webchat/join', 'adaptiveCard/action', 'task/fetch', 'composeExtension/query', 'signin/verifyState'), oddString),
    entities: fc.oneof(
      fc.array(
        fc.record(
          { type: fc.constantFrom('mention', 'clientInfo', 'junk'), mentioned: fc.oneof(fc.record({ id: fc.oneof(fc.constant('carm-bot'), oddString) }), fc.anything({ maxDepth: 1 })), text: oddString },
          { requiredKeys: ['type'] }
        ),
        { maxLength: 3 }
      ),
      fc.anything({ maxDepth: 2 })
    ),
    channelData: fc.anything({ maxDepth: 3 }),
    membersAdded: fc.oneof(fc.array(fc.record({ id: fc.oneof(userId, fc.constant('carm-bot'), fc.integer()) }, { requiredKeys: [] }), { maxLength: 3 }), fc.anything({ maxDepth: 1 })),
    attachments: fc.oneof(fc.array(fc.record({ contentType: oddString, content: fc.anything({ maxDepth: 2 }) }), { maxLength: 2 }), fc.anything({ maxDepth: 1 })),
    replyToId: oddString,
    deliveryMode: fc.constantFrom('normal', 'expectReplies', 'notification', 'junk'),
    expiration: oddString
  };
  /** A channel's envelope, every field of the right type, around odd content: this reaches the bot's logic. */
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
  const wellFormed = fc.record(
    {
      type,
      id: opt(fc.oneof(fc.uuid(), fc.constantFrom(...p.seedActivities.map((a) => a.id as string)), oddId)),
      serviceUrl: fc.constant(p.serviceUrl),
      channelId,
      conversation: fc.record(
        { id: conversationId, conversationType: opt(fc.oneof(fc.constantFrom('personal', 'groupChat', 'channel'), oddString)), tenantId: opt(oddString), isGroup: opt(fc.boolean()) },
        { requiredKeys: ['id'] }
      ),
      from: fc.record({ id: userId, name: opt(oddString), aadObjectId: opt(fc.oneof(fc.uuid(), fc.constant(p.seedUserId))) }, { requiredKeys: ['id'] }),
      recipient: opt(fc.record({ id: fc.oneof(fc.constant('carm-bot'), oddString.filter((x) => x.length > 0)), name: oddString }, { requiredKeys: [] })),
      locale: opt(fc.oneof(fc.constantFrom('en-CA', 'fr-CA', 'fr', 'en', 'zz-ZZ', 'FR_ca', ''), oddString)),
      text: opt(textField),
      value,
      name: opt(fc.oneof(fc.constantFrom('setLanguage', 'webchat/join', 'adaptiveCard/action', 'task/fetch', 'composeExtension/query', 'signin/verifyState'), oddString)),
      entities: opt(
        fc.array(
          fc.record(
            { type: fc.constantFrom('mention', 'clientInfo', 'junk'), mentioned: fc.oneof(fc.record({ id: fc.oneof(fc.constant('carm-bot'), oddString) }), fc.anything({ maxDepth: 1 })), text: oddString },
            { requiredKeys: ['type'] }
          ),
          { maxLength: 3 }
        )
      ),
      channelData: opt(fc.anything({ maxDepth: 3 })),
      membersAdded: opt(fc.array(fc.record({ id: fc.oneof(userId, fc.constant('carm-bot')) }), { maxLength: 3 })),
      attachments: opt(fc.array(fc.record({ contentType: oddString, content: fc.anything({ maxDepth: 2 }), contentUrl: oddString }, { requiredKeys: ['contentType'] }), { maxLength: 2 })),
      replyToId: opt(fc.oneof(fc.uuid(), oddId)),
      deliveryMode: opt(fc.constantFrom('normal', 'expectReplies', 'notification', 'junk')),
      timestamp: opt(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      expiration: opt(oddString)
    },
    { requiredKeys: ['type', 'serviceUrl', 'channelId', 'conversation', 'from', 'value'] }
  );
  /** Envelopes with missing or mistyped fields: these must be refused with a 4xx. */
  const broken = fc.record(
    {
      type: oddOrMissing(type, 3),
      serviceUrl: oddOrMissing(serviceUrl, 3),
      channelId: oddOrMissing(channelId, 3),
      conversation: oddOrMissing(
        fc.record({ id: oddOrMissing(conversationId, 3), conversationType: fc.oneof(fc.constantFrom('personal', 'groupChat'), fc.integer()), isGroup: fc.oneof(fc.boolean(), fc.string()) }, { requiredKeys: ['id'] }),
        3
      ),
      from: oddOrMissing(fc.record({ id: oddOrMissing(userId, 3), aadObjectId: fc.oneof(fc.uuid(), fc.integer()) }, { requiredKeys: ['id'] }), 3),
      text: oddOrMissing(textField, 2),
      timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), oddString, fc.integer()),
      ...content
    },
    { requiredKeys: ['value'] }
  );
  return fc.oneof({ weight: 8, arbitrary: wellFormed }, { weight: 3, arbitrary: broken }, { weight: 1, arbitrary: replayed.map((a) => ({ ...a })) }).map((a) => stripUndefined(a as ChannelActivity));
}

function stripUndefined(a: ChannelActivity): ChannelActivity {
  const out: ChannelActivity = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

/** How the storm sends a body: mostly JSON, sometimes raw or mislabelled. */
const encoding = fc.oneof(
  { weight: 20, arbitrary: fc.constant('json' as const) },
  { weight: 1, arbitrary: fc.constantFrom('text' as const, 'form' as const, 'none' as const, 'truncated' as const) }
);

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

async function postRaw(url: string, activity: ChannelActivity, how: 'json' | 'text' | 'form' | 'none' | 'truncated'): Promise<{ status: number; body: string }> {
  const json = JSON.stringify(activity);
  const headers: Record<string, string> = {};
  let body: string = json;
  if (how === 'json') headers['content-type'] = 'application/json';
  if (how === 'text') headers['content-type'] = 'text/plain';
  if (how === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(activity).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])).toString();
  }
  if (how === 'truncated') {
    headers['content-type'] = 'application/json';
    body = json.slice(0, Math.max(1, Math.floor(json.length / 2)));
  }
  const response = await fetch(`${url}/api/messages`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}

/** True when this activity, as the seeded user, could legitimately change their progress. */
function couldChangeSeedProgress(a: ChannelActivity, p: Pools): boolean {
  const fromId = (a.from as { id?: unknown; aadObjectId?: unknown } | undefined);
  const isSeed = fromId?.id === p.seedUserId || fromId?.aadObjectId === p.seedUserId;
  if (!isSeed) return false;
  // An exact replay is dropped by the duplicate filter.
  if (p.seedActivities.some((s) => isDeepStrictEqual(s, a))) return false;
  if (a.type === 'event' && a.name === 'setLanguage') return false; // language lives in user state
  let input;
  try {
    input = readUserInput(a as never);
  } catch {
    return true;
  }
  // A step submit whose activity id was already applied changes nothing, whatever it says.
  const action = input.action?.action;
  if ((action === 'step' || action === 'markDone') && p.appliedIds.includes(a.id)) return false;
  if (action && !['answer', 'feedback'].includes(action)) return true;
  if (input.unreadableSubmit) return false;
  // Typed text can only act through the recognizer or an open question: letters (or digits, for a
  // business-number step) are needed for that, and too-long messages are refused before either.
  return input.text.length <= MAX_TEXT_LENGTH && /[\p{L}\p{N}?]/u.test(input.text);
}

/** Every string a log line carries, normalised the way a reader would see it, separators removed. */
function readableDigits(text: string): string {
  return text.normalize('NFKC').replace(/[^\p{L}\p{N}]/gu, '');
}

function logStrings(line: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  try {
    walk(JSON.parse(line));
  } catch {
    out.push(line);
  }
  return out;
}

function assertNoBusinessNumber(lines: string[], where: string): void {
  for (const line of lines) {
    for (const s of logStrings(line)) {
      const seen = readableDigits(s);
      for (const bn of BN_DIGITS) assert.ok(!seen.includes(bn), `${where} shows business number ${bn} in: ${s.slice(0, 300)}`);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// The tests
// ------------------------------------------------------------------------------------------------

describe('Hostile input on /api/messages (property-based)', function () {
  this.timeout(120_000 * Math.max(1, RUNS_FACTOR));
  let bot: RunningAssistant;
  let pools: Pools;
  let seedConversation: ChannelConversation;
  let seededProgress: OnboardingProgress;

  before(async () => {
    bot = await startAssistant({ LOG_LEVEL: 'debug' });
    // A user part-way through the checklist, with a business number and a later-step recorded.
    const c = bot.conversation({ userId: `seed-${randomUUID()}`, conversationId: `seed-conv-${randomUUID()}` });
    seedConversation = c;
    const sent: ChannelActivity[] = [];
    const click = async (data: ChannelActivity) => {
      const activity = c.activity({ type: 'message', value: data });
      sent.push(activity);
      const before = bot.channel.repliesIn(c.id).length;
      const r = await bot.channel.post(bot.url, activity);
      assert.equal(r.status, 200);
      return bot.channel.repliesIn(c.id).slice(before);
    };
    await click({ action: 'command', command: 'start_onboarding' });
    let r = await answerProfile(click, { resident: true, broker: false, rm: false });
    r = await click(button(r, 'Done'));
    r = await click({ ...button(r, 'Done'), value: 'gckey' });
    r = await click({ ...button(r, 'Done'), value: '123 456 782' });
    await click(button(r, /Not yet/));
    await c.say('cancel');
    seededProgress = (await bot.assistant.progress.get({ channelId: 'emulator', userId: c.userId }))!;
    assert.equal(seededProgress.values.businessNumber, '123456782');
    assert.equal(Object.keys(seededProgress.steps).length, 4);
    pools = {
      serviceUrl: bot.channel.serviceUrl,
      seedUserId: c.userId,
      seedConversationId: c.id,
      seedActivities: sent,
      appliedIds: seededProgress.appliedActivityIds
    };
  });

  after(async () => {
    await bot?.cleanup();
  });

  it('a storm of malformed activities never gets a 5xx, never fails a turn, and leaves a user\'s progress alone', async () => {
    const statuses = new Map<number, number>();
    const refused = new Map<string, number>();
    const logsBefore = bot.logs.length;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(activityArb(pools), encoding), { minLength: 8, maxLength: 24 }), async (batch) => {
        const safe = batch.map(([a, how]) =>
          couldChangeSeedProgress(a, pools) ? [{ ...a, from: { id: `storm-user-${randomUUID()}` } }, how] as const : ([a, how] as const)
        );
        // Sent concurrently, as a busy channel would.
        const results = await Promise.all(safe.map(([a, how]) => postRaw(bot.url, a, how)));
        for (const r of results) {
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 400) {
            const reason = /Invalid activity: ([\w.]+)/.exec(r.body)?.[1] ?? r.body.slice(0, 40);
            refused.set(reason, (refused.get(reason) ?? 0) + 1);
          }
        }
        results.forEach((r, i) => assert.ok(r.status < 500, `HTTP ${r.status} for ${JSON.stringify(safe[i]![0]).slice(0, 500)}`));
      }),
      fcOptions(90)
    );
    const health = await fetch(`${bot.url}/healthz`);
    assert.equal(health.status, 200);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.ok((statuses.get(200) ?? 0) > 0.35 * total, `a good share of activities reach the bot: ${JSON.stringify([...statuses])}, refused: ${JSON.stringify([...refused])}`);
    const failures = bot.logs.slice(logsBefore).filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(failures.map((l) => l.slice(0, 800)), [], 'no turn failed and nothing was logged as an error');
    const after = await bot.assistant.progress.get({ channelId: 'emulator', userId: pools.seedUserId });
    assert.deepEqual(after, seededProgress);
    // The bot still works for the seeded user: their progress card shows what they did (the storm may
    // have switched their language).
    const r = await seedConversation.click({ action: 'command', command: 'show_progress' });
    assert.match(visibleText(r), /\b3 (of|étapes sur) 1\d\b/);
  });

  it('the same storm against the web chat\'s Direct Line endpoint: no 5xx, no failed turn, tokens respected', async () => {
    const logsBefore = bot.logs.length;
    const statuses = new Map<number, number>();
    const json = { 'content-type': 'application/json' };
    // A few visitors, each with a token bound to their own conversation.
    const visitors: Array<{ token: string; conversationId: string }> = [];
    for (let i = 0; i < 6; i++) {
      const session = await (await fetch(`${bot.url}/api/webchat/token`, { method: 'POST', headers: json, body: '{}' })).json();
      const started = await fetch(`${bot.url}/v3/directline/conversations`, {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${session.token}` },
        body: '{}'
      });
      assert.ok(started.status === 201 || started.status === 200, `start: HTTP ${started.status}`);
      visitors.push({ token: session.token, conversationId: session.conversationId });
    }
    const dlOpt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
    /** Mostly what Web Chat would post (right types, odd content), sometimes anything at all. */
    const typed = fc.record(
      {
        type: fc.oneof({ weight: 6, arbitrary: fc.constant('message') }, { weight: 2, arbitrary: fc.constantFrom('event', 'typing') }),
        text: dlOpt(textField.filter((t) => t.length < 20_000)),
        value: dlOpt(fc.oneof(validAction, junkValue.filter((v) => JSON.stringify(v ?? null).length < 20_000))),
        name: fc.oneof(fc.constantFrom('setLanguage', 'webchat/join'), oddString.filter((n) => n.length > 0 && n.length < 256)),
        locale: dlOpt(fc.constantFrom('en-CA', 'fr-CA', 'fr')),
        from: dlOpt(fc.record({ id: fc.constant(pools.seedUserId), name: oddString }, { requiredKeys: [] })),
        channelData: dlOpt(fc.dictionary(fc.string(), fc.anything({ maxDepth: 1 }), { maxKeys: 3 })),
        entities: dlOpt(fc.array(fc.dictionary(fc.string(), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }), { maxLength: 3 })),
        replyToId: dlOpt(oddString),
        // Fields a page must not set: the server decides them.
        id: dlOpt(oddId),
        conversation: dlOpt(fc.record({ id: fc.constant(pools.seedConversationId) })),
        channelId: dlOpt(fc.constantFrom('emulator', 'msteams')),
        serviceUrl: dlOpt(fc.constant(pools.serviceUrl))
      },
      { requiredKeys: ['type', 'name'] }
    );
    const anyBody = fc.record(
      {
        type: fc.oneof(fc.constantFrom('message', 'invoke', 'conversationUpdate'), oddString),
        text: fc.oneof(textField, fc.integer()),
        value: junkValue,
        locale: oddString,
        from: fc.anything({ maxDepth: 1 }),
        channelData: fc.anything({ maxDepth: 2 }),
        entities: fc.anything({ maxDepth: 2 }),
        attachments: fc.anything({ maxDepth: 1 })
      },
      { requiredKeys: [] }
    );
    const posted = fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: anyBody });
    const auth = fc.oneof(
      { weight: 12, arbitrary: fc.constant('own' as const) },
      { weight: 1, arbitrary: fc.constantFrom('none' as const, 'other' as const, 'garbage' as const, 'tampered' as const) }
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(posted, fc.nat(visitors.length - 1), auth, encoding), { minLength: 4, maxLength: 10 }), async (batch) => {
        const results = await Promise.all(
          batch.map(async ([activity, who, how, encode]) => {
            const visitor = visitors[who]!;
            const other = visitors[(who + 1) % visitors.length]!;
            const token = { own: visitor.token, none: '', other: other.token, garbage: 'not.a.token', tampered: `${visitor.token.slice(0, -4)}AAAA` }[how];
            const body = encode === 'truncated' ? JSON.stringify(activity).slice(0, 10) : JSON.stringify(stripUndefined(activity));
            const response = await fetch(`${bot.url}/v3/directline/conversations/${encodeURIComponent(visitor.conversationId)}/activities`, {
              method: 'POST',
              headers: { 'content-type': encode === 'text' ? 'text/plain' : 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body
            });
            await response.arrayBuffer();
            // Without its own token nothing is accepted (a malformed body may be refused before the token is read).
            if (how !== 'own') assert.ok(response.status >= 400 && response.status < 500, `${how} token: HTTP ${response.status}`);
            return response.status;
          })
        );
        results.forEach((status) => statuses.set(status, (statuses.get(status) ?? 0) + 1));
        results.forEach((status, i) => assert.ok(status < 500, `HTTP ${status} for ${JSON.stringify(batch[i]![0]).slice(0, 400)}`));
      }),
      fcOptions(25)
    );
    assert.equal((await fetch(`${bot.url}/healthz`)).status, 200);
    assert.ok((statuses.get(200) ?? 0) > 20, `some activities reach the bot: ${JSON.stringify([...statuses])}`);
    const failures = bot.logs.slice(logsBefore).filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(failures.map((l) => l.slice(0, 800)), []);
    // A page cannot speak for another channel's user: the seeded user's progress is untouched.
    assert.deepEqual(await bot.assistant.progress.get({ channelId: 'emulator', userId: pools.seedUserId }), seededProgress);
  });

  it('a channel that refuses the replies costs a logged failure, never a 5xx', async () => {
    const c = bot.conversation({ conversationId: `refused-${randomUUID()}` });
    const results = await Promise.all(
      ['hello', 'How do I register?', ''].map((text) =>
        bot.channel.post(bot.url, { ...c.activity({ type: 'message', text }), serviceUrl: `${bot.channel.serviceUrl}/refuses` })
      )
    );
    results.forEach((r) => assert.ok(r.status < 500, `HTTP ${r.status}`));
    assert.equal((await fetch(`${bot.url}/healthz`)).status, 200);
  });

  it('every stored progress record still validates after the storm, and the store reopens', async () => {
    await bot.stop();
    const storage = await DurableJsonStorage.open(bot.dataDir);
    try {
      const keys = [...(storage as unknown as { items: Map<string, string> }).items.keys()];
      const progressKeys = keys.filter((k) => k.startsWith('onboarding-progress/'));
      assert.ok(progressKeys.length >= 2, `progress records: ${progressKeys.length}`);
      assert.deepEqual(progressKeys.filter((k) => k.includes('#unreadable')), []);
      const items = await storage.read(progressKeys);
      for (const key of progressKeys) {
        const { eTag: _eTag, ...record } = items[key]!;
        const parsed = OnboardingProgress.safeParse(record);
        assert.ok(parsed.success, `${key}: ${JSON.stringify(parsed.error?.issues?.slice(0, 2))}`);
      }
      const seedKey = ProgressRepository.key({ channelId: 'emulator', userId: pools.seedUserId });
      const { eTag: _e, ...seed } = items[seedKey]!;
      assert.deepEqual(OnboardingProgress.parse(seed), seededProgress);
    } finally {
      await storage.close();
    }
  });
});

describe('Hostile input: a clear answer where one is due (property-based)', function () {
  this.timeout(120_000 * Math.max(1, RUNS_FACTOR));
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant();
  });
  after(async () => {
    await bot?.cleanup();
  });

  const t = (language: Language, key: string, vars?: Record<string, string | number>) => bot.assistant.content.text.t(language, key, vars);
  const locale = fc.constantFrom('en-CA', 'fr-CA');
  const languageOf = (l: string): Language => (l.startsWith('fr') ? 'fr' : 'en');

  it('a message that is too long gets the "too long" message', async () => {
    await fc.assert(
      fc.asyncProperty(tooLongText, locale, async (text, loc) => {
        const c = bot.conversation({ locale: loc });
        const r = await c.say(text);
        assert.ok(visibleText(r).includes(t(languageOf(loc), 'error.tooLong', { max: MAX_TEXT_LENGTH })), visibleText(r).slice(0, 200));
      }),
      fcOptions(40)
    );
  });

  it('an unknown card action, or a known one with bad fields, gets the stale-button message', async () => {
    const unknown = fc.oneof(
      fc.record({ action: oddString.filter((s) => !KNOWN_ACTIONS.includes(s)) }, { requiredKeys: ['action'] }),
      fc.record({ action: fc.constantFrom(...KNOWN_ACTIONS), stepId: fc.integer(), entryId: fc.integer(), command: fc.integer(), language: fc.integer(), question: fc.integer() }),
      fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1 }), fc.constant('[1,2]'), fc.constant('42')),
      fc.record({ action: fc.constant('command'), command: oddString.filter((s) => !['start_onboarding', 'show_progress', 'help', 'cancel', 'menu', 'start_over'].includes(s)) })
    );
    await fc.assert(
      fc.asyncProperty(unknown, locale, fc.boolean(), async (value, loc, withText) => {
        const c = bot.conversation({ locale: loc });
        const r = await c.send({ type: 'message', value, ...(withText ? { text: 'How do I register?' } : {}) });
        assert.ok(visibleText(r).includes(t(languageOf(loc), 'error.staleButton')), `${JSON.stringify(value)} → ${visibleText(r).slice(0, 200)}`);
        assert.ok(!visibleText(r).includes(t(languageOf(loc), 'error.apology')));
      }),
      fcOptions(60)
    );
  });

  it('an empty message, or one with nothing readable, gets "I can only read text and button clicks"', async () => {
    const empty = fc.oneof(
      fc.constant({}),
      fc.record({ text: fc.constantFrom('', '   ', '\n\t') }),
      fc.record({ value: fc.constantFrom(null, '{"broken":', '') }),
      fc.record({ attachments: fc.array(fc.record({ contentType: fc.constant('image/png'), contentUrl: fc.constant('http://127.0.0.1:1/x.png') }), { minLength: 1, maxLength: 2 }) })
    );
    await fc.assert(
      fc.asyncProperty(empty, locale, async (fields, loc) => {
        const c = bot.conversation({ locale: loc });
        const r = await c.send({ type: 'message', ...fields });
        assert.ok(visibleText(r).includes(t(languageOf(loc), 'error.unsupported')), `${JSON.stringify(fields)} → ${visibleText(r).slice(0, 200)}`);
      }),
      fcOptions(30)
    );
  });

  it('a jump or markDone to a step that does not exist says so and shows the checklist', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('jump', 'markDone'), oddString.filter((s) => s.length > 0 && s.length <= 100 && !STEP_IDS.includes(s)), async (action, stepId) => {
        const c = bot.conversation();
        const r = await c.click({ action, stepId });
        assert.ok(visibleText(r).includes(t('en', 'error.unknownStep')), visibleText(r).slice(0, 200));
        assert.ok(buttons(r).length >= 0);
      }),
      fcOptions(30)
    );
  });

  it('a replayed card submit is applied once, even from another conversation', async () => {
    const c = bot.conversation();
    await c.click({ action: 'command', command: 'start_onboarding' });
    const r = await answerProfile((data) => c.click(data), { resident: true, broker: false, rm: false });
    const later = c.activity({ type: 'message', value: button(r, /Not yet/) });
    assert.equal((await bot.channel.post(bot.url, later)).status, 200);
    const user = { channelId: 'emulator', userId: c.userId };
    const once = await bot.assistant.progress.get(user);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('same', 'otherConversation', 'otherChoice'), async (how) => {
        const replay =
          how === 'same'
            ? later
            : how === 'otherConversation'
              ? { ...later, conversation: { id: `replay-${randomUUID()}` } }
              : { ...later, conversation: { id: `replay-${randomUUID()}` }, value: { ...later.value, choice: 'skip' } };
        const status = (await bot.channel.post(bot.url, replay)).status;
        assert.ok(status < 300);
        assert.deepEqual(await bot.assistant.progress.get(user), once);
      }),
      fcOptions(15)
    );
  });

  it('logs and the unanswered-question log never show a business number in clear', async () => {
    const logsBefore = bot.logs.length;
    const withBn = fc.oneof(
      businessNumberText.map((text) => ({ type: 'message', text })),
      fc.tuple(fc.constantFrom('What do I do with ', 'Où mettre ', 'is this right: ', ''), businessNumberText).map(([a, b]) => ({ type: 'message', text: `${a}${b}` })),
      businessNumberText.map((value) => ({ type: 'message', value: { action: 'step', stepId: 'get-business-number', choice: 'done', value } })),
      businessNumberText.map((value) => ({ type: 'message', value: { action: value } })),
      businessNumberText.map((value) => ({ type: 'message', value: { action: 'answer', entryId: value } })),
      businessNumberText.map((id) => ({ type: 'message', text: 'hello', from: { id } })),
      businessNumberText.map((text) => ({ type: 'message', text, serviceUrl: `${bot.channel.serviceUrl}/refuses` }))
    );
    await fc.assert(
      fc.asyncProperty(fc.array(withBn, { minLength: 1, maxLength: 4 }), async (activities) => {
        const c = bot.conversation();
        for (const a of activities) {
          const status = (await bot.channel.post(bot.url, c.activity(a))).status;
          assert.ok(status < 500);
        }
      }),
      fcOptions(60)
    );
    // A user in the middle of the business-number step types their number in every odd spelling.
    const c = bot.conversation();
    await c.click({ action: 'command', command: 'start_onboarding' });
    let r = await answerProfile((data) => c.click(data), { resident: true, broker: false, rm: false });
    r = await c.click(button(r, 'Done'));
    r = await c.click({ ...button(r, 'Done'), value: 'gckey' });
    for (const spelling of ['123 456 782 RM 0001', '１２３４５６７８２', '123\u200b456\u200b782', '870543218', 'my BN is 100000009']) await c.say(spelling);
    await bot.stop();
    const insights = await readFile(join(bot.dataDir, 'insights.jsonl'), 'utf8').catch(() => '');
    assertNoBusinessNumber(bot.logs.slice(logsBefore), 'the log');
    assertNoBusinessNumber(insights.split('\n').filter(Boolean), 'the unanswered-question log');
  });
});
