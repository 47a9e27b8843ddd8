import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createAssistant, type Assistant, type AssistantOptions } from '../../src/assistant.js';
import { StandInChannel, ChannelConversation, type ConversationOptions } from './standInChannel.js';

export interface RunningAssistant {
  url: string;
  dataDir: string;
  assistant: Assistant;
  channel: StandInChannel;
  logs: string[];
  conversation(options?: ConversationOptions): ChannelConversation;
  /** Stops the server (the data directory is kept until cleanup). */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Starts the real assistant on a free port with its own data directory and a stand-in channel. */
export async function startAssistant(
  env: Record<string, string> = {},
  options: AssistantOptions & { dataDir?: string } = {}
): Promise<RunningAssistant> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'carm-test-')));
  const config: AppConfig = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
  const logs: string[] = [];
  const logger = createLogger(config.LOG_LEVEL, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) as never);
  const assistant = await createAssistant(config, logger, options);
  const port = await assistant.http.listen(0, '127.0.0.1');
  const channel = await StandInChannel.start();
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await assistant.close();
  };
  return {
    url,
    dataDir,
    assistant,
    channel,
    logs,
    conversation: (o) => new ChannelConversation(channel, url, o),
    stop,
    async cleanup() {
      await stop();
      await channel.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  };
}
