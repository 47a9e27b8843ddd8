import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage, type Storage } from 'botbuilder';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { OnboardingPlan } from '../src/onboarding/onboardingPlan.js';
import {
  answerProfile as answerProfileWith,
  button,
  buttons,
  visibleText,
  type ChannelActivity,
  type ChannelConversation,
  type ConversationOptions
} from './support/standInChannel.js';

const last = (replies: ChannelActivity[]) => replies[replies.length - 1]!;
const stepTitle = (replies: ChannelActivity[]) => {
  const cards = replies.flatMap((r) => r.attachments ?? []).map((a) => a.content);
  return [...cards].reverse().find((c) => c?.body?.[1]?.text)?.body[1].text as string | undefined;
};

/** A dialog stack as earlier versions saved it: the checklist, profile and start over as components with their own stacks. */
function savedAsComponents(stack: ChannelActivity[]): ChannelActivity[] {
  const i = stack.findIndex((d) => ['onboarding', 'importerProfile', 'startOver'].includes(d.id));
  if (i < 0) return stack;
  const own = stack[i]!;
  const inner = [{ ...own, id: `${own.id}.steps` }, ...savedAsComponents(stack.slice(i + 1))];
  return [...stack.slice(0, i), { id: own.id, state: { dialogs: { dialogStack: inner } }, version: 'component' }];
}

/** Answers the three profile questions with buttons. */
const answerProfile = (c: ChannelConversation, resident: boolean, broker: boolean, rm: boolean) =>
  answerProfileWith((data) => c.click(data), { resident, broker, rm });

/** The person's progress as stored. */
const storedProgress = (bot: RunningAssistant, c: ChannelConversation) => bot.assistant.progress.get({ channelId: 'emulator', userId: c.userId });

/** A conversation with the checklist begun: its first question is open. */
async function firstQuestionsStarted(bot: RunningAssistant, locale: 'en-CA' | 'fr-CA'): Promise<ChannelConversation> {
  const c = bot.conversation({ locale });
  await c.say(locale === 'fr-CA' ? 'commencer' : 'start');
  return c;
}

/** A conversation with the checklist begun and its three first questions answered: step 1 is open. */
async function checklistStarted(bot: RunningAssistant, resident: boolean, broker: boolean, rm: boolean, options?: ConversationOptions): Promise<ChannelConversation> {
  const c = bot.conversation(options);
  await c.say(options?.locale?.startsWith('fr') ? 'commencer' : 'start');
  await answerProfile(c, resident, broker, rm);
  return c;
}

describe('Guided onboarding over HTTP', function () {
  let bot: RunningAssistant;
  beforeEach(async () => {
    bot = await startAssistant();
  });
  afterEach(async () => {
    await bot.cleanup();
  });

  it('walks an English user from "I want to get ready for CARM" to every step ticked', async () => {
    const c = bot.conversation({ locale: 'en-CA' });
    let r = await c.say('I want to get ready for CARM');
    assert.match(visibleText(r), /three quick questions/);
    r = await answerProfile(c, true, true, true);
    assert.match(visibleText(r), /12 steps/);
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    const seen: string[] = [];
    for (let i = 0; i < 30 && !/Every step of your checklist is done/.test(visibleText(r)); i++) {
      seen.push(stepTitle(r)!);
      const done = button(r, 'Done');
      // The sign-in step needs a choice; the card's choice set sends it along with Done.
      r = await c.click(seen.at(-1) === 'Choose how you will sign in' ? { ...done, value: 'gckey' } : done);
    }
    assert.equal(seen.length, 12);
    assert.match(visibleText(r), /Every step of your checklist is done/);
    assert.match(visibleText(r), /12 of 12 steps done \(100%\)/);
    // Nothing is left to continue to: the finished checklist offers no way back into it.
    assert.ok(!buttons(r).some((b) => b.data?.command === 'start_onboarding'), buttons(r).map((b) => b.title).join(' | '));
    r = await c.say('continue');
    assert.doesNotMatch(visibleText(r), /pick up where you left off/);
    assert.match(visibleText(r), /Every step of your checklist is done/);
    assert.ok(!buttons(await c.say('progress')).some((b) => b.data?.command === 'start_onboarding'));
    // The menu offers to review the finished checklist, not to continue it.
    const menu = await c.say('menu');
    assert.ok(buttons(menu).some((b) => b.title === 'Review my checklist'), buttons(menu).map((b) => b.title).join(' | '));
    assert.ok(!buttons(menu).some((b) => /Continue/.test(b.title)));
    const progress = await storedProgress(bot, c);
    assert.equal(Object.values(progress!.steps).filter((s) => s.status === 'done').length, 12);
    assert.equal(progress!.values.signInOption, 'gckey');
  });

  it('walks a French user through the checklist with typed answers ("c\'est fait")', async () => {
    const c = bot.conversation({ locale: 'fr-CA' });
    let r = await c.say('je veux commencer ma liste pour la GCRA');
    assert.match(visibleText(r), /trois petites questions/);
    await c.say('oui');
    await c.say('non');
    r = await c.say('oui');
    // A resident without a broker has no delegation step: 11 steps.
    assert.match(visibleText(r), /11 étapes/);
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    r = await c.say("c'est fait");
    assert.match(visibleText(r), /✓ « Choisir votre gestionnaire de compte d'entreprise » est fait/);
    r = await c.say('partenaire de connexion');
    assert.match(visibleText(r), /est fait/);
    r = await c.say('plus tard');
    assert.match(visibleText(r), /je reviendrai/);
    r = await c.say('progression');
    assert.match(visibleText(r), /2 étapes sur 11 terminées \(18 %\)/);
    assert.match(visibleText(r), /Plus tard/);
  });

  it('personalises the plan: a non-resident is told to get the BN9 first; no broker means no delegation step', async () => {
    const c = await checklistStarted(bot, false, false, false);
    const progress = await storedProgress(bot, c);
    assert.deepEqual(progress!.profile, { resident: false, usesBroker: false, hasRmAccount: false });
    let r = await c.click({ action: 'jump', stepId: 'get-business-number' });
    assert.match(visibleText(r), /before|avant/i);
    assert.match(JSON.stringify(r), /CRA/);
    r = await c.click({ action: 'jump', stepId: 'approve-broker-delegation' });
    assert.match(visibleText(r), /I don't know that step/);
  });

  it('explains exactly what is wrong with a BN9 or BN15 and asks again, without advancing', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    await c.say('gckey');
    let r = await c.say('12345678');
    assert.match(visibleText(r), /exactly 9 digits, for example 123456782, and what you entered has 8\./);
    assert.doesNotMatch(visibleText(r), /\(s\)/);
    r = await c.say('123456789');
    assert.match(visibleText(r), /check digit/);
    r = await c.click({ action: 'step', stepId: 'get-business-number', choice: 'done', value: '871 000 006' });
    assert.match(visibleText(r), /••••••006/);
    assert.doesNotMatch(JSON.stringify(r), /871 ?000 ?006/);
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    r = await c.say('871000006RT0001');
    assert.match(visibleText(r), /must be RM/);
    r = await c.say('871000006RM01');
    assert.match(visibleText(r), /looks like 123456782RM0001/);
    r = await c.say('871000006rm0001');
    assert.match(visibleText(r), /is done/);
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.values.businessNumber, '871000006');
    assert.equal(progress!.values.programAccount, '871000006RM0001');
  });

  it('takes answers typed the way people write them: a number in a sentence, "skip this step", "already did that"', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say('I already did that one');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    await c.say('gckey');
    // A date or a count in a question is not a business number; one 9-digit number in a sentence is.
    r = await c.say('will I need it before 2026-12-01?');
    assert.doesNotMatch(visibleText(r), /9 digits|is done/);
    r = await c.say('ok, my BN is 871 000 006');
    assert.match(visibleText(r), /“Have your CRA business number \(BN9\) ready” is done\. Noted: ••••••006/);
    r = await c.say("we don't have one yet");
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    assert.match(visibleText(r), /Official source/);
    r = await c.say('our RM is 871000006 RM 0001');
    assert.match(visibleText(r), /is done/);
    // A plain "no" to a step card: not done yet.
    r = await c.say('no');
    assert.match(visibleText(r), /I'll come back to “Get ready for the affinity questions” later/);
    r = await c.say('skip this step');
    assert.match(visibleText(r), /Skipped “Sign in and create your personal profile”/);
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.values.businessNumber, '871000006');
    assert.equal(progress!.values.programAccount, '871000006RM0001');
    assert.equal(progress!.steps['prepare-affinity-answers']?.status, 'later');
    assert.equal(progress!.steps['create-personal-profile']?.status, 'skipped');
  });

  it('takes "yes, we\'re in Ontario" or "non, pas encore" as the answer to a yes/no question', async () => {
    const c = bot.conversation();
    await c.say('start');
    let r = await c.say("yes we're in Ontario");
    assert.match(visibleText(r), /Do you use a customs broker\?/);
    r = await c.say('No, we do it ourselves');
    assert.match(visibleText(r), /\(RM\) program account\?/);
    r = await c.say('non, pas encore');
    // Answered in French: the checklist goes on in French.
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    assert.deepEqual((await storedProgress(bot, c))?.profile, { resident: true, usesBroker: false, hasRmAccount: false });
    // Only a first word that is yes or no: "ok what now" is not an answer (the same question comes
    // again), and "y a-t-il" is not "y(es)".
    const d = bot.conversation();
    await d.say('start');
    r = await d.say('ok what now');
    assert.match(visibleText(r), /Is your business based in Canada\?/);
    assert.doesNotMatch(visibleText(r), /Did you mean/);
    assert.equal((await storedProgress(bot, d))?.profile, undefined);
  });

  it('does not take a yes or no about another first question as this one\'s answer ("No RM account yet" at the broker question)', async () => {
    const c = bot.conversation();
    await c.say('start');
    await c.say('yes');
    let r = await c.say('No RM account yet');
    assert.match(visibleText(r), /Do you use a customs broker\?/);
    assert.doesNotMatch(visibleText(r), /Does your business already have an import-export \(RM\) program account\?/);
    // A yes at the end of the sentence answers.
    r = await c.say('we have a Canadian customs broker, yes');
    assert.match(visibleText(r), /\(RM\) program account\?/);
    await c.say('no');
    assert.deepEqual((await storedProgress(bot, c))?.profile, { resident: true, usesBroker: true, hasRmAccount: false });
    const fr = await firstQuestionsStarted(bot, 'fr-CA');
    r = await fr.say('oui on fait affaire avec un courtier');
    assert.match(visibleText(r), /Votre entreprise est-elle établie au Canada\?/);
    assert.doesNotMatch(visibleText(r), /Faites-vous affaire avec un courtier en douane\?/);
  });

  it('takes a statement as the answer to a profile question and says what it noted', async () => {
    const c = bot.conversation();
    await c.say('start');
    let r = await c.say("We're based in Toronto");
    assert.match(visibleText(r), /Noted: resident importer\./);
    assert.match(visibleText(r), /Do you use a customs broker\?/);
    // A question is not an answer: it gets its answer and the same question again.
    r = await c.say('do I need a broker');
    assert.doesNotMatch(visibleText(r), /Noted/);
    assert.match(visibleText(r), /Do you use a customs broker\?/);
    r = await c.say('we use Livingston as our broker');
    assert.match(visibleText(r), /Noted: uses a customs broker\./);
    r = await c.say("we don't have one yet");
    assert.match(visibleText(r), /Noted: no RM account yet\./);
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    assert.deepEqual((await storedProgress(bot, c))?.profile, { resident: true, usesBroker: true, hasRmAccount: false });
    // A negated statement is not read as its opposite: "not in Canada" is asked again, not taken as yes.
    const fr = await firstQuestionsStarted(bot, 'fr-CA');
    r = await fr.say("on n'est pas au Canada");
    assert.doesNotMatch(visibleText(r), /C'est noté/);
    r = await fr.say('nous sommes une entreprise américaine');
    assert.match(visibleText(r), /C'est noté : importateur non résident\./);
    r = await fr.say('on fait affaire avec un courtier en douane');
    assert.match(visibleText(r), /C'est noté : fait affaire avec un courtier\./);
    await fr.say("on n'en a pas");
    assert.deepEqual((await storedProgress(bot, fr))?.profile, { resident: false, usesBroker: true, hasRmAccount: false });
  });

  it('takes a statement that settles a step ("I\'ll be the BAM", "waiting for our broker") and leaves questions alone', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say("Maria, our controller, will be the BAM. What's next?");
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    r = await c.say("we'll use a sign-in partner through our bank");
    assert.match(visibleText(r), /“Choose how you will sign in” is done/);
    // In general words: something done ("found") to the step's subject ("business number").
    r = await c.say('I found our business number');
    assert.match(visibleText(r), /“Have your CRA business number \(BN9\) ready” is done/);
    r = await c.say('I got an error with our RM account');
    assert.doesNotMatch(visibleText(r), /is done/);
    // A question about the step is answered, and the step stays open.
    r = await c.say('do we have an RM?');
    assert.doesNotMatch(visibleText(r), /is done|come back/);
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    // Negated, it is not done.
    r = await c.say("we don't have our RM");
    assert.doesNotMatch(visibleText(r), /is done/);
    // A misread answer is one word away from being taken back: the last step marked opens again.
    r = await c.say("oops, that's wrong");
    assert.match(visibleText(r), /Undone: “Have your CRA business number \(BN9\) ready” is open again/);
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    assert.equal((await storedProgress(bot, c))!.steps['get-business-number'], undefined);
    assert.match(visibleText(await bot.conversation().say('undo')), /nothing to undo yet/);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('notre propriétaire va être le GCE');
    assert.match(visibleText(r), /« Choisir votre gestionnaire de compte d'entreprise » est fait/);
    r = await fr.say('on va prendre la CléGC');
    assert.match(visibleText(r), /« Choisir votre option de connexion » est fait/);
    r = await fr.say('on hésite encore entre deux personnes');
    assert.doesNotMatch(visibleText(r), /est fait\./);
    const fr2 = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    await fr2.say('on hésite encore');
    const progress = await storedProgress(bot, fr2);
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'later');
    assert.equal((await storedProgress(bot, fr))!.values.signInOption, 'gckey');
    const en = await storedProgress(bot, c);
    assert.equal(en!.values.signInOption, 'sign-in-partner');
  });

  it('warns a user who types a password or code, and neither answers nor records it', async () => {
    const own = await startAssistant();
    try {
      const c = own.conversation();
      await c.say('start');
      await answerProfile(c, true, true, true);
      await c.say('done');
      let r = await c.say('gckey');
      const step = stepTitle(r);
      r = await c.say('my gckey password is Summer2024');
      assert.match(visibleText(r), /Please don't share passwords or sign-in codes/);
      assert.equal(stepTitle(r), step);
      r = await c.say('password: Xq7!pLzz can you log in for me');
      assert.match(visibleText(r), /Please don't share passwords/);
      // Asking about a password is a question like any other.
      r = await c.say('my GCKey password expired, what do I do?');
      assert.doesNotMatch(visibleText(r), /Please don't share/);
      assert.match(visibleText(r), /locked out/i);
      const fr = own.conversation({ locale: 'fr-CA' });
      r = await fr.say('mon mot de passe est Bonjour123');
      assert.match(visibleText(r), /Ne me communiquez pas vos mots de passe/);
      await own.stop();
      // Nothing the bot keeps (store, journal, insights) holds the secret.
      const files = await readdir(own.dataDir, { recursive: true, withFileTypes: true });
      const kept = files.filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
      assert.ok(kept.some((f) => f.endsWith('insights.jsonl')), `insights log written: ${kept.join(', ')}`);
      for (const file of kept) assert.doesNotMatch(await readFile(file, 'utf8'), /Summer2024|Xq7|pLzz|Bonjour123/, file);
    } finally {
      await own.cleanup();
    }
  });

  it('tells a user who types affinity answers (balances, payments) that it never needs them, and keeps none of them', async () => {
    const own = await startAssistant();
    try {
      const c = own.conversation();
      let r = await c.say('our last SOA balance was $12,345.67 and last payment was $8,900.00, is that what I enter?');
      assert.match(visibleText(r), /No need to tell me amounts or numbers like these/);
      // The question itself is still answered.
      assert.match(visibleText(r), /affinity questions/i);
      await c.say('start');
      await answerProfile(c, true, true, true);
      await c.say('done');
      r = await c.say('gckey');
      const step = stepTitle(r);
      assert.match(step ?? '', /business number/i);
      r = await c.say('the transaction number is 12345678901234567890 with duties of $3,210.55');
      assert.match(visibleText(r), /No need to tell me amounts/);
      assert.doesNotMatch(visibleText(r), /What you entered has/);
      assert.equal(stepTitle(r), step);
      const fr = own.conversation({ locale: 'fr-CA' });
      r = await fr.say('mon solde du dernier relevé est de 4 512,33 $, je mets ça où?');
      assert.match(visibleText(r), /Inutile de me donner des montants/);
      r = await own.conversation().say('last payment 4210.55');
      assert.match(visibleText(r), /No need to tell me amounts/);
      // An amount in a question about the bond is part of the question.
      r = await c.say('we pay about 20 000 $ a month in duties, how big a bond do we need?');
      assert.doesNotMatch(visibleText(r), /No need to tell me/);
      await own.stop();
      const files = await readdir(own.dataDir, { recursive: true, withFileTypes: true });
      for (const f of files.filter((f) => f.isFile())) {
        assert.doesNotMatch(await readFile(join(f.parentPath, f.name), 'utf8'), /12,345\.67|8,900|3,210|4 512,33|4210\.55|12345678901234567890/, f.name);
      }
    } finally {
      await own.cleanup();
    }
  });

  it('reads hedged and general sentences at the questions and steps: "not sure" is not done', async () => {
    const c = bot.conversation();
    await c.say('start');
    await c.say('yes');
    await c.say('ok yes');
    let r = await c.say("I think we have one but I'm not sure");
    assert.match(visibleText(r), /Noted: no RM account yet/);
    r = await c.say('we already did that last week');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    r = await c.say('not sure yet, my boss will decide');
    assert.match(visibleText(r), /come back to “Choose how you will sign in” later/);
    let progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['choose-sign-in-option']?.status, 'later');
    // The card's "Not decided yet" with Done is not a choice made either.
    await c.click({ action: 'jump', stepId: 'choose-sign-in-option' });
    r = await c.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done', value: 'undecided' });
    progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['choose-sign-in-option']?.status, 'later');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('c fait');
    assert.match(visibleText(r), /est fait/);
  });

  it('reminds what a step takes, with its buttons, when a message answers nothing', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say('blorp zzz');
    assert.match(visibleText(r), /Please choose \*\*Done\*\*/);
    r = await c.click(button(r, 'Done'));
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    // At the sign-in step, the reminder's buttons are the options themselves.
    r = await c.say('blorp zzz');
    assert.match(visibleText(r), /Please choose \*\*GCKey\*\* or \*\*Sign-In Partner\*\*/);
    r = await c.click(button(r, /Sign-In Partner/));
    assert.match(visibleText(r), /“Choose how you will sign in” is done/);
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.values.signInOption, 'sign-in-partner');
  });

  it('changes the first answers without erasing anything: offered when a sentence contradicts one, or asked for', async () => {
    const c = await checklistStarted(bot, true, false, true);
    let r = await c.say('done');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    r = await c.say('oops, actually we do use a broker');
    assert.match(visibleText(r), /doesn't match what you told me at the start \(no customs broker\)/);
    r = await c.click(button(r, 'Change my answers'));
    assert.match(visibleText(r), /Is your business based in Canada\?/);
    await c.say('yes');
    await c.say('yes');
    r = await c.say('yes');
    assert.match(visibleText(r), /Your checklist has \*\*12 steps\*\*/);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    const progress = await storedProgress(bot, c);
    assert.deepEqual(progress!.profile, { resident: true, usesBroker: true, hasRmAccount: true });
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'done');
    // A sentence that agrees with the answers changes nothing.
    r = await c.say('we use Livingston as our broker');
    assert.doesNotMatch(visibleText(r), /doesn't match/);
    // Without a correction, a sentence about brokers is a question about brokers.
    const q = await checklistStarted(bot, true, false, true);
    r = await q.say('Quick question: if our broker goes bankrupt after collecting our duty money, are we still on the hook to cbsa');
    assert.doesNotMatch(visibleText(r), /doesn't match/);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('modifier mes réponses');
    assert.match(visibleText(r), /Reprenons les trois questions/);
    // Asked inside a question too.
    const fr2 = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr2.say("est-ce que je peux changer ma réponse pour le courtier? finalement on n'en a pas");
    assert.match(visibleText(r), /Reprenons les trois questions/);
    // Corrected while the three questions are still being asked: they start again.
    const s2 = bot.conversation();
    await s2.say('start');
    r = await s2.say('show my progress');
    assert.match(visibleText(r), /Is your business based in Canada\?/, 'the open first question comes back under the progress card');
    await s2.say('yes');
    await s2.say('no');
    r = await s2.say('oops, actually we do use a broker');
    assert.match(visibleText(r), /go over the three questions again/);
    assert.match(visibleText(r), /Is your business based in Canada\?/);
  });

  it('a business already registered gets its preparation and registration steps marked in one go, then what is left', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say("we're already registered in the portal, what else do we need to do?");
    assert.match(visibleText(r), /Already registered\? Then 7 preparation and registration steps are behind you/);
    assert.equal(stepTitle(r), 'Choose your Business Account Manager', 'nothing marked before the click');
    const click = button(r, 'Yes, mark them done');
    r = await c.click(click);
    assert.match(visibleText(r), /Marked 7 steps done/);
    assert.equal(stepTitle(r), "Approve your customs broker's delegation request");
    const progress = await storedProgress(bot, c);
    assert.equal(Object.values(progress!.steps).filter((s) => s.status === 'done').length, 7);
    assert.equal(progress!.steps['approve-broker-delegation'], undefined);
    // Said again once they are settled, it is not offered again.
    r = await c.say("we're already registered");
    assert.doesNotMatch(visibleText(r), /Already registered\?/);
    const fr = await checklistStarted(bot, true, false, true, { locale: 'fr-CA' });
    r = await fr.say('on est déjà inscrits depuis 2022');
    assert.match(visibleText(r), /Déjà inscrits\? Alors 7 étapes/);
    // A typed "oui" takes the offer; the open step does not read it as its own answer.
    r = await fr.say('oui');
    assert.match(visibleText(r), /7 étapes marquées comme faites/);
    // "No" declines it, and the offer does not outlive the next message.
    const d = await checklistStarted(bot, true, true, true);
    await d.say("we're already registered");
    r = await d.say('no');
    assert.match(visibleText(r), /OK, nothing changed/);
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    r = await d.say('yes');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    // Someone else's registration is a question, not ours; "ok" does not take a bulk offer; one undo
    // reopens every step the offer marked.
    const e = await checklistStarted(bot, true, true, true);
    r = await e.say('our broker is already registered, do we still need to register?');
    assert.doesNotMatch(visibleText(r), /Already registered\?/);
    await e.say("we're already registered");
    r = await e.say('ok');
    assert.doesNotMatch(visibleText(r), /Marked 7 steps done/);
    await e.say("we're already registered");
    await e.say('yes please');
    r = await e.say('undo');
    assert.match(visibleText(r), /the 7 steps marked together are open again/);
    const undone = await storedProgress(bot, e);
    assert.equal(Object.keys(undone!.steps).length, 0);
  });

  it('a message that opens with a question is not taken as an answer; "not sure" gets the question explained', async () => {
    const c = bot.conversation();
    await c.say('start');
    let r = await c.say("what counts as based in Canada? we're incorporated in Delaware but have a warehouse in Ontario");
    assert.doesNotMatch(visibleText(r), /Noted/);
    assert.match(visibleText(r), /importer of record \(a non-resident importer\)/);
    await c.say('no');
    r = await c.say('not sure');
    assert.match(visibleText(r), /Answer \*\*yes\*\* if someone files your customs declarations for you/);
    assert.equal((await storedProgress(bot, c))?.profile, undefined);
    await c.say('yes');
    // A first clause that is a yes answers; the rest is context.
    r = await c.say('je pense que oui, on a un numéro RM');
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    await c.say('done');
    r = await c.say('can I use a sign-in partner? we bank with Chase');
    assert.doesNotMatch(visibleText(r), /is done/);
    assert.match(visibleText(r), /GCKey or Sign-In Partner, which should I use\?/);
    const progress = await storedProgress(bot, c);
    assert.deepEqual(progress!.profile, { resident: false, usesBroker: true, hasRmAccount: true });
    assert.equal(progress!.steps['choose-sign-in-option'], undefined);
  });

  it('never offers to erase progress for a message that does not ask to start over', async () => {
    const c = await checklistStarted(bot, true, true, true);
    for (const text of ["hey it's me again", 'again please', 'hello again, where were we']) {
      const r = await c.say(text);
      assert.doesNotMatch(visibleText(r), /This erases your checklist progress|checklist over/i, text);
    }
    const r = await c.say('erase everything and begin again');
    assert.match(visibleText(r), /This erases your checklist progress/);
  });

  it('"previous step" shows the step before, as it stands, without undoing anything', async () => {
    const c = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    await c.say("c'est fait");
    let r = await c.say('clégc');
    assert.match(stepTitle(r) ?? '', /NE9|numéro d'entreprise/i);
    r = await c.say('étape précédente');
    assert.match(stepTitle(r) ?? '', /connecter|connexion/i);
    // "Retour" at a step is the step before too, not the main menu.
    r = await c.say('retour');
    assert.match(stepTitle(r) ?? '', /gestionnaire de compte/i);
    r = await c.say('étape précédente');
    assert.match(visibleText(r), /C'est la première étape de votre liste/);
    const progress = await storedProgress(bot, c);
    assert.equal(Object.values(progress!.steps).filter((s) => s.status === 'done').length, 2);
  });

  it('whole journeys: a sentence about another step does not settle this one; a mistake is taken back in words; a lost question is said to be lost', async () => {
    const c = bot.conversation();
    let r = await c.say('Where do I even begin?');
    assert.match(visibleText(r), /three quick questions/);
    await answerProfile(c, true, true, true);
    await c.click({ action: 'jump', stepId: 'approve-broker-delegation' });
    r = await c.say('I got the SOA numbers from my broker so the affinity stuff is ready now');
    assert.doesNotMatch(visibleText(r), /is done/);
    r = await c.say('our broker already has access');
    assert.match(visibleText(r), /“Approve your customs broker's delegation request” is done/);
    r = await c.say('oh wait I clicked done by mistake');
    assert.match(visibleText(r), /Undone: “Approve your customs broker's delegation request” is open again/);
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['approve-broker-delegation'], undefined);
    // A question the bot cannot place, asked at a step: it says so, and shows the step again.
    r = await c.say('can the portal print my broker list?');
    assert.match(visibleText(r), /not sure I understood/);
    assert.equal(stepTitle(r), "Approve your customs broker's delegation request");
    // A business number typed at the program-account step is kept for its own step; this one stays open.
    await c.click({ action: 'jump', stepId: 'get-program-account' });
    r = await c.say('871 000 006');
    assert.match(visibleText(r), /That is your business number \(BN9\), •+006: noted for its step/);
    const kept = await storedProgress(bot, c);
    assert.equal(kept!.values.businessNumber, '871000006');
    assert.equal(kept!.steps['get-program-account'], undefined);
    // A step by its number, done or not.
    r = await c.say('go to step 1');
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    r = await c.say('go to step 30');
    assert.match(visibleText(r), /Your checklist has 12 steps; which one did you mean\?/);
    r = await bot.conversation({ locale: 'fr-CA' }).say('bonjour je reviens');
    assert.match(visibleText(r), /Bonjour! Comment puis-je vous aider/);
  });

  it('coming back to change a step: "I want to redo step 2" / "je veux revenir à l\'étape 2" opens that step', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    await c.say('GCKey');
    // Days later, in a new conversation.
    let r = await bot.conversation({ userId: c.userId }).say('I want to redo step 2');
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    r = await bot.conversation({ userId: c.userId }).say("can we go back to step 1 please?");
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    await fr.say("c'est fait");
    r = await bot.conversation({ locale: 'fr-CA', userId: fr.userId }).say("je veux revenir à l'étape 1");
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    r = await bot.conversation({ locale: 'fr-CA', userId: fr.userId }).say("on peut refaire l'étape 2 svp");
    assert.equal(stepTitle(r), 'Choisir votre option de connexion');
  });

  it('takes back a step asked in French typed without apostrophes ("oups jai clique sur cest fait par erreur")', async () => {
    const c = await checklistStarted(bot, true, true, false, { locale: 'fr-CA' });
    await c.say('cest fait');
    const r = await c.say('oups jai clique sur cest fait par erreur');
    assert.match(visibleText(r), /Annulé : l'étape « Choisir votre gestionnaire de compte d'entreprise » est de nouveau ouverte/);
    assert.equal((await storedProgress(bot, c))!.steps['choose-business-account-manager'], undefined);
  });

  it('"bye" says goodbye and leaves the open step where it was', async () => {
    const c = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    let r = await c.say('Bonne journée!');
    assert.match(visibleText(r), /Au revoir! Votre progression est sauvegardée/);
    assert.equal(stepTitle(r), undefined);
    r = await c.say("c'est fait");
    assert.match(visibleText(r), /« Choisir votre gestionnaire de compte d'entreprise » est fait/);
  });

  it('takes "ok" or "got it" as an acknowledgement: after an answer a short reply, at a step the same step again, not marked', async () => {
    const c = bot.conversation();
    let r = await c.say('how much security do I need to post?');
    r = await c.say('ok');
    assert.match(visibleText(r), /Anything else about CARM\?/);
    assert.doesNotMatch(visibleText(r), /not sure I understood/);
    r = await c.say('cool');
    assert.match(visibleText(r), /Anything else about CARM\?/);
    await c.say('start');
    const atStep = await answerProfile(c, true, true, true);
    r = await c.say('got it');
    assert.equal(stepTitle(r), stepTitle(atStep));
    assert.doesNotMatch(visibleText(r), /is done/);
    const progress = await c.say('show my progress');
    assert.match(visibleText(progress), /0 of 12 steps done/);
    const fr = bot.conversation({ locale: 'fr-CA' });
    await fr.say('combien de garantie faut-il déposer?');
    assert.match(visibleText(await fr.say("d'accord")), /Autre chose sur la GCRA\?/);
  });

  it('answers a CARM question in the middle of a step, then asks the same step again', async () => {
    const c = bot.conversation();
    await c.say('start');
    const r0 = await answerProfile(c, true, true, true);
    const before = stepTitle(r0);
    const r = await c.say('how much security do I need to post?');
    assert.match(visibleText(r), /How much security do I need/);
    assert.equal(stepTitle(r), before);
    const help = await c.say('help');
    assert.match(visibleText(help), /Here's what I can do/);
    assert.equal(stepTitle(help), before);
    const progress = await c.say('show my progress');
    assert.match(visibleText(progress), /0 of 12 steps done \(0%\)/);
    const cont = await c.say('done');
    assert.match(visibleText(cont), /is done/);
  });

  it('cancel stops the checklist and keeps progress; continue resumes at the first unfinished step', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say('cancel');
    assert.match(visibleText(r), /I've stopped. Your progress is saved/);
    r = await c.say('what is a CAD');
    assert.match(visibleText(r), /Commercial Accounting Declaration/i);
    r = await c.say('continue');
    assert.match(visibleText(r), /pick up where you left off/);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
  });

  it('"on a fini cette étape" / "we finished this one" at a step marks it done; "not finished" does not', async () => {
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    let r = await fr.say("on n'a pas encore fini cette étape");
    assert.doesNotMatch(visibleText(r), /» est fait/);
    r = await fr.say('on a fini cette étape');
    assert.match(visibleText(r), /« Choisir votre gestionnaire de compte d'entreprise » est fait/);
    const c = await checklistStarted(bot, true, true, true);
    r = await c.say('ok we finished this one');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
  });

  it('coming back in a new conversation: "start over" then "no", or "previous step" at the first step, is not a dead end', async () => {
    const c = await checklistStarted(bot, true, true, true);
    const later = bot.conversation({ userId: c.userId });
    await later.say('start over');
    let r = await later.say('no');
    assert.match(visibleText(r), /your progress is kept/);
    r = await later.click(button(r, 'Continue my checklist'));
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await bot.conversation({ locale: 'fr-CA', userId: fr.userId }).say('étape précédente');
    assert.match(visibleText(r), /C'est la première étape de votre liste/);
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise", 'the first step itself, with its buttons');
    assert.ok(buttons(r).some((b) => b.title === "C'est fait"));
  });

  it('start over asks for confirmation, keeps progress on "no" and erases it on "yes"', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say('start over');
    assert.match(visibleText(r), /Start over\?/);
    r = await c.click(button(r, 'No, keep my progress'));
    assert.match(visibleText(r), /your progress is kept/);
    // Back to the step that was open, in the same message.
    assert.equal(r.length, 1);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    assert.ok(await storedProgress(bot, c));
    r = await c.say('recommencer');
    r = await c.click(button(r, /start over|recommencer/i));
    assert.match(visibleText(r), /erased|effacée/);
    assert.equal(await storedProgress(bot, c), undefined);
    // The way to begin again is a button, not only "type start".
    r = await c.click(button(r, /Start my CARM checklist|Commencer ma liste/));
    assert.match(visibleText(r), /three quick questions|trois petites questions/);
  });

  it('conversations saved by earlier versions (the checklist and profile as components, inside "main") carry on where they were', async () => {
    const c = bot.conversation();
    await c.say('start');
    await c.click({ action: 'choose', question: 'profile.resident', value: 'yes' });
    const key = `emulator/conversations/${c.id}/`;
    const saved = (await bot.assistant.storage.read([key]))[key]!;
    const flat = saved.dialogState.dialogStack;
    assert.deepEqual(flat.map((d: ChannelActivity) => d.id), ['onboarding', 'importerProfile', 'importerProfile.answer']);
    saved.dialogState.dialogStack = [{ id: 'main', state: { dialogs: { dialogStack: savedAsComponents(flat) } } }];
    await bot.assistant.storage.write({ [key]: { ...saved, eTag: '*' } });
    // The profile's second question is still the open one; its answers so far are kept.
    let r = await c.click({ action: 'choose', question: 'profile.broker', value: 'yes' });
    assert.match(visibleText(r), /\(RM\) program account\?/);
    r = await c.click({ action: 'choose', question: 'profile.rm', value: 'yes' });
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    assert.deepEqual((await storedProgress(bot, c))?.profile, { resident: true, usesBroker: true, hasRmAccount: true });
    const after = (await bot.assistant.storage.read([key]))[key]!;
    assert.deepEqual(after.dialogState.dialogStack.map((d: ChannelActivity) => d.id), ['onboarding', 'phase.pre-registration', 'phase.pre-registration.answer']);
  });

  it('a conversation saved by the previous version (its stack inside a "main" dialog) carries on where it was', async () => {
    const c = await checklistStarted(bot, true, true, true);
    const key = `emulator/conversations/${c.id}/`;
    const saved = (await bot.assistant.storage.read([key]))[key]!;
    const stack = saved.dialogState.dialogStack;
    assert.equal(stack[0].id, 'onboarding');
    saved.dialogState.dialogStack = [{ id: 'main', state: { dialogs: { dialogStack: stack } }, version: 'old' }];
    await bot.assistant.storage.write({ [key]: { ...saved, eTag: '*' } });
    const r = await c.say('done');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
  });

  it('start over erases the checklist and the numbers given, but not the language the user chose', async () => {
    const c = bot.conversation({ locale: 'en-CA' });
    await c.say('in french please');
    await c.say('commencer');
    await answerProfile(c, true, true, true);
    await c.click({ action: 'step', stepId: 'choose-business-account-manager', choice: 'done' });
    await c.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done', value: 'gckey' });
    await c.say('123456782');
    let r = await c.say('recommencer');
    r = await c.click(button(r, /recommencer/i));
    assert.match(visibleText(r), /effacée/);
    const user = { channelId: 'emulator', userId: c.userId };
    const record = await bot.assistant.progress.get(user);
    assert.deepEqual(record?.steps, {});
    assert.deepEqual(record?.values, {});
    assert.equal(record?.profile, undefined);
    assert.equal(record?.language, 'fr');
    r = await bot.conversation({ locale: 'en-CA', userId: c.userId }).say('what is a CAD?');
    assert.match(visibleText(r), /Dernière révision/);
  });

  it('"I don\'t know" at a step explains it and asks it again, in both languages', async () => {
    const c = await checklistStarted(bot, true, true, true, { locale: 'en-CA' });
    await c.say('done');
    let r = await c.say("I don't know");
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    assert.match(visibleText(r), /Official source/);
    assert.equal((await storedProgress(bot, c))?.steps['choose-sign-in-option'], undefined);
    const f = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await f.say('je ne sais pas');
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    assert.match(visibleText(r), /Source officielle/);
  });

  it('a double click or a retried activity never advances twice', async () => {
    const c = bot.conversation();
    await c.say('start');
    const r = await answerProfile(c, true, true, true);
    const done = button(r, 'Done');
    const [first, second] = await Promise.all([c.click(done), c.click(done)]);
    const all = [...first, ...second];
    assert.equal(all.filter((a) => /is done/.test(a.text ?? '')).length, 1);
    // A channel retry: the very same activity id again.
    const retried = c.activity({ type: 'message', value: button(all, 'Done') });
    assert.equal(button(all, 'Done').stepId, 'choose-sign-in-option');
    await bot.channel.post(bot.url, retried);
    const count = bot.channel.repliesIn(c.id).length;
    await bot.channel.post(bot.url, retried);
    assert.equal(bot.channel.repliesIn(c.id).length, count, 'the retry got no second answer');
    const progress = await storedProgress(bot, c);
    assert.deepEqual(Object.keys(progress!.steps), ['choose-business-account-manager']);
    assert.equal(progress!.steps['choose-business-account-manager']!.status, 'done');
  });

  it('the progress card tells the truth and its buttons jump to or tick a step', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    await c.say('later');
    let r = await c.say('progress');
    const text = visibleText(r);
    assert.match(text, /1 of 12 steps done \(8%\)/);
    assert.match(text, /✔[\s\S]*Choose your Business Account Manager[\s\S]*Done/);
    assert.match(text, /◷[\s\S]*Choose how you will sign in[\s\S]*Later/);
    assert.ok(buttons(r).some((b) => b.title === 'Mark as done'));
    r = await c.click({ ...button(r, 'Mark as done'), stepId: 'give-employees-access' });
    assert.match(visibleText(r), /Noted on your checklist: “Give your employees access”/);
    r = await c.click({ ...button(await c.say('progress'), 'Go to this step'), stepId: 'enrol-rpp-and-post-security' });
    assert.match(stepTitle(r) ?? '', /Release Prior to Payment|security/i);
    // A finished step is in the picker too, and opening it lets "Not yet" reopen it.
    r = await c.say('progress');
    const picker = r.flatMap((a) => a.attachments ?? []).map((a) => JSON.stringify(a.content)).join('');
    assert.match(picker, /✔ 1\. Choose your Business Account Manager/);
    r = await c.click({ ...button(r, 'Go to this step'), stepId: 'choose-business-account-manager' });
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    await c.click(button(r, 'Not yet, remind me later'));
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'later');
  });

  it('welcomes a returning user back with where they stand, after a server restart', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    await c.say('gckey');
    await bot.stop();
    const again = await startAssistant({}, { dataDir: bot.dataDir });
    try {
      const back = again.conversation({ userId: c.userId });
      let r = await back.join();
      assert.match(visibleText(r), /Welcome back! You've completed 2 of 12 onboarding steps \(17%\)/);
      r = await back.say('continue');
      assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    } finally {
      await again.cleanup();
    }
  });

  it('"continue" opens the step the welcome named next: a step put off comes round after the others', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    await c.say('gckey');
    let r = await c.click(button(await c.say('show my progress'), 'Continue where I left off'));
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    r = await c.click(button(r, 'Not yet, remind me later'));
    const back = bot.conversation({ userId: c.userId });
    r = await back.join();
    assert.match(visibleText(r), /Next up: \*\*Have your import-export \(RM\) program account ready\*\*/);
    r = await back.click(button(r, 'Continue my checklist'));
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    // The progress card's button goes to the same step.
    r = await back.click(button(await back.say('progress'), 'Continue where I left off'));
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    for (let i = 0; i < 12 && buttons(r).some((b) => b.title === 'Done'); i++) r = await back.click(button(r, 'Done'));
    assert.match(visibleText(r), /That's the whole checklist for now\. 1 step is waiting for later/);
    assert.match(visibleText(r), /11 of 12 steps done/);
    r = await back.say('continue');
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    const fr = await checklistStarted(bot, true, false, true, { locale: 'fr-CA' });
    await fr.say("c'est fait");
    assert.match(visibleText(await fr.say('progression')), /1 étape sur 11 terminée \(9 %\)/);
  });

  it('takes a whole program account number (BN15) at the BN9 step: keeps its first nine digits and says so, masked', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say('gckey');
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    // Its first nine digits still need a valid check digit.
    r = await c.say('123456789RM0001');
    assert.match(visibleText(r), /doesn't pass the BN9 check digit/);
    r = await c.say('871 000 006 RT 0001');
    assert.match(visibleText(r), /“Have your CRA business number \(BN9\) ready” is done\. I kept the first nine digits of your program account number: your BN9, ••••••006/);
    assert.doesNotMatch(JSON.stringify(r), /871 ?000 ?006/);
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    // Nine digits alone at the RM step are not a program account: it says what one looks like.
    r = await c.say('871000006');
    assert.match(visibleText(r), /adds the letters RM and four digits \(for example 123456782RM0001\)/);
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.values.businessNumber, '871000006');
    assert.equal(progress!.values.programAccount, undefined);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    await fr.click({ action: 'step', stepId: 'choose-business-account-manager', choice: 'done' });
    await fr.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done', value: 'gckey' });
    r = await fr.say('871000006-RM-0001');
    assert.match(visibleText(r), /J'ai gardé les neuf premiers chiffres de votre numéro de compte de programme : votre NE9, ••••••006/);
    assert.doesNotMatch(bot.logs.join(''), /871 ?000 ?006/);
  });

  it('at the sign-in step, a question about an option is answered, not taken as the choice', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say("it's me, I own the company, my wife can be backup");
    for (const text of ['whats a gckey', 'gckey?', 'we bank with TD, does that work for sign in partner', 'we bank with Chase in the US, can we use the sign in partner option?']) {
      const r = await c.say(text);
      assert.doesNotMatch(visibleText(r), /is done/, text);
      assert.match(visibleText(r), /GCKey or Sign-In Partner, which should I use\?/, text);
    }
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'done', 'the owner naming themselves and a backup settles the BAM step');
    assert.equal(progress!.steps['choose-sign-in-option'], undefined);
    assert.equal(progress!.values.signInOption, undefined);
    const r = await c.say("we'll use GCKey");
    assert.match(visibleText(r), /“Choose how you will sign in” is done/);
  });

  it('an answer with a question after it: the step is marked and the question answered, not dropped', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say("it's me, I own the company");
    let r = await c.say("we'll use GCKey, but what happens if I get locked out?");
    assert.match(visibleText(r), /“Choose how you will sign in” is done/);
    assert.match(visibleText(r), /locked out/i, 'the question is answered');
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready', 'then the next step');
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.values.signInOption, 'gckey');
    // A question that cannot be placed is said so, not silently dropped; a short "what now?" is not a question to answer.
    r = await c.say('done. how long does the whole thing usually take for a company like ours?');
    assert.match(visibleText(r), /“Have your CRA business number \(BN9\) ready” is done/);
    assert.match(visibleText(r), /I'm not sure I understood/);
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    r = await c.say('done, what now?');
    assert.match(visibleText(r), /is done/);
    assert.doesNotMatch(visibleText(r), /I'm not sure I understood/);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say("c'est moi le GCE. est-ce que je dois avoir un numéro d'entreprise?");
    assert.match(visibleText(r), /est fait/);
    assert.match(visibleText(r), /NE9/, 'the French question is answered too');
  });

  it('an answer with a question after it and no comma ("GCKey but what if…?") keeps the answer and answers the question', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say("we'll go with GCKey but what if I forget my password?");
    assert.match(visibleText(r), /locked out/i, 'the question is answered');
    assert.match(visibleText(r), /“Choose how you will sign in” is done/, 'and the sign-in choice is not lost');
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready');
    let progress = await bot.assistant.progress.get({ channelId: 'emulator', userId: c.userId });
    assert.equal(progress!.values.signInOption, 'gckey');
    const fr = await checklistStarted(bot, true, false, true, { locale: 'fr-CA' });
    await fr.say("c'est fait");
    r = await fr.say("on va prendre le partenaire de connexion mais si j'oublie mon mot de passe?");
    assert.match(visibleText(r), /bloqué/);
    assert.match(visibleText(r), /« Choisir votre option de connexion » est fait/);
    progress = await bot.assistant.progress.get({ channelId: 'emulator', userId: fr.userId });
    assert.equal(progress!.values.signInOption, 'sign-in-partner');
    // A question that opens the message is still only a question.
    r = await fr.say('mais si je perds mon numéro?');
    assert.doesNotMatch(visibleText(r), /» est fait/);
  });

  it('a step answered in the other language goes on in that language; one word or a chosen language does not switch', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say('je suis le GCE');
    assert.match(visibleText(r), /« Choisir votre gestionnaire de compte d'entreprise » est fait/);
    assert.equal(stepTitle(r), 'Choisir votre option de connexion');
    r = await c.say('gckey');
    assert.equal(stepTitle(r), "Avoir en main votre numéro d'entreprise (NE9) de l'ARC", 'one word keeps the language');
    r = await c.say("we don't have it yet");
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready', 'and English switches back');
    const chosen = await checklistStarted(bot, true, true, true);
    await chosen.click({ action: 'command', command: 'switch_to_english' });
    r = await chosen.say('je suis le GCE');
    assert.equal(stepTitle(r), 'Choose how you will sign in', 'a language chosen with its button stays');
  });

  it('"we already did steps 1 to 3" / "on a déjà fait 6 7 et 8" offers to mark those steps, by name, and marks them on yes', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say('we already did steps 1 to 3');
    assert.doesNotMatch(visibleText(r), /is done/, 'nothing marked before the person confirms');
    for (const title of ['Choose your Business Account Manager', 'Choose how you will sign in', 'Have your CRA business number (BN9) ready']) {
      assert.ok(visibleText(r).includes(title), title);
    }
    const yes = buttons(r).find((b) => b.data?.action === 'markSteps');
    assert.ok(yes, buttons(r).map((b) => b.title).join(' | '));
    r = await c.click(yes!.data!);
    assert.match(visibleText(r), /Marked 3 steps done/);
    assert.equal(stepTitle(r), 'Have your import-export (RM) program account ready');
    let progress = await storedProgress(bot, c);
    assert.deepEqual(Object.keys(progress!.steps).filter((id) => progress!.steps[id]?.status === 'done').length, 3);
    // One number without the word "step" is not a list of steps; a number past the checklist is said so.
    r = await c.click(yes!.data!);
    assert.match(visibleText(r), /Those steps are already done/, 'the same button clicked again');
    r = await c.click({ action: 'markSteps', stepIds: ['no-such-step'] });
    assert.match(visibleText(r), /That button belongs to an older message/, 'a button for steps not in this checklist is stale');
    r = await c.say('we did 3 imports last month');
    assert.ok(!buttons(r).some((b) => b.data?.action === 'markSteps'));
    r = await c.say('step 40 is done');
    assert.match(visibleText(r), /Your checklist has 12 steps/);

    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('on a déjà fait 6 7 et 8');
    assert.doesNotMatch(visibleText(r), /» est fait/);
    assert.ok(buttons(r).some((b) => b.data?.action === 'markSteps'));
    r = await fr.say('oui');
    assert.match(visibleText(r), /3 étapes marquées comme faites/);
    progress = await storedProgress(bot, fr);
    const steps = new OnboardingPlan(bot.assistant.content.plan).stepsFor(progress!.profile!).map((p) => p.step.id);
    assert.deepEqual(steps.filter((id) => progress!.steps[id]?.status === 'done'), steps.slice(5, 8));
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise", 'the first open step comes next');
  });

  it('"Did you mean…?" at a first question keeps that question\'s buttons under it', async () => {
    const fr = await firstQuestionsStarted(bot, 'fr-CA');
    const r = await fr.say('c quoi le truc du courtier');
    assert.match(visibleText(r), /Vouliez-vous dire/);
    assert.ok(buttons(r).some((b) => b.data?.question === 'profile.resident'), buttons(r).map((b) => b.title).join(' | '));
  });

  it('"go back" to a finished step, then "skip": the step stays done and the checklist moves on', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say("it's me, I own the company");
    let r = await c.say('go back');
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    r = await c.say('skip');
    assert.match(visibleText(r), /“Choose your Business Account Manager” stays done/);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    const progress = await storedProgress(bot, c);
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'done');
  });

  it('a business or program account number typed at another step is kept for its own step, masked, and the open step goes on', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say("it's me, I own the company");
    let r = await c.say('we just got our BN: 871 000 006');
    assert.match(visibleText(r), /••••006/);
    assert.match(visibleText(r), /Have your CRA business number \(BN9\) ready/);
    assert.equal(stepTitle(r), 'Choose how you will sign in', 'the open step is shown again');
    let progress = await storedProgress(bot, c);
    assert.equal(progress!.values.businessNumber, '871000006');
    assert.equal(progress!.steps['choose-sign-in-option'], undefined, 'the open step is not marked');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('notre numéro de compte RM est 871000006RM0001');
    assert.match(visibleText(r), /RM•001/);
    progress = await storedProgress(bot, fr);
    assert.equal(progress!.values.programAccount, '871000006RM0001');
    // A number that is no valid BN9 is not kept; a number in a question is not an answer.
    r = await c.say('is 123456789 a valid business number?');
    assert.equal((await storedProgress(bot, c))!.values.businessNumber, '871000006');
    assert.doesNotMatch(bot.logs.join(''), /871 ?000 ?006/);
  });

  it('"skip" / "done" with no step open says so and shows the next step, or the menu without a checklist; "où en étais-je" shows progress', async () => {
    const fresh = bot.conversation();
    let r = await fresh.say('skip');
    assert.match(visibleText(r), /No checklist is open yet/);
    assert.ok(buttons(r).some((b) => b.title === 'Start my CARM checklist'), buttons(r).map((b) => b.title).join(' | '));
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    const later = bot.conversation({ userId: c.userId });
    r = await later.say('done');
    assert.match(visibleText(r), /No step is waiting for an answer right now/);
    assert.equal(stepTitle(r), 'Choose how you will sign in');
    assert.equal((await storedProgress(bot, c))!.steps['choose-sign-in-option'], undefined, 'nothing marked');
    const fr = bot.conversation({ locale: 'fr-CA', userId: c.userId });
    r = await fr.say("je reviens, où en étais-je?");
    assert.match(visibleText(r), /Votre progression/i);
  });

  it('"all the pre-registration stuff is done" / "la postinscription est faite" offers that phase\'s open steps', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say('all the pre-registration stuff is done');
    for (const n of [2, 3, 4, 5]) assert.match(visibleText(r), new RegExp(`• ${n}\\.`), `step ${n}`);
    assert.doesNotMatch(visibleText(r), /• 1\.|• 6\./, 'a step done, or of another phase, is not offered');
    r = await c.say('yes');
    assert.match(visibleText(r), /Marked 4 steps done/);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('la postinscription est faite');
    assert.ok(buttons(r).some((b) => b.data?.action === 'markSteps'));
    assert.doesNotMatch(visibleText(r), /• 1\./);
    // A question about a phase is not a claim that it is done.
    r = await fr.say('est-ce que la préinscription est longue?');
    assert.ok(!buttons(r).some((b) => b.data?.action === 'markSteps'));
  });

  it('"we switched to Sign-In Partner" after choosing GCKey changes the saved choice and says so; a sentence about banking does not', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say("it's me, I own the company");
    await c.say('gckey');
    let r = await c.say('we pay our duties through our bank');
    assert.doesNotMatch(visibleText(r), /sign in with/);
    assert.equal((await storedProgress(bot, c))!.values.signInOption, 'gckey');
    r = await c.say('actually we switched to the sign-in partner through our bank');
    assert.match(visibleText(r), /you will sign in with Sign-In Partner \(online banking\) now \(it was GCKey\)/);
    assert.equal((await storedProgress(bot, c))!.values.signInOption, 'sign-in-partner');
    assert.equal(stepTitle(r), 'Have your CRA business number (BN9) ready', 'the open step is shown again');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    await fr.say("c'est moi le GCE");
    await fr.say('partenaire de connexion');
    r = await fr.say('en fait on va prendre la CléGC finalement');
    assert.match(visibleText(r), /vous vous connecterez maintenant avec CléGC|vous vous connecterez maintenant avec GCKey/);
    assert.equal((await storedProgress(bot, fr))!.values.signInOption, 'gckey');
  });

  it('one slip of the thumb in a short answer still answers ("yse", "nto yet", "donee"), a different word does not ("none")', async () => {
    const c = bot.conversation();
    await c.say('start');
    let r = await c.say('yse');
    assert.match(visibleText(r), /Do you use a customs broker\?/);
    await c.say('yes');
    r = await c.say('yes');
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    r = await c.say('donee');
    assert.match(visibleText(r), /“Choose your Business Account Manager” is done/);
    r = await c.say('none');
    assert.doesNotMatch(visibleText(r), /is done/);
    r = await c.say('nto yet');
    assert.match(visibleText(r), /I'll come back to “Choose how you will sign in” later/);
  });

  it('French typed without apostrophes reads like French with them ("cest moi", "on a deja choisi, cest ma conjointe la gce")', async () => {
    for (const text of ['cest moi', 'on a deja choisi, cest ma conjointe la gce']) {
      const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
      const r = await fr.say(text);
      assert.match(visibleText(r), /« Choisir votre gestionnaire de compte d'entreprise » est fait/, text);
    }
  });

  it('"already signed up last year, what\'s left?" before any checklist: three questions, then registration\'s steps marked and the rest', async () => {
    const c = bot.conversation();
    let r = await c.say("so actually our controller already signed up last year in the portal, she's the BAM, I just need to know what's left");
    assert.match(visibleText(r), /much of the checklist is behind you/);
    assert.match(visibleText(r), /Is your business based in Canada\?/);
    r = await answerProfile(c, true, true, true);
    assert.match(visibleText(r), /✓ Marked \d+ steps done/);
    const progress = await storedProgress(bot, c);
    const plan = new OnboardingPlan(bot.assistant.content.plan);
    const registered = plan.stepsFor(progress!.profile!).filter((p) => p.step.doneOnceRegistered);
    assert.ok(registered.length >= 5);
    for (const p of registered) assert.equal(progress!.steps[p.step.id]?.status, 'done', p.step.id);
    const next = plan.nextStep(progress)!;
    assert.equal(stepTitle(r), next.step.en.title, 'the first step registration does not cover comes next');
  });

  it('"we did everything up to step 5" / "jusqu\'à l\'étape 3" offers every open step up to that one, not that one alone', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.say('done');
    let r = await c.say('we did everything up to step 5');
    for (const title of ['Choose how you will sign in', 'Have your CRA business number (BN9) ready', 'Have your import-export (RM) program account ready', 'Get ready for the affinity questions']) {
      assert.ok(visibleText(r).includes(title), title);
    }
    assert.ok(!visibleText(r).includes('• 1.'), 'a step already done is not offered again');
    r = await c.say('yes');
    assert.match(visibleText(r), /Marked 4 steps done/);
    assert.equal(stepTitle(r), 'Sign in and create your personal profile');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say("on a tout fait jusqu'à l'étape 3");
    assert.match(visibleText(r), /• 1\. Choisir votre gestionnaire de compte d'entreprise/);
    assert.match(visibleText(r), /• 3\. Avoir en main votre numéro d'entreprise/);
    // "de 4 jusqu'à 6" is still a range of three.
    r = await fr.say("on a fait les étapes de 4 jusqu'à 6");
    assert.match(visibleText(r), /• 5\./);
    assert.doesNotMatch(visibleText(r), /• 1\./);
    assert.match(visibleText(r), /• 6\./);
  });

  it('a question that shares a word with "forget it" does not stop the checklist', async () => {
    const c = await checklistStarted(bot, true, true, true);
    let r = await c.say('what happens if I forget my password?');
    assert.doesNotMatch(visibleText(r), /I've stopped/);
    assert.ok(buttons(r).some((b) => b.title === 'Done'), 'the step is still open, its buttons shown');
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say("qu'est-ce qui arrive si j'oublie mon mot de passe?");
    assert.doesNotMatch(visibleText(r), /j'arrête/);
    r = await c.say('forget it');
    assert.match(visibleText(r), /I've stopped/, 'a real "forget it" still stops');
  });

  it('"on continue" / "I want to continue" go on with the checklist; questions at a step are not met with the buttons\' names', async () => {
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    let r = await fr.say('on continue');
    assert.equal(stepTitle(r), "Choisir votre gestionnaire de compte d'entreprise");
    assert.doesNotMatch(visibleText(r), /j'arrête/i);
    r = await fr.say('et ca prend combien de temps?');
    assert.match(visibleText(r), /Je ne suis pas certain d'avoir compris|Vouliez-vous dire/);
    assert.doesNotMatch(visibleText(r), /Choisissez \*\*C'est fait\*\*/);
    assert.ok(buttons(r).some((b) => b.title === "C'est fait"), 'the step is offered again');
    r = await fr.say("c'est beau");
    assert.ok(buttons(r).some((b) => b.title === "C'est fait"));
    assert.doesNotMatch(visibleText(r), /Choisissez \*\*C'est fait\*\*/);
    const en = await checklistStarted(bot, true, true, true);
    r = await en.say('I want to continue');
    assert.equal(stepTitle(r), 'Choose your Business Account Manager');
    r = await en.say('how long does all this take');
    assert.match(visibleText(r), /I'm not sure I understood/);
    r = await en.say("ok thanks, that's helpful");
    assert.match(visibleText(r), /You're welcome/);
    assert.ok(buttons(r).some((b) => b.title === 'Done'), 'thanks at a step shows the step again');
  });

  it('a value the step cannot take is explained with the step\'s buttons under it', async () => {
    const c = await checklistStarted(bot, true, true, true);
    await c.click({ action: 'step', stepId: 'choose-business-account-manager', choice: 'done' });
    let r = await c.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done' });
    assert.match(visibleText(r), /Please pick GCKey or Sign-In Partner before marking this step done, or choose \*\*Not yet\*\*/);
    assert.ok(buttons(r).some((b) => b.title === "Not yet, remind me later"), "the button the message names is there");
    assert.ok(buttons(r).some((b) => b.title === 'GCKey'), buttons(r).map((b) => b.title).join(' | '));
    await c.click({ action: 'step', stepId: 'choose-sign-in-option', choice: 'done', value: 'gckey' });
    r = await c.say('12345678');
    assert.match(visibleText(r), /has exactly 9 digits, for example 123456782, and what you entered has 8/);
    assert.ok(buttons(r).some((b) => b.title === 'Done'), buttons(r).map((b) => b.title).join(' | '));
  });

  it('warns a non-resident at the registration step while their business number step is not done', async () => {
    const note = /As a non-resident importer, registration fails without a BN9 from CRA/;
    for (const bnChoice of ['skip', 'done'] as const) {
      const c = bot.conversation();
      await c.say('start');
      let r = await answerProfile(c, false, true, false);
      for (let i = 0; i < 10; i++) {
        const done = buttons(r).find((b) => b.data?.action === 'step' && b.data.choice === 'done')!.data!;
        if (done.stepId === 'register-business') break;
        const value = done.stepId === 'choose-sign-in-option' ? 'gckey' : done.stepId === 'get-business-number' ? '123456782' : undefined;
        r = await c.click(done.stepId === 'get-business-number' ? { ...done, choice: bnChoice, value } : { ...done, ...(value ? { value } : {}) });
      }
      assert.equal(stepTitle(r), 'Register your business in the portal');
      if (bnChoice === 'skip') assert.match(visibleText(r), note);
      else assert.doesNotMatch(visibleText(r), note);
    }
  });

  it('reads typed answers as people type them: a dotted BN9, "…, done", "did that already", and not "ok" as yes', async () => {
    const c = bot.conversation();
    await c.say('start');
    await c.say('yes');
    let r = await c.say('ok');
    assert.match(visibleText(r), /Do you use a customs broker\?/, '"ok" does not answer a yes/no question');
    await c.say('yes');
    await c.say('yes');
    r = await c.say('ok sounds good');
    assert.doesNotMatch(visibleText(r), /Hello!/);
    await c.say("i'm the bam");
    await c.say('we will use gckey');
    r = await c.say('123.456.782');
    assert.match(visibleText(r), /Noted: ••••••782/);
    await c.click({ action: 'step', stepId: 'get-program-account', choice: 'done' });
    r = await c.say('got the daily notices ready, done');
    assert.match(visibleText(r), /“Get ready for the affinity questions” is done/);
    r = await c.say('did that already last year');
    assert.match(visibleText(r), /“Sign in and create your personal profile” is done/);
    const fr = await checklistStarted(bot, true, true, true, { locale: 'fr-CA' });
    r = await fr.say('je suis le GCE');
    assert.match(visibleText(r), /est faite|est fait|✓/);
    const progress = await storedProgress(bot, fr);
    assert.equal(progress!.steps['choose-business-account-manager']?.status, 'done');
  });

  it('says that Sign-In Partners are Canadian banks, so a company without one uses GCKey', async () => {
    const r = await bot.conversation().say('can a US company use a Sign-In Partner? we only bank in the US');
    assert.match(visibleText(r), /participating \*\*Canadian\*\* banks and credit unions/);
  });

  it('"cancel" with nothing under way says so once, and the menu asks what to do, in both languages', async () => {
    const question = { en: 'What would you like to do?', fr: 'Que voulez-vous faire?' };
    for (const [locale, text, language] of [['en-CA', 'cancel', 'en'], ['fr-CA', 'annuler', 'fr']] as const) {
      const r = await bot.conversation({ locale }).say(text);
      assert.equal(visibleText(r).split(question[language]).length - 1, 1, visibleText(r));
      assert.match(visibleText(r), language === 'en' ? /nothing to cancel/ : /rien à annuler/);
    }
  });
});

describe('Guided onboarding on shared storage (Blob: every read is a round trip)', () => {
  it('reads the progress record at most three times in a step turn, and the step still advances', async () => {
    const memory = new MemoryStorage();
    const progressReads: string[] = [];
    const storage: Storage = {
      read: (keys) => {
        progressReads.push(...keys.filter((k) => k.startsWith('onboarding-progress/')));
        return memory.read(keys);
      },
      write: (changes) => memory.write(changes),
      delete: (keys) => memory.delete(keys)
    };
    const bot = await startAssistant({}, { storage });
    try {
      const c = bot.conversation();
      await c.say('start');
      await answerProfile(c, true, true, true);
      progressReads.length = 0;
      // The language, the answer's check, the step it records (read before its write) and the next step.
      const r = await c.click({ action: 'step', stepId: 'choose-business-account-manager', choice: 'done' });
      assert.equal(stepTitle(r), 'Choose how you will sign in');
      assert.ok(progressReads.length <= 3, `${progressReads.length} reads`);
      progressReads.length = 0;
      await c.say('what is a CAD?');
      assert.equal(progressReads.length, 1);
    } finally {
      await bot.cleanup();
    }
  });
});
