/**
 * Writes a CLU project import file (Language Studio > Import, or the authoring API :import) from content/.
 * Usage: node dist/scripts/cluExport.js [output.json] [--project NAME]
 *   output   default clu/carm-assistant.clu.json
 *   NAME     default $CLU_PROJECT, else carm-assistant (must match CLU_PROJECT at runtime)
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadContent } from '../src/content/loadContent.js';
import { PROJECT_ROOT } from '../src/projectRoot.js';
import { buildCluProject, CluExportError, summarize } from '../src/recognizers/cluProject.js';


function parseArgs(argv: string[]): { out: string; project: string } {
  let out: string | undefined;
  let project = process.env.CLU_PROJECT?.trim() || 'carm-assistant';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--project') {
      const value = argv[++i];
      if (!value) throw new CluExportError('--project needs a name');
      project = value;
    } else if (arg.startsWith('--')) {
      throw new CluExportError(`unknown option ${arg}`);
    } else if (out === undefined) {
      out = arg;
    } else {
      throw new CluExportError(`unexpected argument ${arg}`);
    }
  }
  return { out: resolve(out ?? join('clu', 'carm-assistant.clu.json')), project };
}

try {
  const { out, project } = parseArgs(process.argv.slice(2));
  const content = await loadContent(join(PROJECT_ROOT, 'content'));
  const file = buildCluProject(content, { projectName: project });
  await mkdir(dirname(out), { recursive: true });
  // Written whole then renamed, so an interrupted run never leaves half a file to upload.
  const temp = `${out}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, 'utf8');
  await rename(temp, out);
  const s = summarize(file);
  const perLanguage = Object.entries(s.byLanguage)
    .map(([lang, n]) => `${lang} ${n}`)
    .join(', ');
  const entries = s.intents - s.commands - 1;
  console.log(
    `CLU project "${project}" written to ${out}: ${s.intents} intents (${entries} answers, ${s.commands} commands, None), ${s.utterances} utterances (${perLanguage})`
  );
} catch (error) {
  console.error(`clu:export failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
