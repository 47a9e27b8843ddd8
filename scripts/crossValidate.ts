/**
 * Tuning aid that never touches the held-out set: k-fold cross-validation of the local recognizer
 * over the training phrasings themselves (content/), reporting accuracy and off-topic rejection.
 * Usage: node dist/scripts/crossValidate.js [folds]
 */
import { join } from 'node:path';
import { loadContent } from '../src/content/loadContent.js';
import { LocalRecognizer, DEFAULT_LOCAL_SETTINGS } from '../src/recognizers/localRecognizer.js';
import { PROJECT_ROOT } from '../src/assistant.js';

const folds = Number(process.argv[2] ?? 5);
const content = await loadContent(join(PROJECT_ROOT, 'content'));
const all = LocalRecognizer.trainingSet(content);
const lang = (text: string) => content.lexicon.guessLanguage(text) ?? 'en';

let total = 0;
let correct = 0;
let oos = 0;
let oosRejected = 0;
const confusions = new Map<string, number>();
for (let f = 0; f < folds; f++) {
  const train = all.filter((t, i) => i % folds !== f || t.exact);
  const test = all.filter((t, i) => i % folds === f && !t.exact);
  const recognizer = new LocalRecognizer(content.lexicon, train, DEFAULT_LOCAL_SETTINGS);
  for (const t of test) {
    const r = recognizer.recognizeSync(t.text);
    const top = r.candidates[0];
    const got = r.decision === 'none' || !top ? 'none' : `${top.kind}:${top.id}`;
    if (t.label === 'none') {
      oos++;
      if (r.decision === 'none') oosRejected++;
      else confusions.set(`none -> ${got} :: ${t.text}`, 1);
      continue;
    }
    total++;
    if (got === t.label) correct++;
    else confusions.set(`${t.label} -> ${got} (${lang(t.text)}) :: ${t.text}`, 1);
  }
}
console.log(`cross-validation (${folds} folds): in-scope top-1 ${((100 * correct) / total).toFixed(1)}% of ${total}; off-topic rejected ${((100 * oosRejected) / oos).toFixed(1)}% of ${oos}`);
if (process.argv.includes('--errors')) for (const k of confusions.keys()) console.log('  ' + k);
