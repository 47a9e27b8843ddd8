import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assistant.js';
import { freePort } from './azurite.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The real server (`node dist/src/index.js`) in its own process. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  exit: Promise<Exit>;
  /** Resolves once /healthz answers 200; rejects if the process exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface SpawnOptions {
  /** Working directory (kept free of a .env file, which index.ts would load). */
  cwd: string;
  /** Variables for the server; PORT is picked when not given. Nothing else is inherited but PATH and HOME. */
  env?: Record<string, string>;
}

const KEEP_OUTPUT = 256 * 1024;

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const port = options.env?.PORT !== undefined ? Number(options.env.PORT) : await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ...options.env
  };
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/index.js')], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // If the runner exits before the test stops the server, the server must not keep running.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  child.once('exit', () => process.removeListener('exit', orphan));
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out = (out + c).slice(-KEEP_OUTPUT)));
  child.stderr!.on('data', (c) => (err = (err + c).slice(-KEEP_OUTPUT)));
  // 'close' waits for the pipes too, so stderr is complete when exit resolves.
  const exit = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let exited = false;
  void exit.then(() => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    exit,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`server exited before it was ready (${JSON.stringify(await exit)}): ${err.trim() || out.trim()}`);
        try {
          const r = await fetch(`${url}/healthz`);
          if (r.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      throw new Error(`server not ready after ${timeoutMs} ms: ${err.trim() || out.trim()}`);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
      return exit;
    }
  };
}

/** Spawns the server and waits until it is ready; a port taken in the meantime gets another try. */
export async function startServer(options: SpawnOptions): Promise<ServerProcess> {
  for (let attempt = 0; ; attempt++) {
    const server = await spawnServer(options);
    try {
      await server.ready();
      return server;
    } catch (error) {
      if (attempt < 2 && /EADDRINUSE/.test(server.stderr() + server.stdout())) continue;
      throw error;
    }
  }
}
