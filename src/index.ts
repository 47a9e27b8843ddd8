import { config as loadDotEnv } from 'dotenv';
import { loadConfig, ConfigError } from './config.js';
import { createLogger } from './logger.js';
import { createAssistant } from './assistant.js';
import { DataDirLockedError } from './storage/dataDirLock.js';
import { StoreFileCorruptError } from './storage/durableFile.js';
import { ContentError } from './content/loadContent.js';

/** Start-up problems a person can fix get one clear line, not a stack trace. */
function fail(message: string): never {
  process.stderr.write(`carm-assistant: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  loadDotEnv({ quiet: true });
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  let assistant;
  try {
    assistant = await createAssistant(config, logger);
  } catch (error) {
    if (error instanceof DataDirLockedError || error instanceof StoreFileCorruptError || error instanceof ContentError) fail(error.message);
    throw error;
  }
  const port = await assistant.http.listen(config.PORT, config.HOST);
  logger.info({ port, storage: config.STORAGE }, `CARM assistant listening: chat page http://localhost:${port}/ , bot endpoint /api/messages`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing turns and flushing the store');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    try {
      await assistant.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`carm-assistant: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
