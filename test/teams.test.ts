import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import { PROJECT_ROOT } from '../src/assistant.js';
import type { Language } from '../src/content/schema.js';
import { readUserInput } from '../dialogs/userInput.js';
import { stripTeamsMentions } from '../dialogs/carmAssistantBot.js';
import { buildTeamsPackage, TeamsPackageError, validateTeamsApp } from '../scripts/teamsPackage.js';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { ChannelConversation, buttons, visibleText, type ChannelActivity } from './support/standInChannel.js';
import { cardAttachments, teamsCardProblems } from './support/teamsCards.js';

const BOT_APP_ID = '8d88f59b-ae61-4300-bec0-caace7d28446';
const BOT = { id: `28:${BOT_APP_ID}`, name: 'CARM Assistant' };
const TENANT = { id: '72f988bf-86f1-41af-91ab-2d7cd011db47' };
const AT_BOT = '<at>CARM Assistant</at>';

type Scope = 'personal' | 'groupChat' | 'channel';
interface TeamsUser {
  id: string;
  name: string;
  aadObjectId: string;
}

function newUser(name = 'Alex Tremblay'): TeamsUser {
  return { id: `29:1${randomUUID().replace(/-/g, '')}`, name, aadObjectId: randomUUID() };
}

function conversationFor(scope: Scope): ChannelActivity {
  if (scope === 'personal') return { id: `a:1${randomUUID().replace(/-/g, '')}`, conversationType: 'personal', tenantId: TENANT.id };
  if (scope === 'groupChat') return { id: `19:${randomUUID().replace(/-/g, '')}@thread.v2`, conversationType: 'groupChat', isGroup: true, tenantId: TENANT.id };
  const channelId = `19:${randomUUID().replace(/-/g, '')}@thread.tacv2`;
  return { id: `${channelId};messageid=${Date.now()}`, conversationType: 'channel', isGroup: true, tenantId: TENANT.id, _channel: channelId };
}

/** One Teams conversation (personal chat, group chat or channel thread) as Teams would post it. */
class TeamsChat {
  private readonly conversation: ChannelConversation;

  constructor(
    private readonly bot: RunningAssistant,
    readonly scope: Scope,
    readonly user: TeamsUser = newUser(),
    readonly locale = 'en-CA',
    private readonly teamsConversation: ChannelActivity = conversationFor(scope)
  ) {
    this.conversation = bot.conversation({ channelId: 'msteams', conversationId: teamsConversation.id, userId: user.id, locale });
  }

  get id(): string {
    return this.teamsConversation.id;
  }

  /** Another person in the same group chat or channel thread. */
  as(user: TeamsUser, locale = this.locale): TeamsChat {
    return new TeamsChat(this.bot, this.scope, user, locale, this.teamsConversation);
  }

  activity(fields: ChannelActivity): ChannelActivity {
    const { _channel, ...conversation } = this.teamsConversation;
    const channelData: ChannelActivity = { tenant: TENANT };
    if (this.scope === 'channel') {
      const teamId = '19:team-' + TENANT.id + '@thread.tacv2';
      Object.assign(channelData, { teamsChannelId: _channel, teamsTeamId: teamId, channel: { id: _channel }, team: { id: teamId } });
    }
    return this.conversation.activity({
      conversation,
      from: { ...this.user },
      recipient: BOT,
      channelData,
      entities: [{ type: 'clientInfo', locale: this.locale, country: 'CA', platform: 'Web', timezone: 'America/Toronto' }],
      ...fields
    });
  }

  send(fields: ChannelActivity): Promise<ChannelActivity[]> {
    return this.conversation.send(this.activity(fields));
  }

  /** A typed message; in a group chat or channel it @mentions the bot unless told not to. */
  say(text: string, options: { mention?: boolean } = {}): Promise<ChannelActivity[]> {
    const mention = options.mention ?? this.scope !== 'personal';
    const entities = [{ type: 'clientInfo', locale: this.locale }];
    if (mention) entities.push({ type: 'mention', mentioned: BOT, text: AT_BOT } as never);
    return this.send({ type: 'message', text: mention ? `${AT_BOT} ${text}` : text, textFormat: 'plain', entities });
  }

  /**
   * Clicks a card button the way Teams does for an Action.Submit carrying msteams messageBack:
   * activity.value is the messageBack value with the card's inputs merged in; no mention.
   */
  click(data: ChannelActivity, inputs: Record<string, string> = {}, extra: ChannelActivity = {}): Promise<ChannelActivity[]> {
    assert.equal(data.msteams?.type, 'messageBack', 'our buttons carry messageBack');
    return this.send({ type: 'message', value: { ...data.msteams.value, ...inputs }, replyToId: `1${Date.now()}`, ...extra });
  }

  install(action = 'add'): Promise<ChannelActivity[]> {
    return this.send({ type: 'installationUpdate', action });
  }

  membersAdded(members: ChannelActivity[]): Promise<ChannelActivity[]> {
    return this.send({ type: 'conversationUpdate', membersAdded: members });
  }
}

function texts(replies: ChannelActivity[]): string[] {
  return replies.filter((r) => typeof r.text === 'string' && r.text).map((r) => r.text as string);
}

function cardTitles(replies: ChannelActivity[]): string[] {
  return cardAttachments(replies).map((c) => c.content.body?.[0]?.text ?? '');
}

/** Minimal PNG decoder for the test: 8-bit RGBA, all five filter types. */
function decodePng(png: Buffer): { width: number; height: number; colorType: number; rgba: Uint8Array } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.equal(body[8], 8, 'bit depth 8');
      colorType = body[9]!;
      assert.equal(body[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(body);
    offset += 12 + length;
  }
  assert.equal(colorType, 6, 'RGBA');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const rgba = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= 4 ? rgba[y * stride + x - 4]! : 0;
      const b = y > 0 ? rgba[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? rgba[(y - 1) * stride + x - 4]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.notEqual(predictor, undefined, `filter ${filter}`);
      rgba[y * stride + x] = (v + predictor!) & 0xff;
    }
  }
  return { width, height, colorType, rgba };
}

describe('Microsoft Teams', () => {
  describe('reading Teams-shaped input', () => {
    const step = { action: 'step', stepId: 'get-business-number', choice: 'done' };

    it('reads a messageBack submit: value is the msteams value, inputs merged, text possibly set', () => {
      assert.deepEqual(readUserInput({ type: 'message', value: { ...step } }), { text: '', action: step });
      assert.deepEqual(readUserInput({ type: 'message', value: { ...step, value: '123456782' } }), { text: '', action: { ...step, value: '123456782' } });
      // Teams may put the messageBack text (or the display text) in activity.text: the button wins.
      assert.deepEqual(readUserInput({ type: 'message', text: 'Done', value: { ...step } }), { text: '', action: step });
      // messageBack values may arrive serialized.
      assert.deepEqual(readUserInput({ type: 'message', value: JSON.stringify(step) }), { text: '', action: step });
      // Web Chat sends the whole data object, msteams included.
      assert.deepEqual(readUserInput({ type: 'message', value: { ...step, msteams: { type: 'messageBack', displayText: 'Done', value: step } } }), { text: '', action: step });
      // An input left empty is not a value.
      assert.deepEqual(readUserInput({ type: 'message', value: { ...step, value: '' } }), { text: '', action: step });
    });

    it('refuses what our cards never send', () => {
      assert.equal(readUserInput({ type: 'message', value: { action: 'dance' } }).unreadableSubmit, true);
      assert.equal(readUserInput({ type: 'message', value: [1, 2] }).unreadableSubmit, true);
      assert.equal(readUserInput({ type: 'message', value: { msteams: { type: 'messageBack', value: { action: 'jump', stepId: 'x'.repeat(500) } } } }).unreadableSubmit, true);
    });

    it('strips every mention of the bot, keeps other people by name, and decodes entities', () => {
      const mention = { type: 'mention', mentioned: BOT, text: AT_BOT };
      const other = { type: 'mention', mentioned: { id: '29:someone', name: 'Marie Roy' }, text: '<at>Marie Roy</at>' };
      const strip = (text: string, entities: object[] = [mention]) => stripTeamsMentions({ text, recipient: BOT, entities } as never);
      assert.equal(strip(`${AT_BOT} what is CARM?`), 'what is CARM?');
      assert.equal(strip(`${AT_BOT}&nbsp;help\n`), 'help');
      assert.equal(strip(`${AT_BOT} progress ${AT_BOT}`, [mention, mention]), 'progress');
      assert.equal(strip(`${AT_BOT} does <at>Marie Roy</at> need a BN?`, [mention, other]), 'does Marie Roy need a BN?');
      assert.equal(strip(`${AT_BOT} R&amp;D &lt;imports&gt;`), 'R&D <imports>');
      // The entity text and the message can disagree on markup: the bot's name still goes.
      assert.equal(strip('<at>CARM Assistant</at> menu', [{ type: 'mention', mentioned: BOT, text: 'CARM Assistant' }]), 'menu');
    });
  });

  describe('conversations through /api/messages', () => {
    let bot: RunningAssistant;
    const t = (language: Language, key: string, vars?: Record<string, string | number>) => bot.assistant.content.text.t(language, key, vars);

    before(async () => {
      bot = await startAssistant();
    });
    after(async () => {
      await bot.cleanup();
    });

    describe('personal chat', () => {
      it('welcomes once on installation, with the full experience (welcome, menu, popular questions)', async () => {
        const chat = new TeamsChat(bot, 'personal');
        const replies = await chat.install();
        assert.deepEqual(texts(replies), [t('en', 'welcome.new')]);
        assert.deepEqual(cardTitles(replies), [t('en', 'menu.prompt'), t('en', 'popular.title')]);
        // Teams often also sends conversationUpdate for the same install, and upgrades later: no second greeting.
        assert.deepEqual(await chat.membersAdded([{ id: chat.user.id, aadObjectId: chat.user.aadObjectId }, { id: BOT.id }]), []);
        assert.deepEqual(await chat.install('add-upgrade'), []);
        assert.deepEqual(await chat.install('remove'), []);
        // An upgrade reaching a chat that was never greeted (installed before this version) says nothing either.
        assert.deepEqual(await new TeamsChat(bot, 'personal').install('add-upgrade'), []);
      });

      it('answers a question with a full answer card (related questions included)', async () => {
        const chat = new TeamsChat(bot, 'personal');
        const replies = await chat.say('How do I give my customs broker access to my CARM account?');
        const [card] = cardAttachments(replies);
        assert.ok(card, `an answer card, got: ${visibleText(replies)}`);
        const related = buttons(replies).filter((b) => b.data?.msteams?.value?.action === 'answer');
        assert.ok(related.length > 0, 'related questions are offered in a personal chat');
        assert.ok(buttons(replies).some((b) => b.url?.startsWith('https://')), 'with its official source');
      });

      it('walks through onboarding with messageBack submits, saving progress under the AAD object id', async () => {
        const chat = new TeamsChat(bot, 'personal');
        let replies = await chat.say('start');
        assert.ok(texts(replies).includes(t('en', 'onboarding.intro')), visibleText(replies));
        // Three profile questions, answered by clicking (no text, no mention, Teams' value shape).
        replies = await chat.click(buttonData(replies, t('en', 'profile.resident.yes')));
        assert.match(visibleText(replies), new RegExp(escape(t('en', 'profile.broker'))));
        // Teams may set text as well (the messageBack text or display text): still the button.
        replies = await chat.click(buttonData(replies, t('en', 'profile.broker.yes')), {}, { text: t('en', 'profile.broker.yes') });
        assert.match(visibleText(replies), new RegExp(escape(t('en', 'profile.rm'))));
        replies = await chat.click(buttonData(replies, t('en', 'profile.rm.no')));
        assert.ok(texts(replies).some((x) => x.startsWith(t('en', 'onboarding.plan', { total: 0 }).split('**')[0]!)), visibleText(replies));
        // Step 1: Done.
        replies = await chat.click(buttonData(replies, t('en', 'step.buttonDone')));
        // Step 2 asks for a sign-in option: Teams merges the choice set's value into activity.value.
        assert.ok(replies.some((r) => JSON.stringify(r).includes('"Input.ChoiceSet"')), 'the sign-in step has its choice set');
        replies = await chat.click(buttonData(replies, t('en', 'step.buttonDone')), { value: 'gckey' });
        // Step 3 asks for the business number, typed into the card's text input.
        replies = await chat.click(buttonData(replies, t('en', 'step.buttonDone')), { value: '123 456 782' });
        assert.match(visibleText(replies), /••••••782/, 'the business number is confirmed masked');
        assert.doesNotMatch(texts(replies).join('\n'), /123456782|123 456 782/, 'and never repeated in full');

        const progress = await bot.assistant.progress.get({ channelId: 'msteams', userId: chat.user.aadObjectId });
        assert.ok(progress, 'progress is kept under the user AAD object id');
        assert.deepEqual(progress.profile, { resident: true, usesBroker: true, hasRmAccount: false });
        assert.equal(progress.steps['choose-business-account-manager']?.status, 'done');
        assert.equal(progress.steps['choose-sign-in-option']?.status, 'done');
        assert.equal(progress.steps['get-business-number']?.status, 'done');
        assert.equal(progress.values.signInOption, 'gckey');
        assert.equal(progress.values.businessNumber, '123456782');
      });

      it('a retried activity (same id, Teams retries after ~15 s) is answered once', async () => {
        const chat = new TeamsChat(bot, 'personal');
        const activity = chat.activity({ type: 'message', text: 'help' });
        // The retry can arrive while the first attempt is still running, or after it finished.
        const [first, concurrent] = await Promise.all([bot.channel.post(bot.url, activity), bot.channel.post(bot.url, activity)]);
        assert.ok(first.status < 300 && concurrent.status < 300, `${first.status} ${concurrent.status}`);
        const late = await bot.channel.post(bot.url, activity);
        assert.ok(late.status < 300);
        assert.deepEqual(texts(bot.channel.repliesIn(chat.id)), [t('en', 'help.text')]);
        // A new activity with the same text is a new question.
        await chat.say('help');
        assert.equal(texts(bot.channel.repliesIn(chat.id)).length, 2);
      });
    });

    describe('group chat and channel', () => {
      for (const scope of ['groupChat', 'channel'] as const) {
        it(`${scope}: silent unless @mentioned; answers with the mention stripped, compactly`, async () => {
          const chat = new TeamsChat(bot, scope);
          assert.deepEqual(await chat.say('What is CARM?', { mention: false }), [], 'no mention, no answer');
          // Someone else mentioned, not the bot: still not for us.
          const other = await chat.send({
            type: 'message',
            text: '<at>Marie Roy</at> can you register us for CARM?',
            entities: [{ type: 'mention', mentioned: { id: '29:marie', name: 'Marie Roy' }, text: '<at>Marie Roy</at>' }]
          });
          assert.deepEqual(other, []);
          // Exact commands only match once the mention is gone.
          assert.deepEqual(texts(await chat.say('help')), [t('en', 'help.text')]);
          const trailing = await chat.send({
            type: 'message',
            text: `progress ${AT_BOT}`,
            entities: [{ type: 'mention', mentioned: BOT, text: AT_BOT }]
          });
          assert.deepEqual(cardTitles(trailing), [t('en', 'progress.title')]);

          const answer = await chat.say('How do I give my customs broker access to my CARM account?');
          const cards = cardAttachments(answer);
          assert.equal(cards.length, 1, visibleText(answer));
          assert.equal(buttons(answer).filter((b) => b.data?.msteams?.value?.action === 'answer').length, 0, 'no related-question buttons in a group');
          assert.ok(answer.every((r) => r.conversation?.id === chat.id), 'replies stay in the same chat or channel thread');

          // "@CARM Assistant" alone is a hello: a greeting and the menu, no popular-questions card.
          const hello = await chat.say('');
          assert.deepEqual(texts(hello), [t('en', 'greeting.reply')]);
          assert.deepEqual(cardTitles(hello), [t('en', 'menu.prompt')]);
        });

        it(`${scope}: welcomes on installation compactly, without anyone's progress`, async () => {
          // The installer has a checklist under way: their personal chat says so on a new install...
          const installer = newUser('Installer');
          await bot.assistant.progress.update({ channelId: 'msteams', userId: installer.aadObjectId }, (p) => {
            p.steps['choose-business-account-manager'] = { status: 'done', at: new Date().toISOString() };
          });
          const personal = await new TeamsChat(bot, 'personal', installer).install();
          assert.match(texts(personal)[0]!, /^Welcome back! You've completed 1 of/);
          // ...but the team or group chat gets the generic greeting.
          const chat = new TeamsChat(bot, scope, installer);
          const replies = await chat.install();
          assert.deepEqual(texts(replies), [t('en', 'welcome.new')]);
          assert.deepEqual(cardTitles(replies), [t('en', 'menu.prompt')], 'the menu, and no popular-questions card');
          assert.ok(buttons(personal).some((b) => b.title === t('en', 'menu.continue')));
          assert.ok(buttons(replies).some((b) => b.title === t('en', 'menu.start')), 'a menu everyone sees is not labelled with the installer progress');
          // People joining later are not greeted one by one in the channel.
          assert.deepEqual(await chat.membersAdded([{ id: newUser().id }]), []);
        });
      }

      it('a card button in a channel works without a mention', async () => {
        const chat = new TeamsChat(bot, 'channel');
        const menu = await chat.say('menu');
        const replies = await chat.click(buttonData(menu, t('en', 'menu.progress')));
        assert.deepEqual(cardTitles(replies), [t('en', 'progress.title')]);
      });

      it('two people in one group chat each keep their own open question', async () => {
        const alex = new TeamsChat(bot, 'groupChat', newUser('Alex'));
        const sam = alex.as(newUser('Sam'));
        const alexCard = await alex.say('start');
        const samCard = await sam.say('start');
        assert.ok(texts(samCard).includes(t('en', 'onboarding.intro')), 'Sam starts their own checklist');
        let a = await alex.click(buttonData(alexCard, t('en', 'profile.resident.yes')));
        let s = await sam.click(buttonData(samCard, t('en', 'profile.resident.no')));
        a = await alex.click(buttonData(a, t('en', 'profile.broker.yes')));
        s = await sam.click(buttonData(s, t('en', 'profile.broker.no')));
        await alex.click(buttonData(a, t('en', 'profile.rm.yes')));
        await sam.click(buttonData(s, t('en', 'profile.rm.no')));
        const alexProgress = await bot.assistant.progress.get({ channelId: 'msteams', userId: alex.user.aadObjectId });
        const samProgress = await bot.assistant.progress.get({ channelId: 'msteams', userId: sam.user.aadObjectId });
        assert.deepEqual(alexProgress?.profile, { resident: true, usesBroker: true, hasRmAccount: true });
        assert.deepEqual(samProgress?.profile, { resident: false, usesBroker: false, hasRmAccount: false });
      });

    it('a failed turn in a group chat drops only that person\'s open question', async () => {
      const alex = new TeamsChat(bot, 'groupChat', newUser('Alex'));
      const sam = alex.as(newUser('Sam'));
      const alexCard = await alex.say('start');
      const samCard = await sam.say('start');
      // Sam's answer is handled, but the channel refuses the reply: the turn fails.
      const refused = await sam.click(buttonData(samCard, t('en', 'profile.resident.yes')), {}, { serviceUrl: `${bot.channel.serviceUrl}/refuses` });
      assert.deepEqual(refused, []);
      assert.ok(bot.logs.some((line) => line.includes('turn failed')));
      // Alex's question is still open and takes the answer…
      const a = await alex.click(buttonData(alexCard, t('en', 'profile.resident.yes')));
      assert.ok(visibleText(a).includes(t('en', 'profile.broker')), visibleText(a));
      // …while Sam's was dropped: the button Sam clicked is now an old one.
      const s = await sam.click(buttonData(samCard, t('en', 'profile.resident.yes')));
      assert.ok(texts(s).includes(t('en', 'error.staleButton')), visibleText(s));
    });
  });

    describe('the commands listed in the app manifest', () => {
      let manifest: ChannelActivity;
      let french: ChannelActivity;
      before(async () => {
        const dir = await mkdtemp(join(tmpdir(), 'carm-teams-'));
        const built = await buildTeamsPackage({ env: { MicrosoftAppId: BOT_APP_ID, PUBLIC_BASE_URL: 'https://carm.example.ca' }, outFile: join(dir, 'app.zip') });
        manifest = built.manifest;
        french = built.localizations['fr.json']!;
        await rm(dir, { recursive: true, force: true });
      });

      /** What each command must bring back, whatever language it is typed in. */
      const expectations: Record<string, (replies: ChannelActivity[], language: Language) => void> = {};
      const expect = (titles: string[], check: (replies: ChannelActivity[], language: Language) => void) => titles.forEach((x) => (expectations[x] = check));
      expect(['start', 'commencer'], (r, l) => assert.ok(texts(r).includes(t(l, 'onboarding.intro')), visibleText(r)));
      expect(['progress', 'progression'], (r, l) => assert.deepEqual(cardTitles(r), [t(l, 'progress.title')]));
      expect(['help', 'aide'], (r, l) => assert.deepEqual(texts(r), [t(l, 'help.text')]));
      expect(['talk to an expert', 'parler à un expert'], (r, l) => assert.equal(texts(r)[0], t(l, 'expert.intro')));
      expect(['menu'], (r, l) => assert.deepEqual(cardTitles(r), [t(l, 'menu.prompt')]));
      expect(['français'], (r) => assert.deepEqual(texts(r), [t('fr', 'language.switched')]));
      expect(['english'], (r) => assert.deepEqual(texts(r), [t('en', 'language.switched')]));

      it('every command, in English and in French, does what it says in its scope', async () => {
        const lists = manifest.bots[0].commandLists as Array<{ scopes: string[]; commands: Array<{ title: string }> }>;
        let checked = 0;
        for (const [i, list] of lists.entries()) {
          for (const [j, command] of list.commands.entries()) {
            const frTitle = french[`bots[0].commandLists[${i}].commands[${j}].title`];
            assert.ok(frTitle, `command "${command.title}" has a French title`);
            for (const [title, language] of [[command.title, 'en'], [frTitle, 'fr']] as Array<[string, Language]>) {
              const scope: Scope = list.scopes.includes('personal') ? 'personal' : 'groupChat';
              const chat = new TeamsChat(bot, scope, newUser(), language === 'fr' ? 'fr-CA' : 'en-CA');
              const check = expectations[title];
              assert.ok(check, `no expectation for "${title}"`);
              // Teams sends the command's title as the message (after the mention in a group).
              check(await chat.say(title), language);
              checked++;
            }
          }
        }
        assert.equal(checked, 18);
      });
    });

    // Mocha runs a suite's own tests before its nested suites: this one needs a suite of its own to come last.
    describe('afterwards', () => {
      it('every card the bot sent in these Teams conversations is valid for Teams', () => {
        const cards = cardAttachments(bot.channel.received.filter((a) => a.channelId === 'msteams'));
        assert.ok(cards.length > 40, `only ${cards.length} cards seen`);
        for (const card of cards) assert.deepEqual(teamsCardProblems(card), [], JSON.stringify(card.content).slice(0, 200));
      });
    });
  });

  describe('with a Microsoft App ID configured', () => {
    let bot: RunningAssistant;
    before(async () => {
      bot = await startAssistant({ MicrosoftAppId: BOT_APP_ID, MicrosoftAppPassword: 'not-a-real-secret' });
    });
    after(async () => {
      await bot.cleanup();
    });

    it('refuses a Teams activity without a valid Bot Framework token with 401 and does nothing', async () => {
      const chat = new TeamsChat(bot, 'personal');
      const activity = chat.activity({ type: 'message', text: 'help' });
      assert.equal((await bot.channel.post(bot.url, activity)).status, 401);
      assert.equal((await bot.channel.post(bot.url, activity, { authorization: 'Bearer not.a.token' })).status, 401);
      assert.equal((await bot.channel.post(bot.url, chat.activity({ type: 'installationUpdate', action: 'add' }))).status, 401);
      assert.deepEqual(bot.channel.repliesIn(chat.id), []);
    });
  });

  describe('the app package (npm run teams:package)', () => {
    let dir: string;
    const env = { MicrosoftAppId: BOT_APP_ID, PUBLIC_BASE_URL: 'https://carm-bot.example.ca/' };
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'carm-teams-pkg-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes a zip with the manifest, both icons and the French localization, valid against the official schema', async () => {
      const built = await buildTeamsPackage({ env, outFile: join(dir, 'app.zip') });
      const zip = new AdmZip(built.file);
      assert.deepEqual(zip.getEntries().map((e) => e.entryName).sort(), ['color.png', 'fr.json', 'manifest.json', 'outline.png']);
      assert.ok(zip.getEntries().every((e) => !e.isDirectory && !e.entryName.includes('/')), 'files at the root of the zip, as Teams requires');

      const manifest = JSON.parse(zip.readAsText('manifest.json'));
      const fr = JSON.parse(zip.readAsText('fr.json'));
      assert.deepEqual(await validateTeamsApp(manifest, { 'fr.json': fr }), []);
      assert.ok(Number(manifest.manifestVersion) >= 1.17, `manifest ${manifest.manifestVersion}`);
      assert.match(manifest.$schema, new RegExp(`/v${manifest.manifestVersion}/MicrosoftTeams\\.schema\\.json$`));
      assert.equal(manifest.id, BOT_APP_ID, 'the app id defaults to the bot id');
      assert.equal(manifest.bots[0].botId, BOT_APP_ID);
      assert.deepEqual([...manifest.bots[0].scopes].sort(), ['groupChat', 'personal', 'team']);
      assert.equal(manifest.developer.websiteUrl, 'https://carm-bot.example.ca');
      assert.deepEqual(manifest.validDomains, ['carm-bot.example.ca']);
      assert.equal(manifest.version, JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
      assert.deepEqual(manifest.localizationInfo, { defaultLanguageTag: 'en', additionalLanguages: [{ languageTag: 'fr', file: 'fr.json' }] });
      assert.doesNotMatch(JSON.stringify(manifest), /\{\{\w+\}\}/, 'no placeholder left');

      const color = decodePng(zip.readFile('color.png')!);
      assert.deepEqual([color.width, color.height], [192, 192]);
      const colorPixels = Array.from({ length: color.rgba.length / 4 }, (_, i) => color.rgba.subarray(i * 4, i * 4 + 4));
      assert.ok(colorPixels.every((p) => p[3] === 255), 'the colour icon is opaque');
      assert.ok(new Set(colorPixels.map((p) => `${p[0] >> 5},${p[1] >> 5},${p[2] >> 5}`)).size >= 3, 'and in colour');

      const outline = decodePng(zip.readFile('outline.png')!);
      assert.deepEqual([outline.width, outline.height], [32, 32]);
      const outlinePixels = Array.from({ length: outline.rgba.length / 4 }, (_, i) => outline.rgba.subarray(i * 4, i * 4 + 4));
      const transparent = outlinePixels.filter((p) => p[3] === 0).length;
      const opaque = outlinePixels.filter((p) => p[3] === 255).length;
      assert.ok(transparent > 512 && opaque > 64, `transparent background and a visible symbol (${transparent} transparent, ${opaque} opaque)`);
      assert.ok(outlinePixels.every((p) => p[3] === 0 || (p[0] === 255 && p[1] === 255 && p[2] === 255)), 'the outline icon is white only');
    });

    it('takes TEAMS_APP_ID when given, and refuses what Teams would not accept with one clear line', async () => {
      const appId = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const built = await buildTeamsPackage({ env: { ...env, TEAMS_APP_ID: appId }, outFile: join(dir, 'other.zip') });
      assert.equal(built.manifest.id, appId);
      assert.equal(built.manifest.bots[0].botId, BOT_APP_ID);
      const refuses = async (bad: Record<string, string | undefined>, message: RegExp) => {
        await assert.rejects(buildTeamsPackage({ env: bad, outFile: join(dir, 'bad.zip') }), (e: Error) => {
          assert.ok(e instanceof TeamsPackageError, e.message);
          assert.match(e.message, message);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      };
      await refuses({ PUBLIC_BASE_URL: env.PUBLIC_BASE_URL }, /^MicrosoftAppId is missing/);
      await refuses({ MicrosoftAppId: BOT_APP_ID }, /^PUBLIC_BASE_URL is missing/);
      await refuses({ ...env, PUBLIC_BASE_URL: 'http://carm-bot.example.ca' }, /must start with https/);
      await refuses({ ...env, MicrosoftAppId: 'carm-bot' }, /not an app id/);
      await refuses({ ...env, TEAMS_DEVELOPER_NAME: 'x'.repeat(40) }, /32/);
    });

    it('fails on a manifest the schema rejects', async () => {
      const templateDir = await mkdtemp(join(dir, 'template-'));
      const template = JSON.parse(await readFile(join(PROJECT_ROOT, 'teams', 'manifest.template.json'), 'utf8'));
      template.name.short = 'A name far too long for the Teams app bar';
      await writeFile(join(templateDir, 'manifest.template.json'), JSON.stringify(template));
      await writeFile(join(templateDir, 'fr.json'), await readFile(join(PROJECT_ROOT, 'teams', 'fr.json')));
      await assert.rejects(buildTeamsPackage({ env, templateDir, outFile: join(dir, 'bad.zip') }), /manifest is not valid: manifest\.json\/name\/short must NOT have more than 30 characters/);
    });

    it('the command line reads .env and fails with one line when a setting is missing', async () => {
      const run = promisify(execFile);
      const script = join(PROJECT_ROOT, 'dist', 'scripts', 'teamsPackage.js');
      const cleanEnv = { PATH: process.env.PATH ?? '', HOME: dir };
      const failed = await run(process.execPath, [script, join(dir, 'cli.zip')], { cwd: dir, env: cleanEnv }).then(
        () => assert.fail('should have failed'),
        (e: { code: number; stderr: string }) => e
      );
      assert.equal(failed.code, 1);
      assert.deepEqual(failed.stderr.trim().split('\n'), [failed.stderr.trim()]);
      assert.match(failed.stderr, /^teams:package: MicrosoftAppId is missing/);

      await writeFile(join(dir, '.env'), `MicrosoftAppId=${BOT_APP_ID}\nPUBLIC_BASE_URL=https://carm-bot.example.ca\n`);
      const ok = await run(process.execPath, [script, join(dir, 'cli.zip')], { cwd: dir, env: cleanEnv });
      assert.match(ok.stdout, /Teams app package written: .*cli\.zip/);
      assert.equal(JSON.parse(new AdmZip(join(dir, 'cli.zip')).readAsText('manifest.json')).bots[0].botId, BOT_APP_ID);
    });
  });
});

function buttonData(replies: ChannelActivity[], title: string): ChannelActivity {
  const found = buttons(replies).find((b) => b.title === title);
  if (!found?.data) throw new Error(`no button "${title}" among: ${buttons(replies).map((b) => b.title).join(' | ')}`);
  return found.data;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
