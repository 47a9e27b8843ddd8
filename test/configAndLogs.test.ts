import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../src/config.js';
import { createLogger, redactBusinessNumbers } from '../src/logger.js';

describe('configuration', () => {
  it('works with nothing configured', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 3978);
    assert.equal(c.DATA_DIR, './data');
    assert.equal(c.STORAGE, 'json');
  });

  it('a bad value gives one line naming the variable and what is expected', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'eighty' }, /^Invalid configuration: PORT \("eighty"\): expected a whole number/],
      [{ PORT: '70000' }, /PORT .*expected a whole number from 1 to 65535/],
      [{ STORAGE: 'mongo' }, /STORAGE \("mongo"\): expected/],
      [{ STORAGE: 'blob' }, /BLOB_CONNECTION_STRING \(missing\): expected required when STORAGE=blob/],
      [{ MicrosoftAppId: 'abc' }, /MicrosoftAppPassword \(missing\)/],
      [{ CLU_ENDPOINT: 'https://x.cognitiveservices.azure.com' }, /CLU_KEY \(missing\).*all four/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/]
    ];
    for (const [env, expected] of cases) {
      assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && expected.test(e.message) && !e.message.includes('\n'));
    }
  });

  it('never echoes a secret in the message', () => {
    assert.throws(() => loadConfig({ CLU_KEY: 'super-secret-key' }), (e: Error) => !e.message.includes('super-secret-key'));
  });
});

describe('logs', () => {
  it('redact business numbers in every spelling, in messages and fields', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => lines.push(l) });
    logger.info({ text: 'my BN is 123456782 and account 123456782RM0001' }, 'user said 123 456 782 rm 0001');
    const out = lines.join('');
    assert.doesNotMatch(out, /123456782|123 456 782/);
    assert.match(out, /\[BN redacted\]/);
  });
  it('leave other numbers alone', () => {
    assert.equal(redactBusinessNumbers('port 3978, 1-800-461-9999, 2026-11-26'), 'port 3978, 1-800-461-9999, 2026-11-26');
  });
});
