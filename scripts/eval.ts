/**
 * Measures the local recognizer on the held-out questions (eval/heldout.yaml), which are never used
 * for training or tuning: top-1 accuracy per language, off-topic rejection, and the confused pairs.
 * A question counts as right only when the user would see the right thing first: the expected entry
 * or command is the top candidate and the recognizer did not fall back.
 * Usage: node dist/scripts/eval.js [--json] [--list-errors] [--seeds 15-62] [--file probes.yaml --half blind|dev]
 *
 * --seeds: the figures also move with the order the classifier is trained in; judge a content change
 * on the spread and mean over several training seeds, not on the shipped seed alone.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadContent } from '../src/content/loadContent.js';
import { EvalFile } from '../src/content/schema.js';
import { LocalRecognizer, DEFAULT_LOCAL_SETTINGS } from '../src/recognizers/localRecognizer.js';
import { PROJECT_ROOT } from '../src/assistant.js';
import { pathToFileURL } from 'node:url';

export interface EvalReport {
  questions: number;
  inScope: Record<'en' | 'fr', { total: number; top1: number; answered: number; clarified: number; fellBack: number }>;
  outOfScope: { total: number; rejected: number };
  confusedPairs: Array<{ expected: string; got: string; count: number }>;
}

/** Which questions: a file under eval/ and, for the probe file, one half of it. */
export interface EvalSource {
  file?: string;
  /** The probe file's halves, by a hash of each question: "dev" (errors read) or "blind" (only scored). */
  half?: 'dev' | 'blind';
}

const halfOf = (text: string): 'dev' | 'blind' => (createHash('sha1').update(text).digest()[0]! % 2 === 0 ? 'dev' : 'blind');

/** `seed`: the classifier's training seed (the shipped one by default). */
export async function evaluate(seed?: number, source: EvalSource = {}): Promise<{ report: EvalReport; errors: string[] }> {
  const content = await loadContent(join(PROJECT_ROOT, 'content'));
  const whole = EvalFile.parse(parse(await readFile(join(PROJECT_ROOT, 'eval', source.file ?? 'heldout.yaml'), 'utf8')));
  const file = { questions: whole.questions.filter((q) => !source.half || halfOf(q.text) === source.half) };
  const settings = seed === undefined ? DEFAULT_LOCAL_SETTINGS : { ...DEFAULT_LOCAL_SETTINGS, classifierTraining: { ...DEFAULT_LOCAL_SETTINGS.classifierTraining, seed } };
  const recognizer = LocalRecognizer.fromContent(content, settings);
  const commandNames = new Set<string>(content.commands.intents.map((i) => i.name));
  const entryIds = new Set(content.knowledge.map((e) => e.id));
  const blank = () => ({ total: 0, top1: 0, answered: 0, clarified: 0, fellBack: 0 });
  const report: EvalReport = { questions: file.questions.length, inScope: { en: blank(), fr: blank() }, outOfScope: { total: 0, rejected: 0 }, confusedPairs: [] };
  const pairs = new Map<string, number>();
  const errors: string[] = [];
  for (const q of file.questions) {
    if (q.expected !== null && !entryIds.has(q.expected) && !commandNames.has(q.expected)) {
      throw new Error(`eval question "${q.text}" expects unknown label ${q.expected}`);
    }
    const r = recognizer.recognizeSync(q.text);
    const top = r.candidates[0];
    const got = r.decision === 'none' || !top ? null : top.id;
    if (q.expected === null) {
      report.outOfScope.total++;
      if (r.decision === 'none') report.outOfScope.rejected++;
      else errors.push(`[${q.lang}] off-topic answered as ${got} (${r.decision}): ${q.text}`);
      continue;
    }
    const bucket = report.inScope[q.lang];
    bucket.total++;
    if (got === q.expected) {
      bucket.top1++;
      if (r.decision === 'answer') bucket.answered++;
      else bucket.clarified++;
    } else {
      if (got === null) bucket.fellBack++;
      const key = `${q.expected} -> ${got ?? 'fallback'}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
      errors.push(`[${q.lang}] ${key}: ${q.text}`);
    }
  }
  report.confusedPairs = [...pairs.entries()]
    .map(([k, count]) => {
      const [expected, got] = k.split(' -> ') as [string, string];
      return { expected, got, count };
    })
    .sort((a, b) => b.count - a.count);
  return { report, errors };
}

const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}%`);

async function seedSpread(first: number, last: number, source: EvalSource): Promise<void> {
  const rows: Array<[number, number, number]> = [];
  let totals: [number, number, number] = [0, 0, 0];
  for (let seed = first; seed <= last; seed++) {
    const { report } = await evaluate(seed, source);
    rows.push([report.inScope.en.top1, report.inScope.fr.top1, report.outOfScope.rejected]);
    totals = [report.inScope.en.total, report.inScope.fr.total, report.outOfScope.total];
    console.log(`seed ${seed}: en ${rows.at(-1)![0]}/${totals[0]}, fr ${rows.at(-1)![1]}/${totals[1]}, off-topic rejected ${rows.at(-1)![2]}/${totals[2]}`);
  }
  const summary = (i: number) => {
    const v = rows.map((r) => r[i]!);
    return `mean ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} of ${totals[i]} (${Math.min(...v)}–${Math.max(...v)})`;
  };
  console.log(`\nSeeds ${first}–${last}: en ${summary(0)}; fr ${summary(1)}; off-topic ${summary(2)}`);
}

const isMain = !!process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
const option = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const half = option('--half');
const source: EvalSource = { file: option('--file'), half: half === 'dev' || half === 'blind' ? half : undefined };
if (isMain && process.argv.includes('--seeds')) {
  // Seeds 7-14 gated content changes for several sessions: the content came to fit their noise (one
  // French phrasing on an unrelated topic cost 1.3 English questions there, nothing on 48 other seeds).
  const [first, last] = (option('--seeds') ?? '15-62').split('-').map(Number) as [number, number];
  await seedSpread(first, last ?? first, source);
} else if (isMain) {
  const { report, errors } = await evaluate(undefined, source);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`Evaluation of the local recognizer (${report.questions} questions, eval/${source.file ?? 'heldout.yaml'}${source.half ? `, ${source.half} half` : ''})\n`);
    console.log('| language | questions | top-1 | answered directly | via "Did you mean" | fell back |');
    console.log('|---|---|---|---|---|---|');
    for (const lang of ['en', 'fr'] as const) {
      const b = report.inScope[lang];
      console.log(`| ${lang} | ${b.total} | ${pct(b.top1, b.total)} | ${pct(b.answered, b.total)} | ${pct(b.clarified, b.total)} | ${pct(b.fellBack, b.total)} |`);
    }
    console.log(`\nOut of scope rejected: ${pct(report.outOfScope.rejected, report.outOfScope.total)} of ${report.outOfScope.total}`);
    console.log('\nMost confused pairs (expected -> got):');
    for (const p of report.confusedPairs.slice(0, 12)) console.log(`  ${p.count} × ${p.expected} -> ${p.got}`);
    if (process.argv.includes('--list-errors')) errors.forEach((e) => console.log('  ' + e));
  }
  const floorsMet = (['en', 'fr'] as const).every((l) => report.inScope[l].top1 / report.inScope[l].total >= 0.92) && report.outOfScope.rejected / report.outOfScope.total >= 0.9;
  console.log(`\nFloors (92% top-1 per language, 90% off-topic rejected): ${floorsMet ? 'met' : 'NOT met'}`);
}
