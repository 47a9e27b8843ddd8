import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import AdmZip from 'adm-zip';
import appManifest from '@microsoft/app-manifest';
import { config as loadDotEnv } from 'dotenv';
import { ACCENT, colorIcon, encodePng, outlineIcon } from './teamsIcons.js';

const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const TEAMS_DIR = join(PROJECT_ROOT, 'teams');
export const DEFAULT_PACKAGE_FILE = join(TEAMS_DIR, 'build', 'carm-onboarding-assistant.zip');

type Json = Record<string, any>;

/** A problem a person can fix (a missing setting, an invalid manifest): reported in one line. */
export class TeamsPackageError extends Error {}

const GUID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

export interface TeamsPackageSettings {
  botId: string;
  appId: string;
  baseUrl: string;
  host: string;
  developerName: string;
  privacyUrl: string;
  termsUrl: string;
}

function httpsUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TeamsPackageError(`${variable} (${JSON.stringify(value)}) is not a URL: expected https://your-bot.example.com`);
  }
  if (url.protocol !== 'https:') throw new TeamsPackageError(`${variable} (${JSON.stringify(value)}) must start with https:// (Teams only talks to https)`);
  return url;
}

/** Reads what the manifest needs from the environment (.env included), with one clear line per problem. */
export function teamsPackageSettings(env: Record<string, string | undefined>): TeamsPackageSettings {
  const get = (name: string) => env[name]?.trim() || undefined;
  const botId = get('MicrosoftAppId');
  if (!botId) throw new TeamsPackageError("MicrosoftAppId is missing: set it in .env to your Azure Bot's Microsoft App ID (see README, Microsoft Teams)");
  if (!GUID.test(botId)) throw new TeamsPackageError(`MicrosoftAppId (${JSON.stringify(botId)}) is not an app id: expected a GUID like 00000000-0000-0000-0000-000000000000`);
  const appId = get('TEAMS_APP_ID') ?? botId;
  if (!GUID.test(appId)) throw new TeamsPackageError(`TEAMS_APP_ID (${JSON.stringify(appId)}) is not a GUID`);
  const rawBase = get('PUBLIC_BASE_URL');
  if (!rawBase) throw new TeamsPackageError('PUBLIC_BASE_URL is missing: set it in .env to the public https:// address of the bot (see README, Microsoft Teams)');
  const base = httpsUrl('PUBLIC_BASE_URL', rawBase);
  if (base.search || base.hash) throw new TeamsPackageError(`PUBLIC_BASE_URL (${JSON.stringify(rawBase)}) must not carry a query or fragment`);
  const baseUrl = base.href.replace(/\/+$/, '');
  const privacyUrl = httpsUrl('TEAMS_PRIVACY_URL', get('TEAMS_PRIVACY_URL') ?? baseUrl).href;
  const termsUrl = httpsUrl('TEAMS_TERMS_URL', get('TEAMS_TERMS_URL') ?? baseUrl).href;
  const developerName = get('TEAMS_DEVELOPER_NAME') ?? 'CARM Onboarding Assistant';
  if (developerName.length > 32) throw new TeamsPackageError(`TEAMS_DEVELOPER_NAME is ${developerName.length} characters: Teams allows 32`);
  return { botId, appId, baseUrl, host: base.host, developerName, privacyUrl, termsUrl };
}

/** Replaces {{NAME}} in every string of a JSON template; an unknown name is an error, not a blank. */
function fill(template: unknown, values: Record<string, string>): unknown {
  if (typeof template === 'string') {
    return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      if (!(name in values)) throw new TeamsPackageError(`teams/manifest.template.json uses {{${name}}}, which has no value`);
      return values[name]!;
    });
  }
  if (Array.isArray(template)) return template.map((v) => fill(v, values));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fill(v, values)]));
  return template;
}

/** The schema bundled in @microsoft/app-manifest for a manifest's $schema URL, read from disk (never fetched). */
export async function bundledSchema(schemaUrl: string): Promise<Json> {
  const match = /\/json-schemas\/teams\/(v[\w.]+)\/(MicrosoftTeams(?:\.Localization)?\.schema\.json)$/.exec(schemaUrl);
  if (!match) throw new TeamsPackageError(`unrecognised Teams schema URL ${schemaUrl}`);
  const packageDir = dirname(createRequire(import.meta.url).resolve('@microsoft/app-manifest'));
  const file = join(packageDir, 'json-schemas', 'teams', match[1]!, match[2]!);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    throw new TeamsPackageError(`@microsoft/app-manifest has no bundled schema ${match[1]}/${match[2]}`);
  }
  // The package applies the same fix-up to its schemas (\a and \v escapes are not JSON).
  return unicodeSafePatterns(JSON.parse(raw.replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b'))) as Json;
}

/**
 * Ajv compiles patterns with the "u" flag, where a lone "]" is a syntax error; the Localization
 * schemas have two such patterns. Escaping the lone "]" keeps their meaning and lets them compile.
 */
function unicodeSafePattern(pattern: string): string {
  try {
    new RegExp(pattern, 'u');
    return pattern;
  } catch {
    let out = '';
    let inClass = false;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '\\') {
        out += c + (pattern[++i] ?? '');
        continue;
      }
      if (c === '[' && !inClass) inClass = true;
      else if (c === ']' && inClass) inClass = false;
      else if (c === ']') {
        out += '\\]';
        continue;
      }
      out += c;
    }
    return out;
  }
}

function unicodeSafePatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(unicodeSafePatterns);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => {
      if (k === 'patternProperties' && v && typeof v === 'object') {
        return [k, Object.fromEntries(Object.entries(v).map(([p, s]) => [unicodeSafePattern(p), unicodeSafePatterns(s)]))];
      }
      if (k === 'pattern' && typeof v === 'string') return [k, unicodeSafePattern(v)];
      return [k, unicodeSafePatterns(v)];
    })
  );
}

/** Looks up "bots[0].commandLists[1].commands[2].title" in a manifest. */
function lookup(manifest: Json, path: string): unknown {
  let node: unknown = manifest;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[part];
  }
  return node;
}

/**
 * Validates a manifest and its localization files offline against the official schemas for its
 * version, plus what the schemas cannot say (https URLs, every localized key naming a real string).
 * Returns the problems, empty when the package is valid.
 */
export async function validateTeamsApp(manifest: Json, localizations: Record<string, Json>): Promise<string[]> {
  const { AppManifestUtils } = appManifest;
  const problems: string[] = [];
  if (typeof manifest.$schema !== 'string') return ['manifest.json has no $schema'];
  const schema = await bundledSchema(manifest.$schema);
  problems.push(...(await AppManifestUtils.validateAgainstSchema(manifest as never, schema as never)).map((p) => `manifest.json${p}`));
  if (!manifest.$schema.includes(`/v${manifest.manifestVersion}/`)) problems.push(`manifest.json: $schema does not match manifestVersion ${manifest.manifestVersion}`);
  for (const key of ['websiteUrl', 'privacyUrl', 'termsOfUseUrl']) {
    if (!String(manifest.developer?.[key]).startsWith('https://')) problems.push(`manifest.json: developer.${key} is not https`);
  }
  const declared = (manifest.localizationInfo?.additionalLanguages ?? []) as Array<{ languageTag: string; file: string }>;
  for (const { file } of declared) if (!localizations[file]) problems.push(`manifest.json: localization file ${file} is missing`);
  for (const [file, strings] of Object.entries(localizations)) {
    if (!declared.some((d) => d.file === file)) problems.push(`${file} is not declared in localizationInfo`);
    if (typeof strings.$schema !== 'string') {
      problems.push(`${file} has no $schema`);
      continue;
    }
    const localizationSchema = await bundledSchema(strings.$schema);
    problems.push(...(await AppManifestUtils.validateAgainstSchema(strings as never, localizationSchema as never)).map((p) => `${file}${p}`));
    for (const [key, value] of Object.entries(strings)) {
      if (key === '$schema') continue;
      const original = lookup(manifest, key);
      if (typeof original !== 'string') problems.push(`${file}: "${key}" translates nothing in manifest.json`);
      else if (typeof value !== 'string' || !value.trim()) problems.push(`${file}: "${key}" is empty`);
    }
  }
  return problems;
}

export interface TeamsPackage {
  file: string;
  manifest: Json;
  localizations: Record<string, Json>;
  entries: string[];
}

export interface TeamsPackageOptions {
  env: Record<string, string | undefined>;
  /** Where to write the zip; teams/build/carm-onboarding-assistant.zip by default. */
  outFile?: string;
  /** The folder holding manifest.template.json and the localization files. */
  templateDir?: string;
}

/** Fills the manifest from the environment, draws the icons, validates everything and writes the zip. */
export async function buildTeamsPackage(options: TeamsPackageOptions): Promise<TeamsPackage> {
  const settings = teamsPackageSettings(options.env);
  const templateDir = options.templateDir ?? TEAMS_DIR;
  const version: string = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
  const template = JSON.parse(await readFile(join(templateDir, 'manifest.template.json'), 'utf8'));
  const manifest = fill(template, {
    VERSION: version,
    TEAMS_APP_ID: settings.appId,
    MicrosoftAppId: settings.botId,
    PUBLIC_BASE_URL: settings.baseUrl,
    PUBLIC_HOST: settings.host,
    TEAMS_DEVELOPER_NAME: settings.developerName,
    TEAMS_PRIVACY_URL: settings.privacyUrl,
    TEAMS_TERMS_URL: settings.termsUrl,
    ACCENT_COLOR: ACCENT
  }) as Json;
  const localizations: Record<string, Json> = {};
  for (const { file } of manifest.localizationInfo?.additionalLanguages ?? []) {
    localizations[file] = JSON.parse(await readFile(join(templateDir, file), 'utf8'));
  }
  const problems = await validateTeamsApp(manifest, localizations);
  if (problems.length > 0) throw new TeamsPackageError(`the Teams manifest is not valid: ${problems.join('; ')}`);

  const zip = new AdmZip();
  zip.addFile('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8'));
  zip.addFile(manifest.icons.color, encodePng(colorIcon()));
  zip.addFile(manifest.icons.outline, encodePng(outlineIcon()));
  for (const [file, strings] of Object.entries(localizations)) zip.addFile(file, Buffer.from(JSON.stringify(strings, null, 2) + '\n', 'utf8'));
  const outFile = resolve(options.outFile ?? DEFAULT_PACKAGE_FILE);
  await mkdir(dirname(outFile), { recursive: true });
  await zip.writeZipPromise(outFile, { overwrite: true });
  return { file: outFile, manifest, localizations, entries: zip.getEntries().map((e) => e.entryName) };
}

async function main(): Promise<void> {
  loadDotEnv({ quiet: true });
  try {
    // Optional argument: where to write the zip (default teams/build/carm-onboarding-assistant.zip).
    const built = await buildTeamsPackage({ env: process.env, outFile: process.argv[2] });
    process.stdout.write(
      `Teams app package written: ${built.file}\n` +
        `  app id ${built.manifest.id}, bot ${built.manifest.bots[0].botId}, version ${built.manifest.version}\n` +
        `  upload it in Teams: Apps > Manage your apps > Upload an app > Upload a custom app\n`
    );
  } catch (error) {
    if (error instanceof TeamsPackageError) {
      process.stderr.write(`teams:package: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`teams:package: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
