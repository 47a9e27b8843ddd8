import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DurableJsonStorage } from '../src/storage/durableJsonStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { VERSION } from '../src/assistant.js';
import { StandInChannel, ChannelConversation } from './support/standInChannel.js';
import { spawnServer, startServer, type ServerProcess } from './support/serverProcess.js';

const STEP = 'choose-business-account-manager';

/** Non-empty lines a process wrote. */
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/**
 * A channel whose reply endpoint holds every response until released, so the bot's turns stay in
 * flight (each has stored its progress and waits on sendActivity).
 */
class HeldChannel {
  private held: Array<() => void> = [];
  private released = false;
  readonly seen = new Set<string>();
  private constructor(private readonly server: Server, readonly serviceUrl: string) {}

  static async start(): Promise<HeldChannel> {
    let channel!: HeldChannel;
    const server = createServer(async (req: IncomingMessage, res) => {
      for await (const _ of req);
      const match = /^\/v3\/conversations\/([^/]+)\/activities/.exec(req.url ?? '');
      if (match) channel.seen.add(decodeURIComponent(match[1]!));
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: randomUUID() }));
      };
      if (channel.released) answer();
      else channel.held.push(answer);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    channel = new HeldChannel(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return channel;
  }

  release(): void {
    this.released = true;
    this.held.splice(0).forEach((answer) => answer());
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('the server as a process', function () {
  this.timeout(60_000);
  let root: string;
  let dataDir: string;
  const running: ServerProcess[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'carm-process-'));
    dataDir = join(root, 'data');
  });
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string> = {}) => {
    const server = await startServer({ cwd: root, env: { DATA_DIR: dataDir, ...env } });
    running.push(server);
    return server;
  };

  it('answers /healthz with 200 and the version once ready', async () => {
    const server = await start();
    const r = await fetch(`${server.url}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok', version: VERSION });
  });

  it('a second instance on the same DATA_DIR exits non-zero with one clear line, and the first keeps serving', async () => {
    const first = await start();
    const lockBefore = await readFile(join(dataDir, 'store.lock'), 'utf8');
    const second = await spawnServer({ cwd: root, env: { DATA_DIR: dataDir } });
    running.push(second);
    const exit = await second.exit;
    assert.notEqual(exit.code, 0);
    const said = lines(second.stderr());
    assert.equal(said.length, 1, second.stderr());
    assert.ok(said[0]!.includes(`data directory ${dataDir}`), said[0]);
    assert.match(said[0]!, /already using/);

    assert.equal(await readFile(join(dataDir, 'store.lock'), 'utf8'), lockBefore);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    const channel = await StandInChannel.start();
    try {
      const c = new ChannelConversation(channel, first.url);
      const replies = await c.click({ action: 'markDone', stepId: STEP });
      assert.ok(replies.length > 0);
    } finally {
      await channel.close();
    }
  });

  it('a store file that does not parse stops the start with a message naming it, and the file is left byte for byte', async () => {
    await mkdir(dataDir);
    const file = join(dataDir, 'store.json');
    const bad = Buffer.from('{"format":1,"items":{"a":"{\\"v\\":1}", \u00e9\u0000', 'utf8');
    await writeFile(file, bad);
    const server = await spawnServer({ cwd: root, env: { DATA_DIR: dataDir } });
    running.push(server);
    const exit = await server.exit;
    assert.notEqual(exit.code, 0);
    const said = lines(server.stderr());
    assert.equal(said.length, 1, server.stderr());
    assert.ok(said[0]!.includes(file), said[0]);
    assert.match(said[0]!, /not valid JSON/);
    assert.ok((await readFile(file)).equals(bad));
    // Nothing else written, and no lock left behind.
    assert.deepEqual(await readdir(dataDir), ['store.json']);
  });

  it('a bad config value (PORT=abc) stops the start with one line naming PORT, before touching DATA_DIR', async () => {
    const server = await spawnServer({ cwd: root, env: { DATA_DIR: dataDir, PORT: 'abc' } });
    running.push(server);
    const exit = await server.exit;
    assert.notEqual(exit.code, 0);
    const said = lines(server.stderr());
    assert.equal(said.length, 1, server.stderr());
    assert.match(said[0]!, /\bPORT\b/);
    assert.match(said[0]!, /"abc"/);
    assert.equal(lines(server.stdout()).length, 0);
    await assert.rejects(stat(dataDir));
  });

  it('SIGTERM with turns in flight: they finish with 200, the writes are on disk, exit 0, lock gone', async () => {
    const server = await start();
    const channel = await HeldChannel.start();
    try {
      const users = Array.from({ length: 8 }, (_, i) => ({ userId: `user-${i}-${randomUUID()}`, conversationId: `conv-${i}-${randomUUID()}` }));
      const posts = users.map((u) =>
        fetch(`${server.url}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'message',
            id: `act-${randomUUID()}`,
            serviceUrl: channel.serviceUrl,
            channelId: 'emulator',
            conversation: { id: u.conversationId },
            from: { id: u.userId },
            recipient: { id: 'carm-bot' },
            locale: 'en-CA',
            value: { action: 'markDone', stepId: STEP }
          })
        }).then((r) => r.status)
      );
      // Every turn has stored its progress and now waits on its first reply.
      const deadline = Date.now() + 20_000;
      while (channel.seen.size < users.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(channel.seen.size, users.length, 'not every turn reached its reply');

      server.child.kill('SIGTERM');
      // Longer than the 2 s the server gives idle sockets to close: only waiting for the turns keeps it up.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(server.child.exitCode, null, 'the process exited with turns in flight');
      const during = await fetch(`${server.url}/healthz`).then((r) => r.status, () => 'refused');
      assert.notEqual(during, 200, 'still reporting healthy while stopping');

      channel.release();
      assert.deepEqual(await Promise.all(posts), users.map(() => 200));
      const exit = await server.exit;
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());

      await assert.rejects(stat(join(dataDir, 'store.lock')), /ENOENT/);
      // The clean stop folded the journal into the snapshot.
      assert.equal((await stat(join(dataDir, 'store.journal'))).size, 0);
      const snapshot = JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8')) as { items: Record<string, string> };
      for (const u of users) {
        // Conversation state is saved at the very end of a turn, so after SIGTERM: it must be there too.
        assert.ok(Object.keys(snapshot.items).some((k) => k.includes(u.conversationId)), `no conversation state for ${u.conversationId}`);
      }
      const storage = await DurableJsonStorage.open(dataDir);
      try {
        const repo = new ProgressRepository(storage);
        for (const u of users) assert.equal((await repo.get({ channelId: 'emulator', userId: u.userId }))?.steps[STEP]?.status, 'done');
      } finally {
        await storage.close();
      }
    } finally {
      await channel.close();
    }
  });
});
