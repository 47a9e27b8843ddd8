/**
 * What the content team should look at: the most asked entries, the least helpful ones, and the
 * questions the assistant could not answer. Reads DATA_DIR/insights.jsonl (no personal data is kept).
 * Usage: npm run report [-- --data-dir ./data] [--top 10]
 */
import { join, resolve } from 'node:path';
import { config as loadDotEnv } from 'dotenv';
import { InsightsLog } from '../src/insights/insightsLog.js';
import { foldText } from '../src/content/lexicon.js';
import { pathToFileURL } from 'node:url';

export interface InsightsReport {
  mostAsked: Array<{ entryId: string; count: number }>;
  leastHelpful: Array<{ entryId: string; helpful: number; notHelpful: number }>;
  unanswered: Array<{ question: string; count: number }>;
  clarifications: number;
}

export async function buildReport(dataDir: string, top = 10): Promise<InsightsReport> {
  const events = await InsightsLog.readAll(join(dataDir, 'insights.jsonl'));
  const asked = new Map<string, number>();
  const votes = new Map<string, { helpful: number; notHelpful: number }>();
  const unanswered = new Map<string, { question: string; count: number }>();
  let clarifications = 0;
  for (const e of events) {
    if (e.type === 'answered') asked.set(e.entryId, (asked.get(e.entryId) ?? 0) + 1);
    else if (e.type === 'feedback') {
      const v = votes.get(e.entryId) ?? { helpful: 0, notHelpful: 0 };
      if (e.helpful) v.helpful++;
      else v.notHelpful++;
      votes.set(e.entryId, v);
    } else if (e.type === 'unanswered') {
      const key = foldText(e.question);
      const u = unanswered.get(key) ?? { question: e.question, count: 0 };
      u.count++;
      unanswered.set(key, u);
    } else if (e.type === 'clarified') clarifications++;
  }
  return {
    mostAsked: [...asked].map(([entryId, count]) => ({ entryId, count })).sort((a, b) => b.count - a.count).slice(0, top),
    leastHelpful: [...votes]
      .map(([entryId, v]) => ({ entryId, ...v }))
      .filter((v) => v.notHelpful > 0)
      .sort((a, b) => b.notHelpful / (b.helpful + b.notHelpful) - a.notHelpful / (a.helpful + a.notHelpful) || b.notHelpful - a.notHelpful)
      .slice(0, top),
    unanswered: [...unanswered.values()].sort((a, b) => b.count - a.count).slice(0, top),
    clarifications
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  loadDotEnv({ quiet: true });
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const dataDir = resolve(arg('--data-dir') ?? process.env.DATA_DIR ?? './data');
  const report = await buildReport(dataDir, Number(arg('--top') ?? 10));
  console.log(`Insights from ${join(dataDir, 'insights.jsonl')}\n`);
  console.log('Most asked:');
  report.mostAsked.forEach((a) => console.log(`  ${String(a.count).padStart(5)}  ${a.entryId}`));
  if (report.mostAsked.length === 0) console.log('  (none yet)');
  console.log('\nLeast helpful (not helpful / rated):');
  report.leastHelpful.forEach((v) => console.log(`  ${v.notHelpful}/${v.helpful + v.notHelpful}  ${v.entryId}`));
  if (report.leastHelpful.length === 0) console.log('  (none yet)');
  console.log('\nUnanswered questions:');
  report.unanswered.forEach((u) => console.log(`  ${String(u.count).padStart(5)}  ${u.question}`));
  if (report.unanswered.length === 0) console.log('  (none yet)');
  console.log(`\n"Did you mean" prompts: ${report.clarifications}`);
}
