import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAdapter, TurnContext, type Activity, type Attachment } from 'botbuilder';
import { PROJECT_ROOT } from '../src/assistant.js';
import { loadContent, type AssistantContent } from '../src/content/loadContent.js';
import { StepValueKind, type Language, type OnboardingStepDefinition } from '../src/content/schema.js';
import { OnboardingPlan, type PlannedStep } from '../src/onboarding/onboardingPlan.js';
import { newOnboardingProgress, type OnboardingProgress } from '../src/onboarding/onboardingProgress.js';
import { InsightsLog } from '../src/insights/insightsLog.js';
import { answerCard } from '../cards/answerCard.js';
import { stepCard } from '../cards/stepCard.js';
import { progressCard } from '../cards/progressCard.js';
import { choicesCard } from '../cards/choicesCard.js';
import { button } from '../cards/renderCard.js';
import { KnowledgeResponder } from '../dialogs/knowledgeResponder.js';
import { setTurnInfo } from '../dialogs/turnContext.js';
import { cardAttachments, parserProblems, teamsCardProblems, TEAMS_MAX_MESSAGE_BYTES } from './support/teamsCards.js';

const LANGUAGES: Language[] = ['en', 'fr'];
type Json = Record<string, any>;

function assertValid(attachment: Attachment, label: string): void {
  const problems = teamsCardProblems(attachment as Json);
  assert.deepEqual(problems, [], `${label}:\n  ${problems.join('\n  ')}`);
}

function find(node: unknown, predicate: (o: Json) => boolean, found: Json[] = []): Json[] {
  if (Array.isArray(node)) node.forEach((n) => find(n, predicate, found));
  else if (node && typeof node === 'object') {
    if (predicate(node as Json)) found.push(node as Json);
    Object.values(node).forEach((v) => find(v, predicate, found));
  }
  return found;
}

describe('Adaptive Cards: valid Adaptive Card 1.5 for Teams, with real content', () => {
  let content: AssistantContent;
  let plan: OnboardingPlan;

  before(async () => {
    content = await loadContent(join(PROJECT_ROOT, 'content'));
    plan = new OnboardingPlan(content.plan);
  });

  describe('the validator itself', () => {
    it('accepts a plain valid card and reports each kind of problem in a bad one', () => {
      const good = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', fallbackText: 'x', body: [{ type: 'TextBlock', text: 'Hi' }] } };
      assert.deepEqual(teamsCardProblems(good), []);
      const submit = (title: string) => ({ type: 'Action.Submit', title, data: { action: 'command', command: 'menu', msteams: { type: 'messageBack', displayText: title, value: { action: 'command', command: 'menu' } } } });
      const bad = {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          type: 'AdaptiveCard',
          version: '1.6',
          fallbackText: 'x',
          body: [
            { type: 'TextBlock', text: 'Hello ${name}' },
            { type: 'Bogus' },
            { type: 'Input.Text', id: 'v' },
            { type: 'ColumnSet', columns: [{ type: 'Column', width: '40%', items: [] }] }
          ],
          actions: [
            { type: 'Action.Submit', title: 'String data', data: 'menu' },
            { type: 'Action.Submit', title: 'No messageBack', data: { action: 'command', command: 'menu' } },
            { type: 'Action.Submit', title: 'Unknown', data: { action: 'dance', msteams: { type: 'messageBack', displayText: 'Unknown', value: { action: 'dance' } } } },
            { type: 'Action.OpenUrl', title: 'Plain http', url: 'http://example.com/' },
            submit('Five'),
            submit('Six'),
            submit('Seven')
          ]
        }
      };
      const problems = teamsCardProblems(bad).join('\n');
      for (const expected of [
        /version is 1\.6/,
        /unresolved template expression "Hello \$\{name\}"/,
        /Unknown element type "Bogus"/,
        /input without a label/,
        /Column width "40%"/,
        /data must be an object/,
        /no msteams messageBack/,
        /not an action the bot reads/,
        /not https/,
        /7 top-level actions/
      ]) {
        assert.match(problems, expected);
      }
      const big = structuredClone(good);
      big.content.body.push({ type: 'TextBlock', text: 'x'.repeat(TEAMS_MAX_MESSAGE_BYTES) });
      assert.match(teamsCardProblems(big).join('\n'), /over Teams' 28672/);
    });

    it('checks versions against 1.5 with the adaptivecards parser (a 1.6-only property is reported)', () => {
      const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'Input.Text', id: 'a', label: 'A', labelPosition: 'inline' }] };
      assert.match(parserProblems(card).join('\n'), /labelPosition/);
      assert.deepEqual(parserProblems({ ...card, body: [{ type: 'Input.Text', id: 'a', label: 'A', style: 'password' }] }), []);
    });
  });

  it('answer cards: every knowledge entry in both languages, full and compact', () => {
    const byId = new Map(content.knowledge.map((e) => [e.id, e]));
    let checked = 0;
    let largest = 0;
    for (const entry of content.knowledge) {
      for (const language of LANGUAGES) {
        const related = entry.related.map((id) => byId.get(id)!);
        for (const [label, rel] of [['full', related], ['compact', []]] as const) {
          const attachment = answerCard(entry, [...rel], language, content.text);
          assertValid(attachment, `answer ${entry.id} (${language}, ${label})`);
          const card = attachment.content as Json;
          const openUrls = find(card, (o) => o.type === 'Action.OpenUrl');
          assert.equal(openUrls[0]?.url, entry.sources[0]!.url[language], `${entry.id}: the source button opens the official page`);
          const relatedButtons = find(card.body, (o) => o.type === 'Action.Submit');
          assert.equal(relatedButtons.length, rel.length, `${entry.id}: one button per related question`);
          largest = Math.max(largest, Buffer.byteLength(JSON.stringify(attachment)));
          checked++;
        }
      }
    }
    assert.equal(checked, content.knowledge.length * 4);
    assert.ok(content.knowledge.length >= 50, `expected the full knowledge base, got ${content.knowledge.length} entries`);
    assert.ok(largest < TEAMS_MAX_MESSAGE_BYTES);
  });

  describe('step cards', () => {
    const planned = (step: OnboardingStepDefinition): PlannedStep => {
      const phaseIndex = plan.phases.findIndex((p) => p.steps.includes(step));
      const all = plan.phases.flatMap((p) => p.steps);
      return { phase: plan.phases[phaseIndex]!, phaseNumber: phaseIndex + 1, step, number: all.indexOf(step) + 1 };
    };
    const allNotes = (step: OnboardingStepDefinition, language: Language) => step.notes.map((n) => n.text[language]);

    it('every onboarding step in both languages, with and without notes, valid and with its four answers', () => {
      const steps = plan.phases.flatMap((p) => p.steps);
      const total = steps.length;
      let checked = 0;
      for (const step of steps) {
        for (const language of LANGUAGES) {
          for (const notes of [[], allNotes(step, language)]) {
            const attachment = stepCard({ planned: planned(step), total, notes, language, text: content.text });
            assertValid(attachment, `step ${step.id} (${language}, ${notes.length} notes)`);
            const submits = find(attachment.content, (o) => o.type === 'Action.Submit');
            assert.deepEqual(
              submits.map((s) => s.data.msteams.value.choice),
              ['done', 'later', 'more', 'skip'],
              `${step.id}: Done, Later, More, Skip`
            );
            assert.ok(submits.every((s) => s.data.msteams.value.stepId === step.id));
            checked++;
          }
        }
      }
      assert.equal(checked, total * 4);
    });

    it('every collects kind renders its input (text, choice or none), in both languages', () => {
      const base = plan.phases[0]!.steps[0]!;
      const seen = new Set<string>();
      for (const kind of StepValueKind.options) {
        for (const language of LANGUAGES) {
          for (const currentValue of kind === 'signInOption' ? [undefined, 'gckey', 'sign-in-partner'] : [undefined]) {
            // The first step, made to collect this kind of value.
            const step = { ...base, collects: kind } as OnboardingStepDefinition;
            const variant = stepCard({ planned: { ...planned(base), step }, total: 12, notes: [], language, text: content.text, currentValue });
            assertValid(variant, `collects ${kind} (${language}, ${currentValue ?? 'no value'})`);
            const inputs = find(variant.content, (o) => typeof o.type === 'string' && o.type.startsWith('Input.'));
            const expected = { none: [], businessNumber: ['Input.Text'], programAccount: ['Input.Text'], signInOption: ['Input.ChoiceSet'] }[kind];
            assert.deepEqual(inputs.map((i) => i.type), expected, `collects ${kind}`);
            // Teams merges inputs into activity.value by id: the bot reads "value" as the step's value.
            assert.ok(inputs.every((i) => i.id === 'value'));
            if (kind === 'signInOption') {
              assert.deepEqual(inputs[0]!.choices.map((c: Json) => c.value), ['gckey', 'sign-in-partner', 'undecided']);
              assert.equal(inputs[0]!.value, currentValue ?? '');
            }
            seen.add(kind);
          }
        }
      }
      assert.deepEqual([...seen].sort(), [...StepValueKind.options].sort());
      // The plan itself uses every kind, so each of these inputs is one a user can really meet.
      assert.deepEqual([...new Set(plan.phases.flatMap((p) => p.steps.map((s) => s.collects)))].sort(), [...StepValueKind.options].sort());
    });
  });

  describe('progress cards', () => {
    const profiles = [
      undefined,
      { resident: true, usesBroker: true, hasRmAccount: true },
      { resident: false, usesBroker: false, hasRmAccount: false }
    ];
    const withSteps = (profile: OnboardingProgress['profile'], pick: (index: number) => 'done' | 'skipped' | 'later' | undefined) => {
      const progress = newOnboardingProgress();
      progress.profile = profile;
      plan.stepsFor(profile).forEach((p, i) => {
        const status = pick(i);
        if (status) progress.steps[p.step.id] = { status, at: progress.startedAt };
      });
      return progress;
    };
    const bar = (card: Json) => (card.body as Json[]).find((b) => b.type === 'ColumnSet' && b.columns.every((c: Json) => c.items.length === 0))!.columns as Json[];

    it('not started, 0%, partial and 100%, with and without a profile, in both languages', () => {
      let checked = 0;
      for (const language of LANGUAGES) {
        const notStarted = progressCard(plan, undefined, language, content.text);
        assertValid(notStarted, `progress not started (${language})`);
        for (const profile of profiles) {
          const cases = {
            zero: withSteps(profile, () => undefined),
            partial: withSteps(profile, (i) => (['done', 'skipped', 'later', undefined] as const)[i % 4]),
            complete: withSteps(profile, () => 'done')
          };
          for (const [name, progress] of Object.entries(cases)) {
            const summary = plan.summary(progress);
            const attachment = progressCard(plan, progress, language, content.text);
            const label = `progress ${name} (${language}, ${profile ? JSON.stringify(profile) : 'no profile'})`;
            assertValid(attachment, label);
            const card = attachment.content as Json;
            const columns = bar(card);
            assert.equal(columns.reduce((sum, c) => sum + c.width, 0), 100, `${label}: the bar adds up to 100`);
            assert.equal(columns.find((c) => c.style === 'good')?.width ?? 0, summary.percent, label);
            const choiceSet = find(card, (o) => o.type === 'Input.ChoiceSet')[0];
            const submits = find(card, (o) => o.type === 'Action.Submit');
            // Every step can be picked, finished ones too (marked), the next open one first.
            assert.equal(choiceSet.choices.length, summary.total, label);
            assert.equal(choiceSet.value, (summary.next ?? summary.open[0] ?? plan.stepsFor(profile)[0])!.step.id, label);
            if (name === 'complete') {
              assert.equal(summary.percent, 100);
              assert.ok(choiceSet.choices.every((c: Json) => c.title.startsWith('✔')), label);
              // Nothing left to continue to: a step can be opened to review it, and the first answers changed.
              assert.deepEqual(submits.map((s) => s.data.msteams.value.action), ['jump', ...(profile ? ['command'] : [])], `${label}: nothing left to continue to`);
            } else {
              const expected = ['command', 'jump', 'markDone', ...(profile ? ['command'] : [])];
              assert.deepEqual(submits.map((s) => s.data.msteams.value.action), expected);
            }
            assert.equal(find(card, (o) => o.type === 'TextBlock' && o.text.startsWith(content.text.t(language, 'progress.profile').split('{')[0]!)).length, profile ? 1 : 0);
            checked++;
          }
        }
      }
      assert.equal(checked, LANGUAGES.length * profiles.length * 3);
    });
  });

  describe('choices cards', () => {
    let dataDir: string;
    let responder: KnowledgeResponder;
    let insights: InsightsLog;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'carm-cards-'));
      insights = new InsightsLog(join(dataDir, 'insights.jsonl'));
      responder = new KnowledgeResponder(content.knowledge, content.text, insights);
    });
    after(async () => {
      await insights.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Runs the real responder in a turn and returns the cards it sent. */
    async function sent(language: Language, send: (context: TurnContext) => Promise<void>, compact = false): Promise<Json[]> {
      const activities: Partial<Activity>[] = [];
      const context = new TurnContext(new TestAdapter(), { type: 'message', channelId: 'msteams', conversation: { id: 'c' } as never, from: { id: 'u', name: 'User' }, text: 'x' });
      context.onSendActivities(async (_c, batch, next) => {
        activities.push(...batch);
        return next();
      });
      setTurnInfo(context, { user: { channelId: 'msteams', userId: 'u' }, language, languageChosen: true, input: { text: 'x' }, compact });
      await send(context);
      return cardAttachments(activities as Json[]);
    }

    it('menus, yes/no questions and notes in both languages', () => {
      for (const language of LANGUAGES) {
        const t = (k: string) => content.text.t(language, k);
        const menu = choicesCard({
          language,
          text: t('menu.prompt'),
          buttons: [
            button(t('menu.start'), { action: 'command', command: 'start_onboarding' }, 'positive'),
            button(t('menu.progress'), { action: 'command', command: 'show_progress' }),
            button(t('menu.expert'), { action: 'command', command: 'talk_to_expert' }),
            button(t('menu.switchLanguage'), { action: 'setLanguage', language: language === 'en' ? 'fr' : 'en' })
          ]
        });
        assertValid(menu, `menu (${language})`);
        for (const question of ['resident', 'broker', 'rm']) {
          for (const note of [undefined, t('profile.retry')]) {
            const card = choicesCard({
              language,
              text: t(`profile.${question}`),
              note,
              buttons: [
                button(t(`profile.${question}.yes`), { action: 'choose', question: `profile.${question}`, value: 'yes' }),
                button(t(`profile.${question}.no`), { action: 'choose', question: `profile.${question}`, value: 'no' })
              ]
            });
            assertValid(card, `profile ${question} (${language})`);
          }
        }
        assertValid(choicesCard({ language, title: t('popular.title'), buttons: [] }), `no buttons (${language})`);
      }
    });

    it('popular questions, "Did you mean…?" and fallbacks as the responder sends them', async () => {
      const entries = content.knowledge.slice(0, 3).map((e, i) => ({ kind: 'entry' as const, id: e.id, score: 0.5 - i / 10 }));
      const mixed = [...entries.slice(0, 2), { kind: 'command' as const, id: 'show_progress', score: 0.3 }];
      for (const language of LANGUAGES) {
        const cards = [
          ...(await sent(language, (c) => responder.sendPopular(c, language))),
          ...(await sent(language, (c) => responder.sendClarify(c, mixed, language, (name) => content.text.t(language, `command.${name}`)))),
          ...(await sent(language, (c) => responder.sendFallback(c, 'what about my cat', entries, language))),
          ...(await sent(language, (c) => responder.sendFallback(c, 'what about my cat', [], language)))
        ];
        assert.equal(cards.length, 4);
        cards.forEach((card, i) => assertValid(card as Attachment, `responder card ${i} (${language})`));
        const popularButtons = find(cards[0], (o) => o.type === 'Action.Submit');
        assert.ok(popularButtons.length >= 3 && popularButtons.length <= 6);
      }
    });

    it('an answer sent in a compact turn (group chat, channel) has no related-question buttons', async () => {
      const entry = content.knowledge.find((e) => e.related.length > 0)!;
      const [full] = await sent('en', (c) => responder.sendAnswer(c, entry.id, 'en', 'text').then(() => undefined));
      const [compact] = await sent('en', (c) => responder.sendAnswer(c, entry.id, 'en', 'text').then(() => undefined), true);
      assert.equal(find(full!.content.body, (o) => o.type === 'Action.Submit').length, entry.related.length);
      assert.equal(find(compact!.content.body, (o) => o.type === 'Action.Submit').length, 0);
      assertValid(compact as Attachment, 'compact answer');
      assert.ok(JSON.stringify(compact).length < JSON.stringify(full).length);
    });
  });
});
