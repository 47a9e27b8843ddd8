import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, realpath } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assistant.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  port: number;
  connectionString: string;
  /** Everything Azurite printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (Azurite cannot be told to pick one and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/**
 * Starts Azurite's blob service from node_modules with the current Node (so a Node 24 run tests
 * Azurite on Node 24 too), in memory, on a free port; resolves once it accepts connections.
 */
export async function startAzurite(options: { port?: number; timeoutMs?: number } = {}): Promise<RunningAzurite> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const main = await realpath(join(PROJECT_ROOT, 'node_modules/.bin/azurite-blob'));
  let lastError: Error | undefined;
  // Another process can take the port between freePort() and Azurite's bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    // In memory (Azurite refuses --location with it); the temp cwd catches any stray file it writes.
    const cwd = await mkdtemp(join(tmpdir(), 'carm-azurite-'));
    const child = spawn(
      process.execPath,
      [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--silent', '--disableTelemetry', '--skipApiVersionCheck'],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    // If the runner exits before the after hooks, Azurite must not keep running.
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.removeListener('exit', orphan));
    let text = '';
    child.stdout!.on('data', (c) => (text += c));
    child.stderr!.on('data', (c) => (text += c));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited(child);
        clearTimeout(timer);
      }
      await rm(cwd, { recursive: true, force: true });
    };
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (/successfully listens/i.test(text) && (await accepts(port))) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        port,
        connectionString:
          `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
          `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
        output: () => text,
        stop
      };
    }
    await stop();
    lastError = new Error(`Azurite did not start on port ${port} (exit ${child.exitCode ?? child.signalCode ?? 'none'}): ${text.trim().slice(-2000)}`);
    if (options.port || !/EADDRINUSE/.test(text)) break;
  }
  throw lastError;
}
