import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { PROJECT_ROOT } from '../src/assistant.js';
import { loadContent, type AssistantContent } from '../src/content/loadContent.js';
import { createLogger } from '../src/logger.js';
import { CluRecognizer, type CluSettings } from '../src/recognizers/cluRecognizer.js';
import { buildCluProject, CluExportError } from '../src/recognizers/cluProject.js';
import { LocalRecognizer } from '../src/recognizers/localRecognizer.js';
import type { Recognition, UtteranceRecognizer } from '../src/recognizers/recognition.js';
import { CommandIntentName, type Language } from '../src/content/schema.js';
import { CluStandIn, type AnalyzeConversationBody, type CluWireIntent } from './support/cluStandIn.js';
import { startAssistant, type RunningAssistant } from './support/testAssistant.js';
import { buttons, visibleText, type ChannelActivity } from './support/standInChannel.js';

const run = promisify(execFile);

const KEY = 'stand-in-key-5c1e';
const PROJECT = 'carm-assistant';
const DEPLOYMENT = 'production';

/**
 * The documented CLU import-project format (Conversation project), written from the data-formats page,
 * independently of the exporter. Intent names: at most 50 characters; letters, digits and any symbol
 * except : $ & % * ( ) + ~ # / ? (service-limits page); we also refuse whitespace.
 */
const intentName = z
  .string()
  .min(1)
  .max(50)
  .refine((n) => !/[:$&%*()+~#/?\s]/.test(n), 'CLU intent names may not contain : $ & % * ( ) + ~ # / ? or spaces');
const cluLanguage = z.enum(['en-us', 'fr']);
const CluImportFile = z
  .object({
    projectFileVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/),
    stringIndexType: z.enum(['Utf16CodeUnit', 'Utf8CodeUnit', 'TextElement_V8']),
    metadata: z
      .object({
        projectKind: z.literal('Conversation'),
        projectName: z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/),
        multilingual: z.literal(true),
        description: z.string().optional(),
        language: cluLanguage,
        settings: z.object({ confidenceThreshold: z.number().min(0).max(1) }).strict()
      })
      .strict(),
    assets: z
      .object({
        projectKind: z.literal('Conversation'),
        intents: z.array(z.object({ category: intentName }).strict()).min(1).max(500),
        entities: z.array(z.never()),
        utterances: z
          .array(
            z
              .object({
                text: z.string().min(1).max(500),
                intent: intentName,
                language: cluLanguage,
                dataset: z.enum(['Train', 'Test'])
              })
              .strict()
          )
          .min(1)
          .max(25000)
      })
      .strict()
  })
  .strict();

/** A fallback that says who answered, and counts its calls. */
class RecordingFallback implements UtteranceRecognizer {
  calls: Array<{ text: string; language: Language }> = [];
  async recognize(text: string, language: Language): Promise<Recognition> {
    this.calls.push({ text, language });
    return { decision: 'answer', candidates: [{ kind: 'entry', id: 'from-local', score: 1 }], source: 'local' };
  }
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}
const parseLogs = (lines: string[]): LogLine[] => lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l));
const cluFailures = (lines: string[]) => parseLogs(lines).filter((l) => l.msg === 'CLU failed; this turn uses the local recognizer');

/** Entry ids of the answer cards in a set of replies (read from their feedback buttons). */
const answeredEntries = (replies: ChannelActivity[]) => [
  ...new Set(buttons(replies).flatMap((b) => (b.data?.action === 'feedback' ? [b.data.entryId as string] : [])))
];

describe('CLU', function () {
  let content: AssistantContent;
  let standIn: CluStandIn;
  /** Scripted predictions for exact texts; anything else is None. */
  let table: Map<string, CluWireIntent[]>;
  const script = (text: string) => table.get(text) ?? [{ category: 'None', confidenceScore: 0.97 }];

  before(async () => {
    content = await loadContent(join(PROJECT_ROOT, 'content'));
    standIn = await CluStandIn.start({ key: KEY, project: PROJECT, deployment: DEPLOYMENT, script });
  });
  beforeEach(() => {
    table = new Map();
    standIn.reset();
  });
  after(async () => {
    await standIn.close();
  });

  describe('project export (npm run clu:export)', () => {
    it('matches the documented import format, with an intent per entry and command and None', () => {
      const file = CluImportFile.parse(buildCluProject(content, { projectName: PROJECT }));
      const intents = file.assets.intents.map((i) => i.category);
      const expected = [...content.knowledge.map((e) => e.id), ...CommandIntentName.options.map((c) => `command.${c}`), 'None'];
      assert.deepEqual([...intents].sort(), [...expected].sort());
      assert.equal(new Set(intents).size, intents.length, 'no intent twice');

      const declared = new Set(intents);
      const seen = new Set<string>();
      for (const u of file.assets.utterances) {
        assert.ok(declared.has(u.intent), `utterance for undeclared intent ${u.intent}`);
        const key = `${u.language}|${u.text.toLowerCase()}`;
        assert.ok(!seen.has(key), `duplicate utterance ${key}`);
        seen.add(key);
      }
      // Every intent is trained in both languages, with at least what the content schema demands.
      for (const intent of intents) {
        const en = file.assets.utterances.filter((u) => u.intent === intent && u.language === 'en-us').length;
        const fr = file.assets.utterances.filter((u) => u.intent === intent && u.language === 'fr').length;
        assert.ok(en >= 5 && fr >= 4, `${intent}: ${en} English and ${fr} French utterances`);
      }
      // Every phrasing in content is in the file, under its own intent.
      const byText = new Map(file.assets.utterances.map((u) => [`${u.language}|${u.text}`, u.intent]));
      for (const e of content.knowledge) {
        for (const q of e.en.questions) assert.equal(byText.get(`en-us|${q.replace(/\s+/g, ' ').trim()}`), e.id, q);
        for (const q of e.fr.questions) assert.equal(byText.get(`fr|${q.replace(/\s+/g, ' ').trim()}`), e.id, q);
      }
      for (const q of content.outOfScope.fr) assert.equal(byText.get(`fr|${q.replace(/\s+/g, ' ').trim()}`), 'None', q);
      for (const [name, words] of Object.entries(content.commandWords)) {
        for (const w of words.en) assert.equal(byText.get(`en-us|${w}`), `command.${name}`, w);
      }
      assert.equal(file.metadata.settings.confidenceThreshold, 0, 'the bot applies its own thresholds');
    });

    it('refuses names CLU would refuse and a phrasing taught as two intents', () => {
      const longId = `${'a'.repeat(30)}-${'b'.repeat(20)}`; // 51 characters: valid for us, too long for CLU
      const withLongId = { ...content, knowledge: [{ ...content.knowledge[0]!, id: longId }, ...content.knowledge.slice(1)] };
      assert.throws(() => buildCluProject(withLongId, { projectName: PROJECT }), (e: Error) => e instanceof CluExportError && e.message.includes(longId));

      const [a, b] = content.knowledge;
      const shared = { ...b!, en: { ...b!.en, questions: [...b!.en.questions, a!.en.questions[0]!] } };
      const conflicting = { ...content, knowledge: [a!, shared, ...content.knowledge.slice(2)] };
      assert.throws(
        () => buildCluProject(conflicting, { projectName: PROJECT }),
        (e: Error) => e instanceof CluExportError && e.message.includes(a!.id) && e.message.includes(b!.id)
      );
      assert.throws(() => buildCluProject(content, { projectName: 'carm assistant' }), CluExportError);
    });

    it('the script writes the file and prints a one-line summary', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'carm-clu-'));
      try {
        const out = join(dir, 'nested', 'project.json');
        const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'dist/scripts/cluExport.js'), out, '--project', 'carm-test'], {
          cwd: dir,
          env: { ...process.env, CLU_PROJECT: '' }
        });
        const file = CluImportFile.parse(JSON.parse(await readFile(out, 'utf8')));
        assert.equal(file.metadata.projectName, 'carm-test');
        const en = file.assets.utterances.filter((u) => u.language === 'en-us').length;
        const fr = file.assets.utterances.filter((u) => u.language === 'fr').length;
        assert.equal(stdout.trim().split('\n').length, 1);
        assert.match(stdout, new RegExp(`${file.assets.intents.length} intents .*${en + fr} utterances \\(en-us ${en}, fr ${fr}\\)`));

        const bad = await run(process.execPath, [join(PROJECT_ROOT, 'dist/scripts/cluExport.js'), out, '--project', 'has space'], { cwd: dir }).then(
          () => assert.fail('a bad project name must fail'),
          (e: { code: number; stderr: string }) => e
        );
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /project name "has space"/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('every exported intent, predicted by CLU, comes back as the entry or command it was made from', async () => {
      const file = buildCluProject(content, { projectName: PROJECT });
      const { recognizer, fallback } = cluRecognizer();
      for (const { category } of file.assets.intents) {
        table.set(`ask ${category}`, [
          { category, confidenceScore: 0.93 },
          { category: category === 'None' ? 'help' : 'None', confidenceScore: 0.02 }
        ]);
        const r = await recognizer.recognize(`ask ${category}`, 'en');
        if (category === 'None') {
          assert.equal(r.decision, 'none');
          continue;
        }
        const top = r.candidates[0];
        assert.equal(r.decision, 'answer', category);
        assert.equal(category.startsWith('command.') ? `command.${top?.id}` : top?.id, category);
        assert.equal(top?.kind, category.startsWith('command.') ? 'command' : 'entry');
      }
      assert.equal(fallback.calls.length, 0);
    });
  });

  function cluRecognizer(overrides: Partial<CluSettings> = {}) {
    const logs: string[] = [];
    const logger = createLogger('info', { write: (l: string) => logs.push(l) });
    const fallback = new RecordingFallback();
    const settings: CluSettings = {
      endpoint: standIn.endpoint,
      key: KEY,
      project: PROJECT,
      deployment: DEPLOYMENT,
      timeoutMs: 300,
      allowInsecureConnection: true,
      ...overrides
    };
    const recognizer = new CluRecognizer(settings, fallback, content.lexicon, new Set(content.knowledge.map((e) => e.id)), logger, content.commandWords);
    return { recognizer, fallback, logs };
  }

  describe('CluRecognizer against the stand-in', () => {
    it('sends the request CLU expects and reads its scores (wire confidenceScore) into candidates', async () => {
      const [a, b] = content.knowledge;
      table.set('how much security do I need', [
        { category: 'None', confidenceScore: 0.03 },
        { category: a!.id, confidenceScore: 0.91 },
        { category: b!.id, confidenceScore: 0.06 }
      ]);
      const { recognizer, fallback } = cluRecognizer();
      const r = await recognizer.recognize('how much security do I need', 'en');
      assert.equal(r.source, 'clu');
      assert.equal(r.decision, 'answer');
      assert.deepEqual(r.candidates.slice(0, 2), [
        { kind: 'entry', id: a!.id, score: 0.91 },
        { kind: 'entry', id: b!.id, score: 0.06 }
      ]);
      assert.equal(fallback.calls.length, 0);

      const req = standIn.requests.at(-1)!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/language/:analyze-conversations?api-version=2022-05-15-preview');
      assert.equal(req.headers['ocp-apim-subscription-key'], KEY);
      const body = req.body as AnalyzeConversationBody;
      assert.equal(body.kind, 'Conversation');
      assert.deepEqual(body.parameters, { projectName: PROJECT, deploymentName: DEPLOYMENT, stringIndexType: 'Utf16CodeUnit' });
      assert.equal(body.analysisInput.conversationItem.text, 'how much security do I need');
      assert.equal(body.analysisInput.conversationItem.language, 'en-us');

      await recognizer.recognize('combien de garantie', 'fr');
      assert.equal((standIn.requests.at(-1)!.body as AnalyzeConversationBody).analysisInput.conversationItem.language, 'fr');
    });

    it('maps command intents, and ignores intents this code does not know', async () => {
      table.set('how far along am I overall', [
        { category: 'command.launch_rockets', confidenceScore: 0.95 },
        { category: 'retired-entry', confidenceScore: 0.9 },
        { category: 'command.show_progress', confidenceScore: 0.88 },
        { category: 'None', confidenceScore: 0.01 }
      ]);
      const { recognizer } = cluRecognizer();
      const r = await recognizer.recognize('how far along am I overall', 'en');
      assert.equal(r.decision, 'answer');
      assert.deepEqual(r.candidates, [{ kind: 'command', id: 'show_progress', score: 0.88 }]);
    });

    it('decides answer / clarify / none from CLU scores, and honours None and the project threshold', async () => {
      const [a, b] = content.knowledge;
      table.set('close call', [
        { category: a!.id, confidenceScore: 0.74 },
        { category: b!.id, confidenceScore: 0.7 }
      ]);
      table.set('weak', [
        { category: a!.id, confidenceScore: 0.3 },
        { category: 'None', confidenceScore: 0.2 }
      ]);
      table.set('none wins', [
        { category: 'None', confidenceScore: 0.8 },
        { category: a!.id, confidenceScore: 0.75 }
      ]);
      table.set('under threshold', [
        { category: a!.id, confidenceScore: 0.78 },
        { category: 'None', confidenceScore: 0.1 }
      ]);
      const { recognizer } = cluRecognizer();
      assert.equal((await recognizer.recognize('close call', 'en')).decision, 'clarify');
      assert.equal((await recognizer.recognize('weak', 'en')).decision, 'none');
      const none = await recognizer.recognize('none wins', 'en');
      assert.equal(none.decision, 'none');
      assert.equal(none.candidates[0]?.id, a!.id, 'the other intents remain as suggestions');
      assert.equal((await recognizer.recognize('under threshold', 'en')).decision, 'answer');
      standIn.confidenceThreshold = 0.8; // raised in Language Studio: CLU's topIntent becomes None
      assert.equal((await recognizer.recognize('under threshold', 'en')).decision, 'none');
    });

    it('takes a command word the interface advertises as that command, without asking CLU', async () => {
      const { recognizer } = cluRecognizer();
      const [name, words] = Object.entries(content.commandWords).find(([, w]) => w.en.length > 0)!;
      const word = words.en[0]!;
      const asked = standIn.requests.length;
      for (const typed of [word, word.toUpperCase(), `  ${word}!`]) {
        const r = await recognizer.recognize(typed, 'en');
        assert.equal(r.decision, 'answer', typed);
        assert.deepEqual(r.candidates, [{ kind: 'command', id: name, score: 1 }]);
      }
      assert.equal(standIn.requests.length, asked);
      await recognizer.recognize(`${word} the weather in paris`, 'en');
      assert.equal(standIn.requests.length, asked + 1, 'a longer message goes to CLU');
    });

    it('sends at most CLU’s 1000 characters, without splitting a surrogate pair', async () => {
      const { recognizer, fallback } = cluRecognizer();
      const long = `${'a'.repeat(999)}😀 and more`;
      await recognizer.recognize(long, 'en');
      const sent = standIn.texts.at(-1)!;
      assert.equal(sent, 'a'.repeat(999));
      assert.equal(fallback.calls.length, 0, 'CLU accepted it');
    });

    const failures: Array<{ name: string; status?: number; arrange: () => Partial<CluSettings> | void }> = [
      { name: 'a 500', status: 500, arrange: () => void (standIn.failure = { kind: 'status', status: 500 }) },
      { name: 'a 503', status: 503, arrange: () => void (standIn.failure = { kind: 'status', status: 503 }) },
      { name: 'a 429 (quota)', status: 429, arrange: () => void (standIn.failure = { kind: 'status', status: 429 }) },
      { name: 'a wrong key (401)', status: 401, arrange: () => void (standIn.key = 'rotated-in-azure') },
      { name: 'an unknown project (404)', status: 404, arrange: () => ({ project: 'not-this-one' }) },
      { name: 'an unknown deployment (404)', status: 404, arrange: () => ({ deployment: 'staging' }) },
      { name: 'a 200 without a conversation prediction', arrange: () => void (standIn.failure = { kind: 'malformed' }) },
      { name: 'a 200 that is not JSON', arrange: () => void (standIn.failure = { kind: 'notJson' }) },
      { name: 'a dropped connection', arrange: () => void (standIn.failure = { kind: 'reset' }) },
      { name: 'intents without scores', arrange: () => void table.set('q', [{ category: 'help', confidenceScore: Number.NaN }]) }
    ];
    for (const f of failures) {
      it(`falls back to the local recognizer on ${f.name}, and logs it without the key`, async () => {
        const { recognizer, fallback, logs } = cluRecognizer(f.arrange() ?? {});
        const before = standIn.requests.length;
        const r = await recognizer.recognize('q', 'fr');
        assert.equal(standIn.requests.length, before + 1, 'CLU was called once, not retried');
        assert.equal(r.source, 'local');
        assert.deepEqual(fallback.calls, [{ text: 'q', language: 'fr' }]);
        const [line, ...more] = cluFailures(logs);
        assert.ok(line && more.length === 0, `one warning: ${logs.join('')}`);
        assert.equal(line.level, 40);
        assert.equal(line.statusCode, f.status);
        assert.equal(line.timedOut, false);
        assert.ok(!logs.join('').includes(KEY));
      });
    }

    it('falls back when the endpoint does not answer at all', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const { recognizer, fallback, logs } = cluRecognizer({ endpoint: `http://127.0.0.1:${port}` });
      assert.equal((await recognizer.recognize('q', 'en')).source, 'local');
      assert.equal(fallback.calls.length, 1);
      assert.match(String(cluFailures(logs)[0]?.err), /ECONNREFUSED/);
    });

    it('gives up after the timeout instead of waiting for a slow CLU', async () => {
      standIn.latencyMs = 5000;
      table.set('q', [{ category: content.knowledge[0]!.id, confidenceScore: 0.99 }]);
      const { recognizer, fallback, logs } = cluRecognizer({ timeoutMs: 300 });
      const started = Date.now();
      const r = await recognizer.recognize('q', 'en');
      const elapsed = Date.now() - started;
      assert.equal(r.source, 'local');
      assert.equal(fallback.calls.length, 1);
      assert.ok(elapsed >= 290 && elapsed < 1500, `took ${elapsed} ms`);
      const [line] = cluFailures(logs);
      assert.equal(line?.timedOut, true);
      assert.ok((line?.elapsedMs as number) < 1500);

      standIn.latencyMs = 100; // under the timeout: CLU answers
      assert.equal((await recognizer.recognize('q', 'en')).source, 'clu');
    });
  });

  describe('the assistant with CLU, through the stand-in channel', () => {
    let bot: RunningAssistant;
    let local: LocalRecognizer;
    /** A question the local recognizer answers by itself, and its entry. */
    let known: { text: string; id: string };

    before(async () => {
      bot = await startAssistant({
        CLU_ENDPOINT: standIn.endpoint,
        CLU_KEY: KEY,
        CLU_PROJECT: PROJECT,
        CLU_DEPLOYMENT: DEPLOYMENT,
        CLU_TIMEOUT_MS: '300',
        CLU_ALLOW_INSECURE: 'true'
      });
      local = LocalRecognizer.fromContent(content);
      const found = content.knowledge
        .flatMap((e) => e.en.questions.map((text) => ({ text, id: e.id })))
        .find((q) => {
          const r = local.recognizeSync(q.text);
          return r.decision === 'answer' && r.candidates[0]?.kind === 'entry' && r.candidates[0].id === q.id;
        });
      assert.ok(found, 'the local recognizer answers at least one of its own training questions');
      known = found;
    });
    after(async () => {
      await bot?.cleanup();
    });

    it('says at start that CLU is on', () => {
      assert.ok(parseLogs(bot.logs).some((l) => l.msg === 'using Azure CLU with the local recognizer as fallback'));
    });

    it('answers with the card of the entry CLU classified, even where the local recognizer would not', async () => {
      const text = 'that thing with the money they hold against my imports';
      const byLocal = local.recognizeSync(text);
      const target = content.knowledge.find((e) => !(byLocal.decision === 'answer' && byLocal.candidates[0]?.id === e.id))!;
      table.set(text, [
        { category: target.id, confidenceScore: 0.94 },
        { category: 'None', confidenceScore: 0.03 }
      ]);
      const replies = await bot.conversation().say(text);
      assert.deepEqual(answeredEntries(replies), [target.id]);
      assert.match(visibleText(replies), new RegExp(escape(target.en.title)));
      assert.equal(standIn.texts.at(-1), text);
    });

    it('runs the command CLU recognizes (command.show_progress shows the progress card)', async () => {
      const text = 'where do things stand for me';
      table.set(text, [
        { category: 'command.show_progress', confidenceScore: 0.9 },
        { category: 'None', confidenceScore: 0.05 }
      ]);
      const replies = await bot.conversation().say(text);
      assert.match(visibleText(replies), new RegExp(escape(content.text.t('en', 'progress.title'))));
      assert.deepEqual(answeredEntries(replies), []);
    });

    it('takes an advertised command word without a CLU call', async () => {
      const word = content.commandWords.show_progress?.en[0];
      assert.ok(word);
      const asked = standIn.requests.length;
      const replies = await bot.conversation().say(word);
      assert.match(visibleText(replies), new RegExp(escape(content.text.t('en', 'progress.title'))));
      assert.equal(standIn.requests.length, asked);
    });

    it('gives the honest fallback when CLU says None, even for a question the local recognizer knows', async () => {
      table.set(known.text, [
        { category: 'None', confidenceScore: 0.91 },
        { category: known.id, confidenceScore: 0.05 }
      ]);
      const replies = await bot.conversation().say(known.text);
      assert.deepEqual(answeredEntries(replies), []);
      assert.match(visibleText(replies), /I'm not sure I understood/);
      assert.match(visibleText(replies), new RegExp(escape(content.text.t('en', 'fallback.expertButton'))));
    });

    const failures: Array<{ name: string; arrange: () => void; check: (line: LogLine) => void }> = [
      { name: 'CLU fails (500)', arrange: () => (standIn.failure = { kind: 'status', status: 500 }), check: (l) => assert.equal(l.statusCode, 500) },
      { name: 'the key is wrong (401)', arrange: () => (standIn.key = 'regenerated-key'), check: (l) => assert.equal(l.statusCode, 401) },
      { name: 'CLU is slower than CLU_TIMEOUT_MS', arrange: () => (standIn.latencyMs = 5000), check: (l) => assert.equal(l.timedOut, true) }
    ];
    for (const f of failures) {
      it(`when ${f.name}, that turn is answered by the local recognizer, right, and the failure is logged`, async () => {
        // CLU would have said None: a right answer can only come from the local recognizer.
        table.set(known.text, [{ category: 'None', confidenceScore: 0.99 }]);
        f.arrange();
        const logged = cluFailures(bot.logs).length;
        const asked = standIn.requests.length;
        const started = Date.now();
        const replies = await bot.conversation().say(known.text);
        assert.ok(Date.now() - started < 3000, 'the turn did not wait for CLU');
        assert.equal(standIn.requests.length, asked + 1, 'CLU was asked');
        assert.deepEqual(answeredEntries(replies), [known.id]);
        const lines = cluFailures(bot.logs).slice(logged);
        assert.equal(lines.length, 1);
        f.check(lines[0]!);
        assert.ok(!bot.logs.join('').includes(KEY), 'the key is never logged');

        standIn.reset(); // the next turn goes through CLU again
        table.set(known.text, [{ category: 'None', confidenceScore: 0.99 }]);
        assert.deepEqual(answeredEntries(await bot.conversation().say(known.text)), []);
      });
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
