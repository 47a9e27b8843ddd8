import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const port = z.coerce
  .number({ error: 'a whole number from 1 to 65535' })
  .int('a whole number from 1 to 65535')
  .min(0, 'a whole number from 1 to 65535')
  .max(65535, 'a whole number from 1 to 65535');

/** Every setting the service reads, with its default. Documented in .env.example. */
export const ConfigSchema = z
  .object({
    PORT: port.default(3978),
    HOST: z.string().default('0.0.0.0'),
    DATA_DIR: z.string().min(1).default('./data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    MicrosoftAppId: optionalString,
    MicrosoftAppPassword: optionalString,
    MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
    MicrosoftAppTenantId: optionalString,
    STORAGE: z.enum(['json', 'blob']).default('json'),
    BLOB_CONNECTION_STRING: optionalString,
    BLOB_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'a blob container name: 3-63 lowercase letters, digits and dashes')
      .default('carm-assistant'),
    CLU_ENDPOINT: optionalString.pipe(z.url('an https:// URL of the Azure AI Language resource').optional()),
    CLU_KEY: optionalString,
    CLU_PROJECT: optionalString,
    CLU_DEPLOYMENT: optionalString,
    CLU_TIMEOUT_MS: z.coerce.number().int().min(100).max(10000).default(1500),
    CLU_ALLOW_INSECURE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    DIRECT_LINE_SECRET: optionalString,
    DIRECT_LINE_ENDPOINT: z.url('an https:// URL').default('https://directline.botframework.com/v3/directline'),
    WEBCHAT_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(1800),
    PUBLIC_BASE_URL: optionalString.pipe(z.url('the public https:// URL of the bot').optional())
  })
  .superRefine((c, ctx) => {
    if (c.MicrosoftAppId && c.MicrosoftAppType !== 'UserAssignedMSI' && !c.MicrosoftAppPassword) {
      ctx.addIssue({ code: 'custom', path: ['MicrosoftAppPassword'], message: 'required when MicrosoftAppId is set' });
    }
    if (c.MicrosoftAppType === 'SingleTenant' && c.MicrosoftAppId && !c.MicrosoftAppTenantId) {
      ctx.addIssue({ code: 'custom', path: ['MicrosoftAppTenantId'], message: 'required for a SingleTenant app' });
    }
    if (c.STORAGE === 'blob' && !c.BLOB_CONNECTION_STRING) {
      ctx.addIssue({ code: 'custom', path: ['BLOB_CONNECTION_STRING'], message: 'required when STORAGE=blob' });
    }
    const clu = [c.CLU_ENDPOINT, c.CLU_KEY, c.CLU_PROJECT, c.CLU_DEPLOYMENT];
    if (clu.some(Boolean) && !clu.every(Boolean)) {
      const missing = ['CLU_ENDPOINT', 'CLU_KEY', 'CLU_PROJECT', 'CLU_DEPLOYMENT'].filter((_, i) => !clu[i]);
      ctx.addIssue({ code: 'custom', path: [missing[0]!], message: 'CLU needs all four of CLU_ENDPOINT, CLU_KEY, CLU_PROJECT, CLU_DEPLOYMENT' });
    }
  });

export type AppConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Validates the environment; a bad value gives one line naming the variable and what it expects. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'configuration');
  const given = env[variable];
  const shown = given === undefined ? 'missing' : variable.match(/KEY|PASSWORD|SECRET|CONNECTION/) ? 'set' : JSON.stringify(given);
  throw new ConfigError(`Invalid configuration: ${variable} (${shown}): expected ${issue.message.replace(/^Invalid input: /, '')}`);
}
