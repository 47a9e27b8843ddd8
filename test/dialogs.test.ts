import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MemoryStorage, type Activity, type Middleware } from 'botbuilder';
import { DialogTestClient } from 'botbuilder-testing';
import { loadContent, type AssistantContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/assistant.js';
import { createLogger } from '../src/logger.js';
import { OnboardingPlan } from '../src/onboarding/onboardingPlan.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { InsightsLog } from '../src/insights/insightsLog.js';
import { LocalRecognizer } from '../src/recognizers/localRecognizer.js';
import { KnowledgeResponder } from '../dialogs/knowledgeResponder.js';
import { LanguagePreferences } from '../dialogs/languagePreferences.js';
import { answerProfile } from './support/standInChannel.js';
import { CardMemo } from '../cards/renderCard.js';
import { MainDialog } from '../dialogs/mainDialog.js';
import { setTurnInfo } from '../dialogs/turnContext.js';
import { readUserInput } from '../dialogs/userInput.js';
import type { Language } from '../src/content/schema.js';

/** Everything a card or message shows, flattened. */
function shown(activity: Partial<Activity> | undefined): string {
  if (!activity) return '';
  return [activity.text ?? '', ...(activity.attachments ?? []).map((a) => JSON.stringify(a.content))].join('\n');
}

describe('Onboarding dialogs with DialogTestClient', () => {
  let content: AssistantContent;
  before(async () => {
    content = await loadContent(join(PROJECT_ROOT, 'content'));
  });

  function client(language: Language) {
    const storage = new MemoryStorage();
    const progress = new ProgressRepository(storage);
    const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }) as never);
    const deps = {
      content,
      plan: new OnboardingPlan(content.plan),
      progress,
      cards: new CardMemo(),
      responder: new KnowledgeResponder(content.knowledge, content.text, new InsightsLog('/dev/null')),
      recognizer: LocalRecognizer.fromContent(content),
      languages: new LanguagePreferences(progress),
      logger
    };
    // What the bot does before the dialogs run: who, which language, what was said or clicked.
    const turnInfo: Middleware = {
      onTurn: async (context, next) => {
        setTurnInfo(context, {
          user: { channelId: 'test', userId: 'dialog-user' },
          language,
          languageChosen: false,
          input: readUserInput(context.activity),
          compact: false
        });
        await next();
      }
    };
    const testClient = new DialogTestClient('test', new MainDialog(deps), undefined, [turnInfo]);
    const say = async (input: string | object): Promise<string> => {
      const activity = typeof input === 'string' ? { type: 'message', text: input } : { type: 'message', value: input };
      let all = shown(await testClient.sendActivity(activity as Partial<Activity>));
      for (let next = testClient.getNextReply(); next; next = testClient.getNextReply()) all += '\n' + shown(next);
      return all;
    };
    return { say, progress };
  }

  it('takes an English user through every phase to a complete checklist', async () => {
    const { say, progress } = client('en');
    assert.match(await say('start'), /three quick questions/);
    await say('yes');
    await say('no');
    let reply = await say('yes');
    assert.match(reply, /11 steps/);
    const phases = new Set<string>();
    for (let i = 0; i < 20 && !/Every step of your checklist is done/.test(reply); i++) {
      const phase = /Phase (\d) of 3/.exec(reply)?.[1];
      if (phase) phases.add(phase);
      reply = await say(/Choose how you will sign in/.test(reply) ? 'gckey' : 'done');
    }
    assert.deepEqual([...phases].sort(), ['1', '2', '3']);
    assert.match(reply, /11 of 11 steps done \(100%\)/);
    const saved = await progress.get({ channelId: 'test', userId: 'dialog-user' });
    assert.equal(saved!.values.signInOption, 'gckey');
    assert.equal(saved!.steps['approve-broker-delegation'], undefined, 'no broker: no delegation step');
  });

  it('takes a French user through the first phase with typed French answers', async () => {
    const { say } = client('fr');
    assert.match(await say('commencer'), /trois petites questions/);
    await say('non');
    await say('oui');
    let reply = await say('non');
    assert.match(reply, /12 étapes/);
    assert.match(reply, /Phase 1 de 3 : Préinscription/);
    reply = await say("c'est fait");
    assert.match(reply, /Choisir votre option de connexion/);
    reply = await say('clegc');
    assert.match(reply, /est fait/);
    // Non-resident: the BN9 step warns to get it from CRA first.
    assert.match(reply, /ARC/);
    reply = await say('123');
    assert.match(reply, /exactement 9 chiffres/);
    reply = await say('plus tard');
    assert.match(reply, /plus tard/);
  });

  it('a card submit (no text) answers the open step, an unknown submit is refused politely', async () => {
    const { say } = client('en');
    await say('start');
    let reply = await answerProfile(say, { resident: true, broker: true, rm: true });
    assert.match(reply, /Choose your Business Account Manager/);
    reply = await say({ action: 'self-destruct' });
    assert.match(reply, /older message/);
    assert.match(reply, /Choose your Business Account Manager/, 'the open step is asked again');
    reply = await say({ action: 'step', stepId: 'choose-business-account-manager', choice: 'skip' });
    assert.match(reply, /Skipped/);
  });
});
