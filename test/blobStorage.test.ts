import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Storage, StoreItems } from 'botbuilder';
import { blobName, SafeBlobsStorage } from '../src/storage/blobStorage.js';
import { ProgressRepository } from '../src/onboarding/progressRepository.js';
import { OnboardingPlan } from '../src/onboarding/onboardingPlan.js';
import { loadContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/assistant.js';
import { storageContract } from './support/storageContract.js';
import { startAzurite, freePort, type RunningAzurite } from './support/azurite.js';
import { startAssistant } from './support/testAssistant.js';
import { visibleText } from './support/standInChannel.js';

/** A container name that is valid (3-63 lowercase letters, digits, dashes) and new. */
const container = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Slows reads so that two writers read the same version before either writes. */
function slowReads(storage: Storage, ms: number): Storage {
  return {
    read: async (keys) => {
      const found = await storage.read(keys);
      await new Promise((r) => setTimeout(r, ms));
      return found;
    },
    write: (changes) => storage.write(changes),
    delete: (keys) => storage.delete(keys)
  };
}

describe('Blob storage (BlobsStorage on Azurite)', function () {
  this.timeout(60_000);
  let azurite: RunningAzurite;
  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite?.stop();
  });

  storageContract(
    'SafeBlobsStorage',
    async () => SafeBlobsStorage.fromConnectionString(azurite.connectionString, container('contract')),
    async () => undefined
  );

  describe('blob names', () => {
    it('are one-to-one, URL-safe and at most 1,024 characters, even for keys BlobsStorage would merge', () => {
      const keys = [
        '', '_', '.', 'a/b', 'a//b', '/a/b', 'a/b/', 'a_2Fb', 'a%2Fb', 'a.002Fb', 'é', '\u00e9', 'e\u0301', '\ud800', '\udc00', '🇨🇦',
        'x'.repeat(1024), 'x'.repeat(1025), 'é'.repeat(1000) + '1', 'é'.repeat(1000) + '2', '~', 'a~b'
      ];
      const names = keys.map(blobName);
      assert.equal(new Set(names).size, new Set(keys).size);
      for (const name of names) {
        assert.ok(name.length >= 1 && name.length <= 1024, `${name.length} characters`);
        assert.match(name, /^[A-Za-z0-9_.~-]+$/);
        assert.equal(encodeURIComponent(name), name);
        assert.doesNotMatch(name, /\.$/);
      }
      assert.equal(blobName('emulator/conversations/conv-1'), 'emulator_2Fconversations_2Fconv-1');
    });
  });

  describe('recovery', () => {
    it('works once the storage account is reachable again after a failed first call', async () => {
      // BlobsStorage alone caches its failed container creation and fails every call until a restart.
      const port = await freePort();
      const connectionString = azurite.connectionString.replace(`:${azurite.port}/`, `:${port}/`);
      const storage = SafeBlobsStorage.fromConnectionString(connectionString, container('late'), {
        storagePipelineOptions: { retryOptions: { maxTries: 1 } }
      });
      await assert.rejects(storage.read(['k']), /ECONNREFUSED/);
      const late = await startAzurite({ port });
      try {
        await storage.write({ k: { v: 1 } });
        assert.equal((await storage.read(['k'])).k.v, 1);
      } finally {
        await late.stop();
      }
    });
  });

  describe('ProgressRepository on Blob storage', () => {
    const user = { channelId: 'msteams', userId: 'aad-été/1' };

    it('loses no update when 100 turns of the same user update at once', async () => {
      const repo = new ProgressRepository(SafeBlobsStorage.fromConnectionString(azurite.connectionString, container('progress')));
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          repo.update(user, (p) => {
            p.steps[`step-${i}`] = { status: 'done', at: new Date().toISOString() };
          })
        )
      );
      assert.equal(Object.keys((await repo.get(user))!.steps).length, 100);
    });

    it('two processes (two clients, two repositories) lose no update: eTag conflicts are retried', async () => {
      const name = container('two');
      let conflicts = 0;
      const counting = (storage: Storage): Storage => ({
        read: (keys) => storage.read(keys),
        write: async (changes: StoreItems) => {
          try {
            await storage.write(changes);
          } catch (error) {
            if (/eTag conflict/.test(String(error))) conflicts++;
            throw error;
          }
        },
        delete: (keys) => storage.delete(keys)
      });
      const a = new ProgressRepository(slowReads(counting(SafeBlobsStorage.fromConnectionString(azurite.connectionString, name)), 10));
      const b = new ProgressRepository(slowReads(counting(SafeBlobsStorage.fromConnectionString(azurite.connectionString, name)), 10));
      await a.update(user, () => undefined);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).update(user, (p) => {
            p.steps[`s${i}`] = { status: 'later', at: 'now' };
          })
        )
      );
      assert.equal(Object.keys((await b.get(user))!.steps).length, 40);
      assert.ok(conflicts > 0, 'the two writers never collided: the test did not exercise the eTag path');
    });

    it('(control) without eTags the same interleaving does lose updates, so the test above can fail', async () => {
      const name = container('control');
      const lastWriterWins = (storage: Storage): Storage => ({
        read: (keys) => storage.read(keys),
        write: (changes: StoreItems) =>
          storage.write(Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, { ...v, eTag: '*' }]))),
        delete: (keys) => storage.delete(keys)
      });
      const a = new ProgressRepository(slowReads(lastWriterWins(SafeBlobsStorage.fromConnectionString(azurite.connectionString, name)), 10));
      const b = new ProgressRepository(slowReads(lastWriterWins(SafeBlobsStorage.fromConnectionString(azurite.connectionString, name)), 10));
      await a.update(user, () => undefined);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).update(user, (p) => {
            p.steps[`s${i}`] = { status: 'later', at: 'now' };
          })
        )
      );
      assert.ok(Object.keys((await b.get(user))!.steps).length < 40);
    });
  });

  describe('the assistant with STORAGE=blob', () => {
    it("keeps a user's onboarding progress through a restart (and a new DATA_DIR)", async () => {
      const content = await loadContent(join(PROJECT_ROOT, 'content'));
      const [first, second] = new OnboardingPlan(content.plan).stepsFor(undefined);
      const env = { STORAGE: 'blob', BLOB_CONNECTION_STRING: azurite.connectionString, BLOB_CONTAINER: container('e2e') };
      const userId = `user-${randomUUID()}`;

      const before = await startAssistant(env);
      try {
        const c = before.conversation({ userId, locale: 'fr-CA' });
        for (const planned of [first!, second!]) {
          const replies = await c.click({ action: 'markDone', stepId: planned.step.id });
          assert.match(visibleText(replies), new RegExp(planned.step.fr.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        }
      } finally {
        await before.cleanup();
      }

      const after = await startAssistant(env);
      try {
        const stored = await after.assistant.progress.get({ channelId: 'emulator', userId });
        assert.deepEqual(Object.keys(stored?.steps ?? {}).sort(), [first!.step.id, second!.step.id].sort());
        const c = after.conversation({ userId });
        const welcome = visibleText(await c.join());
        assert.match(welcome, /Welcome back! You've completed 2 of \d+ onboarding steps/);
        // The card's fallback text lists the checklist one step a line: "✔ <title> (Done)".
        const card = (await c.click({ action: 'command', command: 'show_progress' }))
          .flatMap((r) => (r.attachments ?? []).map((a: { content?: { fallbackText?: string } }) => a.content?.fallbackText ?? ''))
          .join('\n');
        const done = card.split('\n').filter((line) => line.startsWith('✔ '));
        assert.deepEqual(done.sort(), [`✔ ${first!.step.en.title} (Done)`, `✔ ${second!.step.en.title} (Done)`].sort());
      } finally {
        await after.cleanup();
      }
    });
  });
});
