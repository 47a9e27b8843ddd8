import assert from 'node:assert/strict';
import { watch, type FSWatcher } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { OnboardingPlan, type PlannedStep } from '../src/onboarding/onboardingPlan.js';
import { newOnboardingProgress } from '../src/onboarding/onboardingProgress.js';
import { loadContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/assistant.js';
import { StandInChannel, ChannelConversation, type ChannelActivity } from './support/standInChannel.js';
import { startServer, type ServerProcess } from './support/serverProcess.js';

const USERS = 48;
const CONCURRENCY = 16;
/** DurableJsonStorage's default compactAfterBytes: the journal is folded into store.json past this. */
const COMPACT_AFTER_BYTES = 16 * 1024 * 1024;
const SNAPSHOT_TEMP = /^\.store\.json\..+\.tmp$/;

interface Task {
  user: number;
  step: PlannedStep;
}

interface KillReport {
  acked: number;
  inFlight: number;
  ms: number;
}

/**
 * Checks the files a killed process left: store.json (if any) parses, and every complete journal
 * line parses (only an unterminated last line may be torn: it was never acknowledged).
 */
async function assertFilesParse(dataDir: string): Promise<{ journalLines: number; tornTail: boolean; snapshot: boolean }> {
  let snapshot = false;
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8'));
    assert.equal(typeof parsed.items, 'object');
    snapshot = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const journal = await readFile(join(dataDir, 'store.journal'), 'utf8');
  const parts = journal.split('\n');
  const tail = parts.pop()!;
  parts.forEach((line, i) => assert.doesNotThrow(() => JSON.parse(line), `journal line ${i + 1} does not parse`));
  return { journalLines: parts.length, tornTail: tail !== '', snapshot };
}

describe('crash safety: SIGKILL under load, restart on the same DATA_DIR, nothing acknowledged is lost', function () {
  this.timeout(90_000);
  let root: string;
  let dataDir: string;
  let channel: StandInChannel;
  let steps: PlannedStep[];
  let apology: string;
  let server: ServerProcess | undefined;
  const userIds = Array.from({ length: USERS }, (_, i) => `crash-user-${i}-${randomUUID().slice(0, 8)}`);
  const conversations = new Map<number, ChannelConversation>();
  const acked = new Map<number, Set<string>>();
  let tasks: Task[] = [];
  let totalAcked = 0;
  let seededUsers = 0;
  const reports: string[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'carm-crash-'));
    dataDir = join(root, 'data');
    await mkdir(dataDir);
    const content = await loadContent(join(PROJECT_ROOT, 'content'));
    apology = content.text.t('en', 'error.apology');
    // Steps that apply before the user has a profile: markDone records them without one.
    steps = new OnboardingPlan(content.plan).stepsFor(undefined);
    // Step-major order, so concurrent requests are mostly for different users.
    tasks = steps.flatMap((step) => userIds.map((_, user) => ({ user, step })));
    channel = await StandInChannel.start();
  });
  after(async () => {
    if (reports.length) console.log(`      ${reports.join('\n      ')}`);
    await server?.stop('SIGKILL');
    await channel?.close();
    await rm(root, { recursive: true, force: true });
  });

  const conversation = (user: number, url: string) => {
    // One conversation per user across restarts; the bot URL changes with each process.
    const existing = conversations.get(user);
    const c = new ChannelConversation(channel, url, { userId: userIds[user], conversationId: existing?.id ?? `crash-conv-${user}-${randomUUID()}` });
    conversations.set(user, c);
    return c;
  };

  /** Starts the server on the data directory and checks, through the bot, every update acknowledged so far. */
  async function restartAndVerify(): Promise<number> {
    // A phase that failed may have left its server up: kill it like any other crash.
    if (server && server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
    server = await startServer({ cwd: root, env: { DATA_DIR: dataDir, LOG_LEVEL: 'error' } });
    const url = server.url;
    const cards = await Promise.all(
      [...acked.keys()].map(async (user) => {
        const replies = await conversation(user, url).click({ action: 'command', command: 'show_progress' });
        // The progress card's fallback text lists the checklist one step a line: "✔ <title> (Done)".
        return [user, replies.flatMap((r) => (r.attachments ?? []).map((a: { content?: { fallbackText?: string } }) => a.content?.fallbackText ?? '')).join('\n')] as const;
      })
    );
    let verified = 0;
    for (const [user, card] of cards) {
      for (const stepId of acked.get(user)!) {
        const title = steps.find((s) => s.step.id === stepId)!.step.en.title;
        assert.ok(card.includes(`✔ ${title} (Done)`), `${userIds[user]}: acknowledged "${stepId}" is missing after the restart`);
        verified++;
      }
    }
    assert.equal(verified, totalAcked);
    assert.deepEqual(await readdir(dataDir).then((names) => names.filter((n) => SNAPSHOT_TEMP.test(n))), [], 'a snapshot temp file was left behind');
    return verified;
  }

  /**
   * Sends markDone submits from CONCURRENCY workers and SIGKILLs the server after `killAfterAcks`
   * acknowledged updates, or when a snapshot rewrite starts. Every request answered 200 is recorded.
   */
  async function loadAndKill(killAfterAcks: number | undefined, watchCompaction = false): Promise<KillReport> {
    const target = server!;
    const started = Date.now();
    let ackedInRun = 0;
    let inFlight = 0;
    let report: KillReport | undefined;
    const problems: string[] = [];
    let watcher: FSWatcher | undefined;
    const kill = () => {
      if (report) return;
      report = { acked: ackedInRun, inFlight, ms: Date.now() - started };
      target.child.kill('SIGKILL');
    };
    if (watchCompaction) {
      watcher = watch(dataDir, (_event, name) => {
        if (name && SNAPSHOT_TEMP.test(String(name))) kill();
      });
    }
    const worker = async () => {
      while (!report) {
        const task = tasks.shift();
        if (!task) return;
        const c = conversation(task.user, target.url);
        inFlight++;
        try {
          const result = await channel.post(target.url, c.activity({ type: 'message', value: { action: 'markDone', stepId: task.step.step.id } }));
          if (result.status === 200) {
            const done = acked.get(task.user) ?? new Set<string>();
            if (!done.has(task.step.step.id)) totalAcked++;
            acked.set(task.user, done.add(task.step.step.id));
            ackedInRun++;
            if (killAfterAcks !== undefined && ackedInRun >= killAfterAcks) kill();
          } else if (!report) {
            problems.push(`${result.status} ${result.body.slice(0, 200)}`);
          }
        } catch (error) {
          if (!report) problems.push(String(error));
        } finally {
          inFlight--;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      watcher?.close();
    }
    assert.deepEqual(problems, [], 'requests failed before the kill');
    assert.ok(report, `ran out of updates before the kill point (${ackedInRun} acknowledged)`);
    assert.ok(report.inFlight > 0, 'nothing was in flight at the kill');
    const exit = await target.exit;
    assert.equal(exit.signal, 'SIGKILL');
    const apologies = channel.received.filter((a: ChannelActivity) => a.text === apology).length;
    assert.equal(apologies, 0, 'the bot apologised for a failed turn');
    return report;
  }

  it('during a snapshot rewrite (compaction) with 16 MB of other users already stored', async () => {
    // Other users' progress, as journal lines, up to just below the compaction threshold: the
    // load below pushes the journal over it and the store rewrites store.json mid-load.
    const record = JSON.stringify(newOnboardingProgress());
    const lines: string[] = [];
    let bytes = 0;
    while (bytes < COMPACT_AFTER_BYTES - 48 * 1024) {
      const batch: Record<string, string> = {};
      for (let i = 0; i < 100; i++) batch[`onboarding-progress/emulator/seed-${seededUsers++}`] = record;
      const line = JSON.stringify({ w: batch }) + '\n';
      lines.push(line);
      bytes += Buffer.byteLength(line);
    }
    await appendFile(join(dataDir, 'store.journal'), lines.join(''));
    await restartAndVerify();
    const report = await loadAndKill(undefined, true);
    const files = await readdir(dataDir);
    // The kill landed while store.json was being rewritten: its temp file is still there.
    assert.ok(files.some((n) => SNAPSHOT_TEMP.test(n)), `killed after the rewrite, not during it: ${files.join(', ')}`);
    const left = await assertFilesParse(dataDir);
    reports.push(`compaction: killed after ${report.acked} acknowledged (${report.inFlight} in flight) at ${report.ms} ms; ${seededUsers} seeded users; torn journal tail: ${left.tornTail}`);
  });

  for (const point of [5, 50, 200]) {
    it(`after ${point} acknowledged updates`, async () => {
      const verified = await restartAndVerify();
      const report = await loadAndKill(point);
      const left = await assertFilesParse(dataDir);
      reports.push(
        `after ${point}: ${verified} verified on restart, killed after ${report.acked} acknowledged (${report.inFlight} in flight) at ${report.ms} ms; ` +
          `store.json: ${left.snapshot}, journal lines: ${left.journalLines}, torn tail: ${left.tornTail}`
      );
    });
  }

  it('after the last crash: restart, check through the bot, stop cleanly, and find every acknowledged update on disk', async () => {
    const viaBot = await restartAndVerify();
    const exit = await server!.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, server!.stderr());
    await assert.rejects(stat(join(dataDir, 'store.lock')), /ENOENT/);
    JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8'));

    const storage = await DurableJsonStorage.open(dataDir);
    try {
      const repo = new ProgressRepository(storage);
      let onDisk = 0;
      for (const [user, done] of acked) {
        const progress = await repo.get({ channelId: 'emulator', userId: userIds[user]! });
        for (const stepId of done) {
          assert.equal(progress?.steps[stepId]?.status, 'done', `${userIds[user]}: ${stepId}`);
          onDisk++;
        }
        // Nothing recorded that was never sent.
        for (const stepId of Object.keys(progress?.steps ?? {})) assert.ok(steps.some((s) => s.step.id === stepId));
      }
      assert.equal(onDisk, totalAcked);
      const seeds = await storage.read([`onboarding-progress/emulator/seed-0`, `onboarding-progress/emulator/seed-${seededUsers - 1}`]);
      assert.equal(Object.keys(seeds).length, 2, 'seeded users lost');
      assert.ok(storage.size >= seededUsers + acked.size);
      reports.push(`final: ${viaBot} acknowledged updates verified through the bot and ${onDisk} on disk (of ${totalAcked}); ${storage.size} items stored`);
    } finally {
      await storage.close();
    }
  });
});
