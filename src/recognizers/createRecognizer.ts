import type { AppConfig } from '../config.js';
import type { AssistantContent } from '../content/loadContent.js';
import type { Logger } from '../logger.js';
import { CluRecognizer } from './cluRecognizer.js';
import type { UtteranceRecognizer } from './recognition.js';

/** CLU when all four CLU settings are present; otherwise the local recognizer alone. */
export function createRecognizer(config: AppConfig, local: UtteranceRecognizer, content: AssistantContent, logger: Logger): UtteranceRecognizer {
  if (!(config.CLU_ENDPOINT && config.CLU_KEY && config.CLU_PROJECT && config.CLU_DEPLOYMENT)) return local;
  logger.info({ endpoint: config.CLU_ENDPOINT, project: config.CLU_PROJECT }, 'using Azure CLU with the local recognizer as fallback');
  return new CluRecognizer(
    {
      endpoint: config.CLU_ENDPOINT,
      key: config.CLU_KEY,
      project: config.CLU_PROJECT,
      deployment: config.CLU_DEPLOYMENT,
      timeoutMs: config.CLU_TIMEOUT_MS,
      allowInsecureConnection: config.CLU_ALLOW_INSECURE
    },
    local,
    content.lexicon,
    new Set(content.knowledge.map((e) => e.id)),
    logger,
    content.commandWords
  );
}
