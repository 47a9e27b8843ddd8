/**
 * `npm run bench`: how fast the assistant is, what its parts cost, and how it scales with stored users.
 *
 *   node dist/scripts/bench.js              the whole run (a few minutes), prints a markdown table
 *   node dist/scripts/bench.js --quick      fewer turns and smaller stores (a smoke run)
 *   node dist/scripts/bench.js --only recognizer,turns,scale --bots json,memory,echo --levels 1,16,64
 *   node dist/scripts/bench.js --cpu-prof   bots run with `node --cpu-prof` (profiles in ./bench-profiles)
 *   node dist/scripts/bench.js --json FILE  also writes the raw figures as JSON
 *   BENCH_BOT_FLAGS='--max-semi-space-size=32' …   node flags for every bot process alike (experiments)
 *
 * Set-up: every bot runs in its own child process (`--serve`), so start-up time and resident memory
 * are its own. The load generator and the stand-in channel that receives the bot's replies run in
 * this (parent) process, on the same machine, over loopback only. Every phase has a fixed number of
 * turns and a time cap, so the run stops by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import restify from 'restify';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, MemoryStorage, type StoreItems } from 'botbuilder';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createAssistant, PROJECT_ROOT, type Assistant } from '../src/assistant.js';
import { createChannelAdapter } from '../src/botAdapter.js';
import { MAX_BODY_BYTES } from '../src/server.js';
import { loadContent, type AssistantContent } from '../src/content/loadContent.js';
import { LocalRecognizer } from '../src/recognizers/localRecognizer.js';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { StandInChannel, ChannelConversation, buttons, type ChannelActivity } from '../test/support/standInChannel.js';

/**
 * echo: a minimal echo bot on botbuilder's CloudAdapter as shipped (the framework's floor);
 * echo-reuse: the same echo bot on the assistant's adapter, which reuses its connector clients.
 */
type BotKind = 'json' | 'memory' | 'echo' | 'echo-reuse';

const SCRIPT = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

interface LatencyStats {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

function stats(samples: number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sum / (sorted.length || 1), max: sorted.at(-1) ?? NaN };
}

/** The bot process's CPU time per turn (all its threads), in ms. */
const cpuPerTurn = (l: { botCpu?: number; turnsPerSecond: number }) => (l.botCpu !== undefined ? ((l.botCpu / l.turnsPerSecond) * 1000).toFixed(2) : '—');
const ms = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—');
const mb = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`;

// ---------------------------------------------------------------------------------------------
// Child process: one bot, started on request
// ---------------------------------------------------------------------------------------------

interface ReadyMessage {
  type: 'ready';
  port: number;
  startupMs: number;
  processStartMs: number;
  rss: number;
  items: number;
}

async function serve(kind: BotKind, dataDir: string): Promise<void> {
  let errorLines = 0;
  const sink = new Writable({
    write(chunk, _enc, cb) {
      const line = String(chunk);
      if (/"level":(50|60)/.test(line)) {
        errorLines++;
        if (errorLines <= 3) process.stderr.write(`[bot ${kind}] ${line.slice(0, 600)}\n`);
      }
      cb();
    }
  });
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  const logger = createLogger(config.LOG_LEVEL, sink as never);
  const started = performance.now();
  let port: number;
  let close: () => Promise<void>;
  let items = 0;
  if (kind === 'echo' || kind === 'echo-reuse') {
    // The framework's floor: restify + CloudAdapter, a bot that only echoes.
    const server = restify.createServer({ name: 'echo', handleUncaughtExceptions: false });
    server.use(restify.plugins.bodyParser({ maxBodySize: MAX_BODY_BYTES, mapParams: false, rejectUnknown: false }));
    // echo: botbuilder's adapter and authentication as shipped (no app id: the bench's channel is local).
    const adapter = kind === 'echo' ? new CloudAdapter(new ConfigurationBotFrameworkAuthentication({})) : createChannelAdapter(config);
    server.post('/api/messages', async (req, res) => {
      await adapter.process(req, res, async (context) => {
        if (context.activity.type === 'message') {
          await context.sendActivity(context.activity.text ? `You said: ${context.activity.text}` : 'You clicked a button.');
        }
      });
    });
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  } else {
    const assistant: Assistant = await createAssistant(config, logger, kind === 'memory' ? { storage: new MemoryStorage() } : {});
    port = await assistant.http.listen(0, '127.0.0.1');
    items = assistant.storage instanceof DurableJsonStorage ? assistant.storage.size : 0;
    close = () => assistant.close();
  }
  const startupMs = performance.now() - started;
  const ready: ReadyMessage = { type: 'ready', port, startupMs, processStartMs: performance.now(), rss: process.memoryUsage().rss, items };
  process.send!(ready);
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'rss') {
      const cpu = process.cpuUsage();
      process.send!({ type: 'rss', rss: process.memoryUsage().rss, errorLines, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (message.type === 'stop') {
      const t = performance.now();
      await close();
      process.send!({ type: 'stopped', closeMs: performance.now() - t, errorLines }, () => process.exit(0));
    }
  });
}

class BotProcess {
  private constructor(private readonly child: ChildProcess, readonly ready: ReadyMessage, readonly spawnToReadyMs: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.ready.port}`;
  }

  static async start(kind: BotKind, dataDir: string, cpuProf: boolean): Promise<BotProcess> {
    const spawned = performance.now();
    const execArgv = [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(process.cwd(), 'bench-profiles')] : []), ...(process.env.BENCH_BOT_FLAGS?.split(' ').filter(Boolean) ?? [])];
    const child = fork(SCRIPT, ['--serve', kind, '--data-dir', dataDir], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bot ${kind} did not start within 60 s`)), 60_000);
      child.once('exit', (code) => reject(new Error(`bot ${kind} exited with ${code} before it was ready`)));
      child.on('message', (m: { type: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m as ReadyMessage);
        }
      });
    });
    return new BotProcess(child, ready, performance.now() - spawned);
  }

  private request<T>(type: string, answer: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onExit = () => reject(new Error('bot exited'));
      const onMessage = (m: { type: string }) => {
        if (m.type === answer) {
          this.child.off('message', onMessage);
          this.child.off('exit', onExit);
          resolve(m as T);
        }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type });
    });
  }

  /** Freezes (SIGSTOP) or resumes (SIGCONT) the bot: an idle bot must not collect garbage while another is measured. */
  pause(paused: boolean): void {
    this.child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  rss(): Promise<{ rss: number; errorLines: number; cpuMs: number }> {
    return this.request('rss', 'rss');
  }

  async stop(): Promise<{ closeMs: number; errorLines: number }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 120_000);
    const exited = new Promise((r) => this.child.once('exit', r));
    const result = await this.request<{ closeMs: number; errorLines: number }>('stop', 'stopped');
    await exited;
    clearTimeout(timer);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Workload: conversations mixing questions and onboarding steps
// ---------------------------------------------------------------------------------------------

/** A small deterministic PRNG, so every run sends the same mix. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WorkloadContent {
  questions: string[];
  collects: Map<string, string>;
  firstStepId: string;
}

function workloadContent(content: AssistantContent): WorkloadContent {
  // Questions as people type them: the knowledge base's own phrasings, as they are and with a lead-in
  // (never the held-out eval set).
  const questions = content.knowledge.flatMap((e) =>
    (['en', 'fr'] as const).flatMap((lang) => e[lang].questions.flatMap((q) => [q, `${LEAD_IN[lang]}${q.charAt(0).toLowerCase()}${q.slice(1)}`]))
  );
  const collects = new Map<string, string>();
  for (const phase of content.plan.phases) for (const step of phase.steps) collects.set(step.id, step.collects);
  return { questions, collects, firstStepId: content.plan.phases[0]!.steps[0]!.id };
}

const STEP_VALUES: Record<string, string> = { signInOption: 'gckey', businessNumber: '123456782', programAccount: '123456782RM0001' };
const TURNS_PER_CONVERSATION = 14;
/** Unmeasured turns each bot serves before the turn benchmark's first level. */
const WARMUP_TURNS = 3000;

/** One virtual user's conversation: reads the bot's cards to decide the next click, like a person. */
class VirtualUser {
  private readonly conversation: ChannelConversation;
  private turn = 0;
  private stepId: string | undefined;
  private profileQuestion: string | undefined;

  constructor(
    private readonly channel: StandInChannel,
    botUrl: string,
    private readonly echo: boolean,
    private readonly wl: WorkloadContent,
    private readonly random: () => number,
    ids: { userId: string; conversationId: string }
  ) {
    this.conversation = new ChannelConversation(channel, botUrl, { ...ids, locale: random() < 0.3 ? 'fr-CA' : 'en-CA' });
  }

  get done(): boolean {
    return this.turn >= TURNS_PER_CONVERSATION;
  }

  /** The next activity: start the checklist, answer the profile, then alternate questions and "Done". */
  private next(): ChannelActivity {
    const t = this.turn++;
    if (t === 0) return { type: 'message', value: { action: 'command', command: 'start_onboarding' } };
    if (this.echo && t <= 3) return { type: 'message', value: { action: 'choose', question: 'profile.resident', value: 'yes' } };
    if (this.profileQuestion) {
      return { type: 'message', value: { action: 'choose', question: this.profileQuestion, value: this.random() < 0.5 ? 'yes' : 'no' } };
    }
    const stepId = this.stepId ?? (this.echo ? this.wl.firstStepId : undefined);
    if (t % 2 === 1 || !stepId) {
      return { type: 'message', text: this.wl.questions[Math.floor(this.random() * this.wl.questions.length)]! };
    }
    const kind = this.wl.collects.get(stepId) ?? 'none';
    const value = STEP_VALUES[kind];
    return { type: 'message', value: { action: 'step', stepId, choice: 'done', ...(value ? { value } : {}) } };
  }

  /** Sends one turn; returns its latency in ms and whether it failed. */
  async step(botUrl: string): Promise<{ ms: number; ok: boolean; replies: number; kind: string }> {
    const activity = this.conversation.activity(this.next());
    const kind = activity.text ? 'question' : String(activity.value?.action === 'command' ? activity.value.command : activity.value?.action);
    const before = this.channel.replyCount(this.conversation.id);
    const started = performance.now();
    let ok = true;
    try {
      const result = await this.channel.post(botUrl, activity);
      ok = result.status >= 200 && result.status < 300;
    } catch {
      ok = false;
    }
    const elapsed = performance.now() - started;
    const replies = this.channel.replyCount(this.conversation.id) - before;
    if (!this.echo) this.observe(this.channel.repliesIn(this.conversation.id).slice(before));
    return { ms: elapsed, ok, replies, kind };
  }

  private observe(replies: ChannelActivity[]): void {
    if (replies.some((r) => typeof r.text === 'string' && /something went wrong/i.test(r.text))) apologies++;
    const found = buttons(replies);
    const choose = found.find((b) => b.data?.action === 'choose' && typeof b.data.question === 'string');
    this.profileQuestion = choose?.data?.question;
    const done = found.find((b) => b.data?.action === 'step' && b.data.choice === 'done');
    if (done) this.stepId = done.data!.stepId;
  }
}

let apologies = 0;

interface LoadResult {
  /** CPU time per second of wall time (1.0 = one core busy), for the bot and for this load generator. */
  botCpu?: number;
  generatorCpu?: number;
  /** Replies the bot sent per turn. */
  repliesPerTurn?: number;
  /** Latency by kind of turn (question, start_onboarding, choose, step). */
  byKind?: Record<string, LatencyStats>;
  /** Raw figures, so that rounds can be merged (left out of the JSON output). */
  raw?: { samples: number[]; kinds: Map<string, number[]>; botCpuMs: number; generatorCpuMs: number; wallMs: number; replies: number };
  concurrency: number;
  turns: number;
  seconds: number;
  turnsPerSecond: number;
  latency: LatencyStats;
  errors: number;
}

interface LoadOptions {
  concurrency: number;
  turns: number;
  warmupTurns: number;
  capSeconds: number;
  echo: boolean;
  seed: number;
  /** Users already in the store; a share of conversations continue theirs. */
  existingUsers?: number;
  existingShare?: number;
}

async function runLoad(channel: StandInChannel, bot: BotProcess, wl: WorkloadContent, o: LoadOptions): Promise<LoadResult> {
  const botUrl = bot.url;
  let cpuAtStart: Promise<readonly [{ cpuMs: number }, NodeJS.CpuUsage, number]> | undefined;
  let replies = 0;
  const random = rng(o.seed);
  let userCounter = 0;
  const newUser = () => {
    const n = userCounter++;
    if (o.existingUsers && random() < (o.existingShare ?? 0)) {
      const i = Math.floor(random() * o.existingUsers);
      return new VirtualUser(channel, botUrl, o.echo, wl, random, existingIds(i));
    }
    return new VirtualUser(channel, botUrl, o.echo, wl, random, { userId: `load-${o.seed}-${n}`, conversationId: `load-conv-${o.seed}-${n}` });
  };
  const latencies: number[] = [];
  const byKind = new Map<string, number[]>();
  let errors = 0;
  let started = 0;
  let measuredFrom = 0;
  let counted = 0;
  const total = o.turns + o.warmupTurns;
  const deadline = performance.now() + o.capSeconds * 1000;
  const apologiesBefore = apologies;
  const worker = async () => {
    let user = newUser();
    while (started < total && performance.now() < deadline) {
      const index = started++;
      if (index === o.warmupTurns) {
        measuredFrom = performance.now();
        cpuAtStart = Promise.all([bot.rss(), process.cpuUsage(), performance.now()] as const);
      }
      if (user.done) user = newUser();
      const r = await user.step(botUrl);
      if (index >= o.warmupTurns) {
        latencies.push(r.ms);
        const list = byKind.get(r.kind) ?? [];
        list.push(r.ms);
        byKind.set(r.kind, list);
        replies += r.replies;
        counted++;
        if (!r.ok) errors++;
      }
      if (channel.received.length > 20_000) channel.clearReceived();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - (measuredFrom || performance.now())) / 1000;
  // CPU over the measured turns only (after the warm-up), for the bot process and for this one.
  const botCpuEnd = (await bot.rss()).cpuMs;
  const generatorEnd = process.cpuUsage();
  const [botStart, generatorStart, startedAt] = (await cpuAtStart) ?? [{ cpuMs: botCpuEnd }, generatorEnd, performance.now()];
  const wall = performance.now() - startedAt;
  const generatorCpu = process.cpuUsage(generatorStart);
  void generatorEnd;
  return {
    botCpu: (botCpuEnd - botStart.cpuMs) / wall,
    generatorCpu: (generatorCpu.user + generatorCpu.system) / 1000 / wall,
    repliesPerTurn: replies / (counted || 1),
    byKind: Object.fromEntries([...byKind].map(([k, v]) => [k, stats(v)])),
    raw: {
      samples: latencies,
      kinds: byKind,
      botCpuMs: botCpuEnd - botStart.cpuMs,
      generatorCpuMs: (generatorCpu.user + generatorCpu.system) / 1000,
      wallMs: wall,
      replies
    },
    concurrency: o.concurrency,
    turns: counted,
    seconds,
    turnsPerSecond: counted / (seconds || 1),
    latency: stats(latencies),
    errors: errors + (apologies - apologiesBefore)
  };
}

/** Several rounds of the same load as one result (all their turns, their summed time and CPU). */
function mergeLoads(rounds: LoadResult[]): LoadResult {
  const samples = rounds.flatMap((r) => r.raw!.samples);
  const kinds = new Map<string, number[]>();
  for (const r of rounds) for (const [k, v] of r.raw!.kinds) kinds.set(k, [...(kinds.get(k) ?? []), ...v]);
  const sum = (f: (r: LoadResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const seconds = sum((r) => r.seconds);
  const wallMs = sum((r) => r.raw!.wallMs);
  return {
    concurrency: rounds[0]!.concurrency,
    turns: samples.length,
    seconds,
    turnsPerSecond: samples.length / (seconds || 1),
    latency: stats(samples),
    errors: sum((r) => r.errors),
    botCpu: sum((r) => r.raw!.botCpuMs) / wallMs,
    generatorCpu: sum((r) => r.raw!.generatorCpuMs) / wallMs,
    repliesPerTurn: sum((r) => r.raw!.replies) / (samples.length || 1),
    byKind: Object.fromEntries([...kinds].map(([k, v]) => [k, stats(v)]))
  };
}

// ---------------------------------------------------------------------------------------------
// Store population: realistic records written through DurableJsonStorage
// ---------------------------------------------------------------------------------------------

const existingIds = (i: number) => ({ userId: `stored-user-${i}`, conversationId: `stored-conv-${i}` });

interface RecordTemplates {
  /** Conversation states captured from real conversations (idle and mid-checklist). */
  conversations: StoreItems[string][];
  progress: StoreItems[string][];
  user: StoreItems[string];
}

/** Runs a few real conversations on a MemoryStorage bot and keeps what they stored, as templates. */
async function captureTemplates(): Promise<RecordTemplates> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carm-bench-templates-'));
  const storage = new MemoryStorage();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const assistant = await createAssistant(config, createLogger('silent'), { storage });
  const port = await assistant.http.listen(0, '127.0.0.1');
  const channel = await StandInChannel.start();
  const url = `http://127.0.0.1:${port}`;
  const conversations: StoreItems[string][] = [];
  const progress: StoreItems[string][] = [];
  let user: StoreItems[string] = {};
  try {
    for (const [steps, switchLanguage] of [[1, false], [3, true], [6, false]] as const) {
      const c = new ChannelConversation(channel, url);
      await c.join();
      if (switchLanguage) await c.click({ action: 'setLanguage', language: 'fr' });
      let replies = await c.click({ action: 'command', command: 'start_onboarding' });
      for (const question of ['profile.resident', 'profile.broker', 'profile.rm']) {
        replies = await c.click({ action: 'choose', question, value: question === 'profile.resident' ? 'yes' : 'no' });
      }
      for (let i = 0; i < steps; i++) {
        const done = buttons(replies).find((b) => b.data?.action === 'step' && b.data.choice === 'done');
        if (!done) break;
        const kindValue = done.data!.stepId === 'choose-sign-in-option' ? { value: 'gckey' } : {};
        replies = await c.click({ ...done.data, ...kindValue });
        await c.say('How much security do I need?');
      }
      const convKey = `emulator/conversations/${c.id}/`;
      const progressKey = ProgressRepository.key({ channelId: 'emulator', userId: c.userId });
      const userKey = `emulator/users/${c.userId}/`;
      const items = await storage.read([convKey, progressKey, userKey]);
      conversations.push(items[convKey]!);
      progress.push(items[progressKey]!);
      if (items[userKey]) user = items[userKey]!;
      // The same user after "cancel": an idle conversation.
      await c.say('cancel');
      conversations.push((await storage.read([convKey]))[convKey]!);
    }
  } finally {
    await assistant.close();
    await channel.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const clean = (item: StoreItems[string]) => {
    const { eTag: _eTag, ...rest } = item;
    return rest;
  };
  return { conversations: conversations.map(clean), progress: progress.map(clean), user: clean(user) };
}

/** Writes `users` users (progress, conversation state, and for a third a language choice) and closes the store. */
async function populate(dataDir: string, users: number, templates: RecordTemplates): Promise<{ ms: number; storeBytes: number }> {
  const started = performance.now();
  const storage = await DurableJsonStorage.open(dataDir);
  const batch = 2000;
  for (let from = 0; from < users; from += batch) {
    const changes: StoreItems = {};
    for (let i = from; i < Math.min(users, from + batch); i++) {
      const { userId, conversationId } = existingIds(i);
      changes[`emulator/conversations/${conversationId}/`] = templates.conversations[i % templates.conversations.length]!;
      const progress = templates.progress[i % templates.progress.length]!;
      changes[ProgressRepository.key({ channelId: 'emulator', userId })] = { ...progress, appliedActivityIds: [`act-${i}-a`, `act-${i}-b`, `act-${i}-c`] };
      if (i % 3 === 0) changes[`emulator/users/${userId}/`] = templates.user;
    }
    await storage.write(changes);
  }
  await storage.close();
  const storeBytes = await stat(join(dataDir, 'store.json')).then((s) => s.size, () => 0);
  return { ms: performance.now() - started, storeBytes };
}

// ---------------------------------------------------------------------------------------------
// The three parts of the benchmark
// ---------------------------------------------------------------------------------------------

interface RecognizerResult {
  name: string;
  phrasings: number;
  passes: number;
  questionsPerSecond: number;
  latency: LatencyStats;
}

/** Lead-ins that make a phrasing no longer verbatim, so the full scoring runs (not the exact-match shortcut). */
const LEAD_IN = { en: 'Quick question: ', fr: 'Petite question : ' } as const;

function benchRecognizer(content: AssistantContent, quick: boolean): RecognizerResult[] {
  const recognizer = LocalRecognizer.fromContent(content);
  const verbatim = content.knowledge.flatMap((e) => [e.en.title, ...e.en.questions, e.fr.title, ...e.fr.questions]);
  const reworded = content.knowledge.flatMap((e) =>
    (['en', 'fr'] as const).flatMap((lang) => [e[lang].title, ...e[lang].questions].map((q) => `${LEAD_IN[lang]}${q.charAt(0).toLowerCase()}${q.slice(1)}`))
  );
  const passes = quick ? 2 : 5;
  const run = (name: string, phrasings: string[]): RecognizerResult => {
    for (const p of phrasings) recognizer.recognizeSync(p); // warm-up (and the typo cache)
    const samples: number[] = [];
    const started = performance.now();
    for (let pass = 0; pass < passes; pass++) {
      for (const p of phrasings) {
        const t = performance.now();
        recognizer.recognizeSync(p);
        samples.push(performance.now() - t);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return { name, phrasings: phrasings.length, passes, questionsPerSecond: samples.length / seconds, latency: stats(samples) };
  };
  return [run('verbatim (mostly the exact-match path)', verbatim), run('with a lead-in ("Quick question: …", full scoring)', reworded)];
}

interface TurnsResult {
  kind: BotKind;
  startupMs: number;
  loads: LoadResult[];
}

/**
 * Every bot runs at the same time (each in its own process, frozen with SIGSTOP while another is
 * measured), and each level is measured in rounds that alternate between the bots, so a disturbance on
 * the machine (a neighbour's burst of work) lands on all of them rather than on one.
 */
async function benchTurns(wl: WorkloadContent, quick: boolean, cpuProf: boolean): Promise<TurnsResult[]> {
  const ROUNDS = 6;
  const plan = [
    { concurrency: 1, turns: quick ? 100 : 600, warmupTurns: 100, capSeconds: 30 },
    { concurrency: 16, turns: quick ? 400 : 2100, warmupTurns: 100, capSeconds: 30 },
    { concurrency: 64, turns: quick ? 800 : 3000, warmupTurns: 200, capSeconds: 30 }
  ];
  const kinds = (option('--bots') ?? 'json,memory,echo,echo-reuse').split(',') as BotKind[];
  const levels = option('--levels')?.split(',').map(Number);
  const bots: Array<{ kind: BotKind; dataDir: string; channel: StandInChannel; process: BotProcess; loads: LoadResult[] }> = [];
  try {
    for (const kind of kinds) {
      const dataDir = await mkdtemp(join(tmpdir(), `carm-bench-${kind}-`));
      const channel = await StandInChannel.start();
      bots.push({ kind, dataDir, channel, process: await BotProcess.start(kind, dataDir, cpuProf), loads: [] });
    }
    // Steady state is what a server spends its life in: V8 optimises the assistant's code over its
    // first ~2,000 turns (in-process turn cost falls from ~1.5 ms to ~0.6 ms), the echo bot's within a
    // few hundred. Every bot gets the same unmeasured warm-up before any level is measured.
    for (const bot of bots) {
      for (const other of bots) other.process.pause(other !== bot);
      await runLoad(bot.channel, bot.process, wl, {
        concurrency: 16,
        turns: quick ? 300 : WARMUP_TURNS,
        warmupTurns: 0,
        capSeconds: 60,
        echo: bot.kind.startsWith('echo'),
        seed: 999
      });
      bot.channel.clearReceived();
    }
    for (const [level, p] of plan.entries()) {
      if (levels && !levels.includes(p.concurrency)) continue;
      const rounds = new Map<BotKind, LoadResult[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const bot of bots) {
          for (const other of bots) other.process.pause(other !== bot);
          const load = await runLoad(bot.channel, bot.process, wl, {
            concurrency: p.concurrency,
            turns: Math.ceil(p.turns / ROUNDS),
            warmupTurns: round === 0 ? p.warmupTurns : Math.min(p.warmupTurns, 2 * p.concurrency),
            capSeconds: p.capSeconds / ROUNDS,
            echo: bot.kind.startsWith('echo'),
            seed: 1000 + 10 * level + round
          });
          rounds.set(bot.kind, [...(rounds.get(bot.kind) ?? []), load]);
          bot.channel.clearReceived();
        }
      }
      for (const bot of bots) {
        const load = mergeLoads(rounds.get(bot.kind)!);
        bot.loads.push(load);
        if (process.env.BENCH_BY_KIND) {
          for (const [k, st] of Object.entries(load.byKind ?? {})) log(`      ${k}: n ${st.count}, p50 ${ms(st.p50)} ms, p99 ${ms(st.p99)} ms, max ${ms(st.max)} ms`);
        }
        log(
          `  ${bot.kind} ×${p.concurrency}: ${load.turnsPerSecond.toFixed(0)} turns/s, p50 ${ms(load.latency.p50)} ms, p99 ${ms(load.latency.p99)} ms, errors ${load.errors}, ` +
            `${load.repliesPerTurn!.toFixed(2)} replies/turn, bot CPU ${cpuPerTurn(load)} ms/turn, cores busy: bot ${load.botCpu!.toFixed(2)}, generator ${load.generatorCpu!.toFixed(2)}`
        );
      }
    }
    for (const bot of bots) bot.process.pause(false);
    const results: TurnsResult[] = [];
    for (const bot of bots) {
      const { errorLines } = await bot.process.stop();
      if (errorLines > 0) log(`  ${bot.kind}: ${errorLines} error lines logged by the bot`);
      results.push({ kind: bot.kind, startupMs: bot.process.ready.startupMs, loads: bot.loads });
    }
    return results;
  } finally {
    for (const bot of bots) {
      bot.process.pause(false);
      await bot.channel.close();
      await rm(bot.dataDir, { recursive: true, force: true });
    }
  }
}

interface ScaleResult {
  users: number;
  items: number;
  storeBytes: number;
  populateMs: number;
  startupMs: number;
  spawnToReadyMs: number;
  rssAfterStart: number;
  rssAfterLoad: number;
  load: LoadResult;
  closeMs: number;
}

async function benchScale(wl: WorkloadContent, quick: boolean, cpuProf: boolean): Promise<ScaleResult[]> {
  const templates = await captureTemplates();
  const sizes = quick ? [100, 10_000] : [100, 10_000, 100_000];
  const results: ScaleResult[] = [];
  for (const users of sizes) {
    const dataDir = await mkdtemp(join(tmpdir(), `carm-bench-scale-${users}-`));
    try {
      const populated = await populate(dataDir, users, templates);
      const channel = await StandInChannel.start();
      const bot = await BotProcess.start('json', dataDir, cpuProf);
      try {
        const load = await runLoad(channel, bot, wl, {
          concurrency: 1,
          turns: quick ? 150 : 600,
          warmupTurns: 150,
          capSeconds: 30,
          echo: false,
          seed: 77,
          existingUsers: users,
          existingShare: 0.5
        });
        const { rss } = await bot.rss();
        const stopped = await bot.stop();
        results.push({
          users,
          items: bot.ready.items,
          storeBytes: populated.storeBytes,
          populateMs: populated.ms,
          startupMs: bot.ready.startupMs,
          spawnToReadyMs: bot.spawnToReadyMs,
          rssAfterStart: bot.ready.rss,
          rssAfterLoad: rss,
          load,
          closeMs: stopped.closeMs
        });
        log(
          `  ${users} users: start-up ${ms(bot.ready.startupMs)} ms, RSS ${mb(bot.ready.rss)} → ${mb(rss)}, p50 ${ms(load.latency.p50)} ms, p99 ${ms(load.latency.p99)} ms, mean ${ms(load.latency.mean)} ms`
        );
      } finally {
        await channel.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A Markdown table: its title line, the header row and alignment row; the caller pushes the rows. */
function tableStart(out: string[], title: string, columns: string[], align: string[]): void {
  out.push(title, '', `| ${columns.join(' | ')} |`, `|${align.join('|')}|`);
}

function report(recognizer: RecognizerResult[] | undefined, turns: TurnsResult[] | undefined, scale: ScaleResult[] | undefined): string {
  const out: string[] = [];
  const at = (t: TurnsResult | undefined, c: number) => t?.loads.find((x) => x.concurrency === c);
  out.push(`Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${mb(totalmem())} RAM · Node ${process.version} · ${process.platform}`);
  out.push('Load generator and stand-in channel: the parent process; each bot: its own child process; loopback HTTP.');
  out.push('');
  if (recognizer) {
    tableStart(
      out,
      '**Recognizer** (LocalRecognizer.recognizeSync on every knowledge-base title and question, EN + FR, in this process)',
      ['Phrasings', 'Count', 'Passes', 'Questions/s', 'p50 (ms)', 'p99 (ms)'],
      ['---', '---:', '---:', '---:', '---:', '---:']
    );
    for (const r of recognizer) {
      out.push(`| ${r.name} | ${r.phrasings} | ${r.passes} | ${r.questionsPerSecond.toFixed(0)} | ${r.latency.p50.toFixed(3)} | ${r.latency.p99.toFixed(3)} |`);
    }
    out.push('');
  }
  if (turns) {
    const json = turns.find((t) => t.kind === 'json');
    const memory = turns.find((t) => t.kind === 'memory');
    const echo = turns.find((t) => t.kind === 'echo');
    tableStart(
      out,
      '**Turns end to end** (POST /api/messages until the bot has sent every reply; questions and card submits mixed)',
      ['Bot', 'Conversations', 'Turns', 'Turns/s', 'p50 (ms)', 'p99 (ms)', 'Errors', 'Replies/turn', 'Bot CPU/turn (ms)'],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']
    );
    const names: Record<BotKind, string> = {
      json: 'Assistant, JSON store',
      memory: 'Assistant, MemoryStorage',
      echo: 'Echo bot (botbuilder as shipped)',
      'echo-reuse': 'Echo bot, clients reused as the assistant does'
    };
    for (const t of turns) {
      for (const l of t.loads) {
        out.push(
          `| ${names[t.kind]} | ${l.concurrency} | ${l.turns} | ${l.turnsPerSecond.toFixed(0)} | ${ms(l.latency.p50)} | ${ms(l.latency.p99)} | ${l.errors} | ${l.repliesPerTurn?.toFixed(2) ?? '—'} | ${cpuPerTurn(l)} |`
        );
      }
    }
    out.push('');
    if (json && (memory || echo)) {
      const reuse = turns.find((t) => t.kind === 'echo-reuse');
      tableStart(
        out,
        'Ratios (turns/s: higher is better for the assistant; p50: lower is better):',
        ['Conversations', 'JSON ÷ Memory turns/s', 'JSON ÷ Memory p50', 'JSON ÷ Echo turns/s', 'JSON ÷ Echo p50', 'JSON ÷ Echo (clients reused) turns/s'],
        ['---:', '---:', '---:', '---:', '---:', '---:']
      );
      for (const l of json.loads) {
        const m = at(memory, l.concurrency);
        const e = at(echo, l.concurrency);
        const e2 = at(reuse, l.concurrency);
        const r = (a?: number, b?: number) => (a !== undefined && b ? (a / b).toFixed(2) : '—');
        out.push(
          `| ${l.concurrency} | ${r(l.turnsPerSecond, m?.turnsPerSecond)} | ${r(l.latency.p50, m?.latency.p50)} | ${r(l.turnsPerSecond, e?.turnsPerSecond)} | ${r(l.latency.p50, e?.latency.p50)} | ${r(l.turnsPerSecond, e2?.turnsPerSecond)} |`
        );
      }
      out.push('');
    }
  }
  if (scale) {
    tableStart(
      out,
      '**Store scaling** (JSON store pre-populated with realistic records; one conversation at a time, half of them returning stored users)',
      ['Stored users', 'Items', 'store.json', 'Start-up (ms)', 'RSS after start', 'RSS after load', 'Turns', 'p50 (ms)', 'p99 (ms)', 'Mean (ms)', 'Errors'],
      Array(11).fill('---:')
    );
    for (const s of scale) {
      out.push(
        `| ${s.users.toLocaleString('en-US')} | ${s.items.toLocaleString('en-US')} | ${mb(s.storeBytes)} | ${s.startupMs.toFixed(0)} | ${mb(s.rssAfterStart)} | ${mb(s.rssAfterLoad)} | ${s.load.turns} | ${ms(s.load.latency.p50)} | ${ms(s.load.latency.p99)} | ${ms(s.load.latency.mean)} | ${s.load.errors} |`
      );
    }
    out.push('');
  }
  tableStart(out, '**Floors and goals**', ['Check', 'Target', 'Measured', 'Holds'], ['---', '---', '---', '---']);
  const jsonTurns = turns?.find((t) => t.kind === 'json');
  const json1 = at(jsonTurns, 1);
  const json16 = at(jsonTurns, 16);
  const echo16 = at(turns?.find((t) => t.kind === 'echo'), 16);
  const reuse16 = at(turns?.find((t) => t.kind === 'echo-reuse'), 16);
  const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
  if (json1) out.push(`| One conversation at a time, p99 per turn | < 25 ms | ${ms(json1.latency.p99)} ms | ${yes(json1.latency.p99 < 25)} |`);
  if (json16 && echo16) {
    const ratio = json16.turnsPerSecond / echo16.turnsPerSecond;
    out.push(`| 16 conversations, turns/s vs echo bot (botbuilder as shipped) | ≥ 0.50 | ${ratio.toFixed(2)} | ${yes(ratio >= 0.5)} |`);
    if (reuse16) {
      const same = json16.turnsPerSecond / reuse16.turnsPerSecond;
      out.push(`| 16 conversations, turns/s vs echo bot reusing clients too | ≥ 0.50 | ${same.toFixed(2)} | ${yes(same >= 0.5)} |`);
    }
    out.push(`| 16 conversations, errors | 0 | ${json16.errors} | ${yes(json16.errors === 0)} |`);
  }
  if (scale && scale.length >= 2) {
    const first = scale[0]!;
    const last = scale.at(-1)!;
    const growth = last.load.latency.mean / first.load.latency.mean - 1;
    out.push(
      `| Per-turn cost (mean), ${first.users.toLocaleString('en-US')} → ${last.users.toLocaleString('en-US')} users | grows ≤ 20% | ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)}% | ${yes(growth <= 0.2)} |`
    );
    out.push(`| Start-up at ${last.users.toLocaleString('en-US')} users | < 2000 ms | ${last.startupMs.toFixed(0)} ms | ${yes(last.startupMs < 2000)} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const serveKind = option('--serve') as BotKind | undefined;
  if (serveKind) return serve(serveKind, option('--data-dir')!);
  const quick = flag('--quick');
  const cpuProf = flag('--cpu-prof');
  const only = new Set((option('--only') ?? 'recognizer,turns,scale').split(','));
  const began = performance.now();
  const content = await loadContent(join(PROJECT_ROOT, 'content'));
  const wl = workloadContent(content);
  let recognizer: RecognizerResult[] | undefined;
  let turns: TurnsResult[] | undefined;
  let scale: ScaleResult[] | undefined;
  if (only.has('recognizer')) {
    log('Recognizer…');
    recognizer = benchRecognizer(content, quick);
  }
  if (only.has('turns')) {
    log('Turns end to end…');
    turns = await benchTurns(wl, quick, cpuProf);
  }
  if (only.has('scale')) {
    log('Store scaling…');
    scale = await benchScale(wl, quick, cpuProf);
  }
  const table = report(recognizer, turns, scale);
  process.stdout.write(`\n${table}\n\nTotal run time: ${((performance.now() - began) / 1000).toFixed(0)} s\n`);
  const jsonFile = option('--json');
  if (jsonFile) {
    writeFileSync(jsonFile, JSON.stringify({ node: process.version, recognizer, turns, scale }, (k, v) => (k === 'raw' ? undefined : v), 2));
  }
}

main().then(
  () => {
    if (!option('--serve')) process.exit(0);
  },
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  }
);
