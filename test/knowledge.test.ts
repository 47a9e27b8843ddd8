import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadContent, type AssistantContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/assistant.js';
import { LocalRecognizer } from '../src/recognizers/localRecognizer.js';
import { decide } from '../src/recognizers/recognition.js';
import { buildReport } from '../scripts/report.js';
import { InsightsLog, scrubQuestion } from '../src/insights/insightsLog.js';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { answerProfile, buttons, visibleText, button } from './support/standInChannel.js';

describe('Knowledge content', () => {
  let content: AssistantContent;
  before(async () => {
    content = await loadContent(join(PROJECT_ROOT, 'content'));
  });

  it('has at least 50 validated entries, each with official sources in both languages', () => {
    assert.ok(content.knowledge.length >= 50, `${content.knowledge.length} entries`);
    for (const e of content.knowledge) {
      assert.ok(e.en.questions.length >= 6 && e.fr.questions.length >= 4, e.id);
      for (const s of e.sources) {
        assert.match(s.url.en, /^https:\/\//);
        assert.notEqual(s.url.en, s.url.fr, `${e.id}: the French answer links a French page`);
        assert.doesNotMatch(s.url.fr, /-eng\.html|\/en\//, `${e.id}: French link`);
      }
      assert.ok(Date.parse(e.lastReviewed) <= Date.now(), `${e.id}: last reviewed in the future`);
    }
  });

  it('covers every topic of the seed document and of the facts sheet question groups', () => {
    const ids = new Set(content.knowledge.map((e) => e.id));
    const required = [
      // seed: why critical, Release 2, own bonds, register now (resident and non-resident)
      'what-is-carm', 'go-live-and-release-names', 'why-own-security', 'who-must-register', 'non-resident-registration',
      // seed pre-registration
      'business-account-manager', 'sign-in-options', 'get-business-number', 'rm-program-account', 'affinity-questions', 'registration-steps',
      // seed registration and post-registration
      'delegate-to-broker', 'profile-and-notifications', 'statement-of-account', 'employee-access', 'user-roles',
      // seed upcoming changes: CADs, corrections/adjustments, RPP surety, billing, appeals; expert help
      'upcoming-portal-changes', 'what-is-a-cad', 'correction-vs-adjustment', 'enrol-in-rpp', 'billing-cycle-and-due-date', 'appeals', 'get-expert-help',
      // facts sheet groups
      'register-if-using-broker', 'paper-power-of-attorney', 'security-amount', 'annual-security-review', 'payment-methods-and-limits',
      'refund-of-credit', 'adjust-pre-carm-b3', 'carm-help-desk', 'multi-factor-authentication', 'registration-error-codes'
    ];
    for (const id of required) assert.ok(ids.has(id), `missing entry ${id}`);
  });

  it('states current facts where sources disagree', () => {
    const answer = (id: string) => content.knowledge.find((e) => e.id === id)!.en.answer;
    assert.match(answer('security-amount'), /5,000/);
    assert.match(answer('payment-methods-and-limits'), /4,999\.99/);
    assert.match(answer('rpp-deadline'), /20 May 2025|May 20, 2025/);
    assert.match(answer('go-live-and-release-names'), /21 October 2024|October 21, 2024/);
    assert.match(answer('carm-help-desk'), /1-800-461-9999/);
  });

  it('refuses to load typed-answer phrases for a step or question the plan does not have', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carm-content-'));
    try {
      await cp(join(PROJECT_ROOT, 'content'), dir, { recursive: true });
      await appendFile(join(dir, 'answer-words.yaml'), '\nstep.register-busines.done:\n  en: [we are registered]\n  fr: [nous sommes inscrits]\n');
      await assert.rejects(loadContent(dir), /"step\.register-busines\.done" names no question or step/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to load phase names for a phase the plan does not have', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carm-content-'));
    try {
      await cp(join(PROJECT_ROOT, 'content'), dir, { recursive: true });
      await appendFile(join(dir, 'answer-words.yaml'), '\nphase.pre-registrations.name:\n  en: [prep]\n  fr: [prep]\n');
      await assert.rejects(loadContent(dir), /"phase\.pre-registrations\.name" names no phase/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never asks for a password or the affinity answers', () => {
    for (const e of content.knowledge) {
      for (const lang of ['en', 'fr'] as const) {
        assert.doesNotMatch(e[lang].answer, /(send|give|tell|type) (me|us) your (password|gckey|balance)/i, e.id);
      }
    }
  });
});

describe('Local recognizer', () => {
  it('has no phrasing that reads, once synonyms are merged, exactly like another topic\'s', async () => {
    // "what is a gce" (the glossary) read as "what is a bam", so "what is a BAM?" got the glossary.
    const content = await loadContent(join(PROJECT_ROOT, 'content'));
    const seen = new Map<string, { label: string; text: string }>();
    const clashes: string[] = [];
    for (const t of LocalRecognizer.trainingSet(content)) {
      const key = content.lexicon.canonicalTokens(t.text).join(' ');
      const first = seen.get(key);
      if (!first) seen.set(key, t);
      else if (first.label !== t.label) clashes.push(`"${first.text}" (${first.label}) / "${t.text}" (${t.label})`);
    }
    assert.deepEqual(clashes, []);
    const r = LocalRecognizer.fromContent(content);
    for (const text of ['what is a BAM?', "c'est quoi un GCE?"]) assert.equal(r.recognizeSync(text).candidates[0]?.id, 'business-account-manager', text);
  });

  it('answers, asks which one was meant, or falls back, by calibrated thresholds', () => {
    const t = { answer: 0.5, floor: 0.3, margin: 0.05 };
    assert.equal(decide([{ kind: 'entry', id: 'a', score: 0.8 }, { kind: 'entry', id: 'b', score: 0.4 }], t), 'answer');
    assert.equal(decide([{ kind: 'entry', id: 'a', score: 0.6 }, { kind: 'entry', id: 'b', score: 0.58 }], t), 'clarify');
    assert.equal(decide([{ kind: 'entry', id: 'a', score: 0.4 }], t), 'clarify');
    assert.equal(decide([{ kind: 'entry', id: 'a', score: 0.2 }], t), 'none');
    assert.equal(decide([], t), 'none');
  });

  it('answers what people typed in the eighth usability pass (trained on other wordings of them)', async () => {
    const r = LocalRecognizer.fromContent(await loadContent(join(PROJECT_ROOT, 'content')));
    const cases: Array<[string, string]> = [
      ['what happens if I forget my password?', 'entry:locked-out-or-expired'],
      ['ya tu une limite sur la carte', 'entry:payment-methods-and-limits'],
      ['how do my warehouse guys get access, they only need to look', 'entry:employee-access'],
      ['my courier already charges me the gst at the door, do i pay twice now?', 'entry:paid-cbsa-and-courier-bill'],
      ['ok whatever, how do i start', 'command:start_onboarding'],
      ['ok whats next after this', 'command:start_onboarding'],
      ['hey im back, where was I', 'command:show_progress']
    ];
    for (const [text, expected] of cases) {
      const got = r.recognizeSync(text);
      const top = got.candidates[0];
      assert.equal(got.decision, 'answer', text);
      assert.equal(`${top?.kind}:${top?.id}`, expected, text);
    }
  });

  it('understands typos, missing accents, abbreviations and both languages', async () => {
    const content = await loadContent(join(PROJECT_ROOT, 'content'));
    const r = LocalRecognizer.fromContent(content);
    const cases: Array<[string, string]> = [
      ['how do i give my custms brokr acess in the portl', 'delegate-to-broker'],
      ['whats the minimum bond amount per RM', 'security-amount'],
      ['comment donner acces a mon courtier dans le pcc', 'delegate-to-broker'],
      ['quand est-ce que le releve de compte sort', 'billing-cycle-and-due-date'],
      ['GCKey or sign in partner?', 'sign-in-options'],
      // The CRA's French abbreviation for the business number, told apart from the negation "ne".
      ["c'est quoi un NE?", 'bn9-rm-bn15-explained'],
      // Plurals of abbreviations (short words are not stemmed).
      ['when are CADs due', 'cad-deadlines'],
      ["what's the time limit to send in a CAD", 'cad-deadlines'],
      // "Appeler" (to call) stems like "appel" (appeal); who to call is the help desk.
      ['qui appeler si le portail est en panne', 'carm-help-desk'],
      // "Customs agent" / "agent en douane" is what many importers call their broker.
      ['our customs agent needs to be added to the portal, how', 'delegate-to-broker'],
      ['can our bookkeeper run the portal for us', 'employee-access'],
      // A closing "Can you help?" does not turn a question into the help command.
      ["Hello, I'm the controller at a food distributor. I can't figure out where to give our broker access. Can you help?", 'delegate-to-broker'],
      // Getting started means the guided checklist, not an answer about where to find experts.
      ['how do I get started with carm', 'start_onboarding'],
      ['menu', 'menu'],
      ['show my progress', 'show_progress'],
      ['Bye!', 'goodbye'],
      ['Ok thanks, bye', 'goodbye'],
      ['Bonne journée!', 'goodbye']
    ];
    for (const [text, expected] of cases) {
      const result = r.recognizeSync(text);
      assert.equal(result.candidates[0]?.id, expected, `${text} -> ${result.candidates[0]?.id}`);
      assert.notEqual(result.decision, 'none', text);
    }
    // French typed without apostrophes reads like French typed with them.
    for (const [bare, written] of [
      ['jai besoin daide pour minscrire', "j'ai besoin d'aide pour m'inscrire"],
      ['ou je trouve lavis quotidien', "où je trouve l'avis quotidien"],
      ['quest-ce quun GCE', "qu'est-ce qu'un GCE"]
    ] as const) {
      const [a, b] = [r.recognizeSync(bare), r.recognizeSync(written)];
      assert.deepEqual([a.decision, a.candidates[0]?.id], [b.decision, b.candidates[0]?.id], bare);
    }
    for (const text of ["what's the weather in toronto", 'recette de pâté chinois', 'how do I file an ISF with US CBP']) {
      assert.equal(r.recognizeSync(text).decision, 'none', text);
    }
  });
});

describe('Answering questions over HTTP', () => {
  let bot: RunningAssistant;
  before(async () => {
    bot = await startAssistant();
  });
  after(async () => {
    await bot.cleanup();
  });

  it('answers with an Adaptive Card: answer, official source button, review date, related and feedback buttons, plain-text fallback', async () => {
    const c = bot.conversation({ locale: 'en-US' });
    const r = await c.say('i use a customs brokr, do i still have to register in the ccp?');
    const card = r[0]!.attachments[0];
    assert.equal(card.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(card.content.version, '1.5');
    const text = visibleText(r);
    assert.match(text, /Do I need to register if I use a customs broker\?/);
    assert.match(text, /Last reviewed \d{4}-\d{2}-\d{2}/);
    const links = buttons(r).filter((b) => b.url);
    assert.ok(links.some((b) => /^https:\/\/www\.(cbsa-asfc\.gc\.ca|canada\.ca)\/.*eng/.test(b.url!)), 'an official English source link');
    assert.ok(buttons(r).some((b) => b.data?.action === 'answer'), 'related question buttons');
    assert.ok(buttons(r).some((b) => b.data?.action === 'feedback' && b.data.helpful === true));
    assert.match(card.content.fallbackText, /register/i);
    assert.match(card.content.fallbackText, /https:\/\//);
  });

  it('answers in French when the channel locale is French, with the French source page', async () => {
    const c = bot.conversation({ locale: 'fr-CA' });
    const r = await c.say('quel est le montant minimum du cautionnement');
    assert.match(visibleText(r), /Dernière révision/);
    assert.ok(buttons(r).some((b) => b.url && /-fra\.html|\/fr\//.test(b.url)));
  });

  it('keeps to the language a person writes in: a word said in both languages does not switch, a clear sentence does, and it sticks', async () => {
    const c = bot.conversation({ locale: 'fr-CA' });
    // "ok", "on" and "commence" are English words too.
    let r = await c.say('ok on commence');
    assert.match(visibleText(r), /Préparons votre entreprise/);
    await c.say('annuler');
    r = await c.say('Actually my colleague speaks English, how do I give my broker access?');
    assert.match(visibleText(r), /How do I give my customs broker authority/);
    // Short and in neither language: the conversation stays in the language last written.
    r = await c.say('ok cool');
    assert.match(visibleText(r), /Anything else about CARM/);
    r = await c.say('est-ce que je peux payer par carte de crédit?');
    assert.match(visibleText(r), /Dernière révision/);
    r = await c.say('merci');
    assert.match(visibleText(r), /Avec plaisir/);
  });

  it('answers in the language the user writes, and remembers an explicit choice', async () => {
    const c = bot.conversation({ locale: 'en-US' });
    let r = await c.say('quel est le montant minimum de la garantie financière à déposer');
    assert.match(visibleText(r), /Dernière révision/);
    r = await c.say('in french please');
    assert.match(visibleText(r), /je continue en français/);
    const later = bot.conversation({ locale: 'en-US', userId: c.userId });
    r = await later.say('what is a CAD?');
    assert.match(visibleText(r), /Dernière révision/, 'the choice is remembered for the user');
  });

  it('says it cannot act in the portal when asked to do something for the user, then how they do it', async () => {
    let r = await bot.conversation().say('Can you register my company in the portal for me?');
    assert.match(visibleText(r), /I can't sign in to the portal or act on your business's account/);
    assert.match(visibleText(r), /register/i);
    r = await bot.conversation({ locale: 'fr-CA' }).say('Pouvez-vous déposer notre cautionnement à notre place?');
    assert.match(visibleText(r), /Je ne peux pas me connecter au portail/);
    // "For us" in a question is not a request to act.
    r = await bot.conversation().say('is registering in the portal mandatory for us?');
    assert.doesNotMatch(visibleText(r), /I can't sign in/);
  });

  it('answers a topic wrapped in "I want to understand…"', async () => {
    const r = await bot.conversation().say('I want to understand the statement of account.');
    assert.match(visibleText(r), /What is the Statement of Account \(SOA\) and where do I see it\?/);
    assert.doesNotMatch(visibleText(r), /Did you mean|not sure I understood/, 'answered, not guessed');
  });

  it('does not offer a command as a guess for a longer message that only contains one of its words', async () => {
    for (const [locale, text] of [['fr-CA', 'Est-ce que le courtier peut continuer à payer pour nous?'], ['fr-CA', 'on a seulement une banque française, est-ce que ca marche?']] as const) {
      const r = await bot.conversation({ locale }).say(text);
      assert.ok(!buttons(r).some((b) => b.data?.action === 'command' && b.data.command !== 'talk_to_expert'), `${text}: ${buttons(r).map((b) => b.title).join(' | ')}`);
    }
  });

  it('answers one of two questions in a message and offers the other as a button', async () => {
    const r = await bot.conversation({ locale: 'fr-CA' }).say('comment déléguer à mon courtier et combien coûte la garantie?');
    assert.match(visibleText(r), /Comment déléguer des pouvoirs à mon courtier/);
    const cards = r.flatMap((a) => a.attachments ?? []).map((a) => JSON.stringify(a.content));
    const also = cards.find((c) => c.includes('Vous avez aussi demandé'));
    assert.ok(also, 'a "you also asked" card');
    assert.match(also, /"entryId":"security-amount"/);
    // Context around a question is not a second question ("He set himself up as BAM."), and neither is a
    // question read too weakly to be sure of ("Can I just add CBSA as a payee…?").
    for (const text of [
      'Our owner registered last month. He set himself up as BAM. Should I be a PAM or an Editor if all I do is pay and reconcile?',
      'Ok and we pay everything through RBC online banking. Can I just add CBSA as a payee like I do for the CRA? What account number do I put in?'
    ]) {
      const replies = await bot.conversation().say(text);
      assert.doesNotMatch(visibleText(replies), /You also asked/, text);
    }
  });

  it('meets frustration with sympathy and the way forward, and still answers a question asked with it', async () => {
    let r = await bot.conversation().say('this is too complicated');
    assert.match(visibleText(r), /Sorry, CARM is a lot to take in/);
    assert.doesNotMatch(visibleText(r), /not sure I understood|Did you mean/);
    assert.ok(buttons(r).some((b) => b.data?.command === 'start_onboarding'));
    assert.ok(buttons(r).some((b) => b.data?.command === 'talk_to_expert'));
    r = await bot.conversation().say('how do I give my broker access? this is so confusing');
    assert.match(visibleText(r), /Sorry, CARM is a lot/);
    assert.match(visibleText(r), /How do I give my customs broker authority/);
    r = await bot.conversation({ locale: 'fr-CA' }).say('je suis perdu, c\'est trop compliqué');
    assert.match(visibleText(r), /Désolé, la GCRA, c'est beaucoup/);
  });

  it('meets the ways people vent ("THIS PORTAL IS A NIGHTMARE", "cest trop long, jai pas le temps") with sympathy, also at a step', async () => {
    let r = await bot.conversation().say('THIS PORTAL IS A NIGHTMARE');
    assert.match(visibleText(r), /Sorry, CARM is a lot to take in/);
    const c = bot.conversation({ locale: 'fr-CA' });
    await c.say('commencer');
    await answerProfile((data) => c.click(data), { resident: true, broker: true, rm: true });
    r = await c.say('cest trop long votre affaire, jai pas le temps');
    assert.match(visibleText(r), /Désolé, la GCRA, c'est beaucoup/);
    assert.doesNotMatch(visibleText(r), /pas certain d'avoir compris/);
  });

  it('reads a short follow-up with the topic just answered, and leaves an off-topic one off-topic', async () => {
    const c = bot.conversation();
    // Read with the last topic it is that topic again: not the same card twice, but "not understood"
    // with that topic's neighbours, where the answer to "by when?" is.
    await c.say('what is a CAD?');
    let r = await c.say('by when?');
    assert.match(visibleText(r), /not sure I understood/);
    assert.ok(buttons(r).some((b) => b.data?.action === 'answer' && b.data.entryId === 'cad-deadlines'), buttons(r).map((b) => b.title).join(' | '));
    r = await c.say('tell me a joke');
    assert.match(visibleText(r), /not sure I understood/);
    // Another topic, even misspelt, is read on its own, not as more about the last one.
    await c.say('what is a gckey');
    r = await c.say('wat is soa');
    assert.ok(buttons(r).some((b) => b.data?.entryId === 'statement-of-account'), buttons(r).map((b) => b.title).join(' | '));
    assert.ok(!buttons(r).some((b) => b.data?.entryId === 'personal-gckey-not-shared'), buttons(r).map((b) => b.title).join(' | '));
    r = await c.say('who won the hockey game');
    assert.match(visibleText(r), /not sure I understood/);
  });

  it('shows every official page an answer cites as a button (what CARM is: the portal itself too)', async () => {
    const r = await bot.conversation().say('what is carm');
    const urls = buttons(r).map((b) => b.url).filter(Boolean);
    assert.ok(urls.some((u) => /start-passer-eng\.html/.test(u!)), urls.join(' '));
    assert.ok(urls.some((u) => /ccp-pcc\.cbsa-asfc\.cloud-nuage\.canada\.ca\/en\//.test(u!)), urls.join(' '));
  });

  it('says it is an automated assistant when asked, in both languages', async () => {
    let r = await bot.conversation().say('are you a robot?');
    assert.match(visibleText(r), /I'm an automated assistant, not a person/);
    r = await bot.conversation({ locale: 'fr-CA' }).say('est-ce que je parle à un robot?');
    assert.match(visibleText(r), /Je suis un assistant automatisé, pas une personne/);
    r = await bot.conversation({ locale: 'fr-CA' }).say("t'es un bot?");
    assert.match(visibleText(r), /Je suis un assistant automatisé/);
  });

  it('gives off-topic questions the honest fallback with the closest topics and a way to a human', async () => {
    const c = bot.conversation();
    const r = await c.say("what's the weather like in Montreal tomorrow?");
    const text = visibleText(r);
    assert.match(text, /I'm not sure I understood/);
    assert.match(text, /1-800-461-9999/);
    assert.ok(buttons(r).some((b) => b.data?.command === 'talk_to_expert'));
    assert.ok(!buttons(r).some((b) => b.data?.action === 'answer'), 'no random topics for an off-topic question');
    // Not understood, but about CARM ("bond"): the closest topics are offered (as "did you mean" or as
    // closest topics, depending on how close the nearest one is).
    const s = await bot.conversation().say('bond stuff confusing');
    assert.match(visibleText(s), /closest topics|Did you mean/);
    assert.ok(buttons(s).some((b) => b.data?.action === 'answer' && b.data.entryId === 'bond-or-cash-deposit'));
    // Vaguer still, yet the topic it names is offered, whether as "did you mean" or as a closest topic.
    const m = await bot.conversation().say('mfa not working');
    assert.ok(buttons(m).some((b) => b.data?.action === 'answer' && b.data.entryId === 'multi-factor-authentication'));
  });

  it('follows a related-question button and records feedback', async () => {
    const c = bot.conversation();
    const r = await c.say('how do i delegate authority to my broker');
    const related = buttons(r).find((b) => b.data?.action === 'answer')!;
    const r2 = await c.click(related.data!);
    assert.match(visibleText(r2), new RegExp(related.title.replace(/[?()]/g, '.')));
    const r3 = await c.click(button(r2, /Not helpful/));
    assert.match(visibleText(r3), /noted it/);
  });

  it('talk to an expert offers the broker (UPS) and the CBSA help desk', async () => {
    const c = bot.conversation();
    const r = await c.say('talk to an expert');
    const text = visibleText(r);
    assert.match(text, /broker/i);
    assert.match(text, /UPS/);
    assert.match(text, /1-800-461-9999/);
    // One answer card, not two stacked with two pairs of feedback buttons; the help desk is a button.
    assert.equal(buttons(r).filter((b) => b.data?.action === 'feedback').length, 2);
    assert.ok(buttons(r).some((b) => b.data?.action === 'answer' && b.data.entryId === 'carm-help-desk'));
  });

  it('keeps what the content team needs, without personal data, and `npm run report` summarises it', async () => {
    const c = bot.conversation();
    await c.say('my bn is 871000006 and email bob@example.com, how do I bake bread');
    await c.say('how do i appeal a decision');
    await (bot.assistant as unknown as { close(): Promise<void> }).close();
    const report = await buildReport(bot.dataDir);
    assert.ok(report.mostAsked.length > 0);
    assert.ok(report.leastHelpful.length >= 0);
    const unanswered = report.unanswered.map((u) => u.question).join('\n');
    assert.match(unanswered, /bake bread/);
    assert.doesNotMatch(unanswered, /871000006|bob@example\.com/);
    assert.equal(scrubQuestion('call me at 613-555-0199'), 'call me at [number]');
    assert.equal(scrubQuestion('is 123456782RM0001 right?'), 'is [number] right?');
    assert.equal(scrubQuestion('is 123 456 782 rm 0001 right?'), 'is [number] right?');
  });

  it('keeps every event, in order, when many arrive at once (they are written in batches)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carm-insights-'));
    try {
      const log = new InsightsLog(join(dir, 'sub', 'insights.jsonl'));
      for (let i = 0; i < 300; i++) log.record({ type: 'answered', entryId: `e${i}`, language: i % 2 ? 'fr' : 'en', via: 'text' });
      await log.flush();
      log.record({ type: 'feedback', entryId: 'last', helpful: true, language: 'en' });
      await log.flush();
      const events = await InsightsLog.readAll(join(dir, 'sub', 'insights.jsonl'));
      await log.close();
      log.record({ type: 'feedback', entryId: 'after-close', helpful: true, language: 'en' });
      await log.flush();
      assert.equal((await InsightsLog.readAll(join(dir, 'sub', 'insights.jsonl'))).length, 301);
      assert.equal(events.length, 301);
      assert.deepEqual(
        events.slice(0, 300).map((e) => (e as { entryId: string }).entryId),
        Array.from({ length: 300 }, (_, i) => `e${i}`)
      );
      assert.equal(events[300]!.type, 'feedback');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
