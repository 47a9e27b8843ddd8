import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/** One intent as CLU puts it on the wire (the SDK renames confidenceScore to `confidence`). */
export interface CluWireIntent {
  category: string;
  confidenceScore: number;
}

/** The request body of analyze-conversations for a Conversation project. */
export interface AnalyzeConversationBody {
  kind: 'Conversation';
  analysisInput: { conversationItem: { id: string; participantId: string; text: string; language?: string; modality?: string } };
  parameters: { projectName: string; deploymentName: string; stringIndexType?: string; verbose?: boolean; isLoggingEnabled?: boolean };
}

/** The test's script: what CLU "predicts" for a text. */
export type CluScript = (text: string, body: AnalyzeConversationBody) => CluWireIntent[] | Promise<CluWireIntent[]>;

/**
 * How the next answers fail: an HTTP error status with CLU's error JSON, a 200 whose body is not a
 * conversation prediction, a 200 that is not JSON at all, or a connection dropped mid-request.
 */
export type CluFailure =
  | { kind: 'status'; status: number }
  | { kind: 'malformed' }
  | { kind: 'notJson' }
  | { kind: 'reset' };

export interface CluStandInOptions {
  key: string;
  project: string;
  deployment: string;
  script?: CluScript;
  /** CLU's project setting: a top score below it makes topIntent "None" (the intents keep their scores). */
  confidenceThreshold?: number;
}

export interface CluRequestRecord {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  status?: number;
}

/** API versions of the runtime analyze-conversations call (the SDK 1.0.0-beta.1 sends the first). */
const API_VERSIONS = new Set(['2022-05-15-preview', '2022-10-01-preview', '2023-04-01', '2024-11-01']);
/** CLU's prediction limit on the text of one utterance. */
const MAX_TEXT = 1000;

/**
 * A local server that speaks the runtime REST protocol of Azure AI Language CLU
 * (POST {endpoint}/language/:analyze-conversations), as @azure/ai-language-conversations calls it.
 * It checks what the real service checks first — the key, then the route and api-version, then the
 * body, then the project and deployment — and answers with the test's script, latency and failures.
 */
export class CluStandIn {
  readonly requests: CluRequestRecord[] = [];
  script: CluScript;
  key: string;
  confidenceThreshold: number;
  latencyMs = 0;
  failure: CluFailure | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly options: CluStandInOptions
  ) {
    this.script = options.script ?? (() => [{ category: 'None', confidenceScore: 1 }]);
    this.key = options.key;
    this.confidenceThreshold = options.confidenceThreshold ?? 0;
  }

  static async start(options: CluStandInOptions): Promise<CluStandIn> {
    let standIn!: CluStandIn;
    const server = createServer((req, res) => {
      standIn.handle(req, res).catch((error) => {
        if (!res.headersSent) send(res, 500, cluError('InternalServerError', String(error)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    standIn = new CluStandIn(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return standIn;
  }

  /** Back to a healthy, instant service with the original key and script. */
  reset(script?: CluScript): void {
    this.failure = undefined;
    this.latencyMs = 0;
    this.key = this.options.key;
    this.confidenceThreshold = this.options.confidenceThreshold ?? 0;
    this.script = script ?? this.options.script ?? (() => [{ category: 'None', confidenceScore: 1 }]);
  }

  /** The texts CLU was asked about, in order. */
  get texts(): string[] {
    return this.requests.map((r) => (r.body as AnalyzeConversationBody | undefined)?.analysisInput?.conversationItem?.text ?? '');
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const record: CluRequestRecord = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: tryJson(raw) };
    this.requests.push(record);
    let gone = false;
    res.once('close', () => (gone = true));
    const reply = async (status: number, body: unknown) => {
      record.status = status;
      await this.delay(res);
      if (gone) return; // the client gave up (timeout): nobody to answer
      send(res, status, body);
    };

    // Azure's gateway checks the key before anything else, with this exact error shape.
    if (req.headers['ocp-apim-subscription-key'] !== this.key) {
      return reply(401, {
        error: {
          code: '401',
          message:
            'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'
        }
      });
    }
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method !== 'POST' || url.pathname !== '/language/:analyze-conversations') {
      return reply(404, { error: { code: '404', message: 'Resource not found' } });
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion || !API_VERSIONS.has(apiVersion)) {
      return reply(400, cluError('InvalidRequest', `The api-version '${apiVersion ?? ''}' is not supported.`, 'InvalidParameterValue'));
    }
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '') || record.body === undefined) {
      return reply(400, cluError('InvalidRequest', 'Invalid Request.', 'InvalidRequestBodyFormat'));
    }
    const problem = invalidBody(record.body);
    if (problem) return reply(400, cluError('InvalidRequest', problem, 'InvalidParameterValue'));
    const body = record.body as AnalyzeConversationBody;
    if (body.parameters.projectName !== this.options.project) {
      return reply(404, cluError('NotFound', `The project '${body.parameters.projectName}' could not be found.`, 'ProjectNotFound'));
    }
    if (body.parameters.deploymentName !== this.options.deployment) {
      return reply(404, cluError('NotFound', `The deployment '${body.parameters.deploymentName}' could not be found.`, 'DeploymentNotFound'));
    }

    const failure = this.failure;
    if (failure?.kind === 'reset') {
      record.status = 0;
      await this.delay(res);
      req.socket.destroy();
      return;
    }
    if (failure?.kind === 'status') return reply(failure.status, cluError(failure.status >= 500 ? 'InternalServerError' : 'InvalidRequest', 'Internal server error.'));
    if (failure?.kind === 'notJson') {
      record.status = 200;
      await this.delay(res);
      if (!gone) send(res, 200, '<html>upstream error</html>', 'text/html');
      return;
    }

    const text = body.analysisInput.conversationItem.text;
    const intents = [...(await this.script(text, body))].sort((a, b) => b.confidenceScore - a.confidenceScore);
    const top = intents[0];
    const topIntent = top && top.confidenceScore >= this.confidenceThreshold ? top.category : 'None';
    if (failure?.kind === 'malformed') {
      // A 200 whose prediction is not a Conversation prediction (no intents list).
      return reply(200, { kind: 'ConversationResult', result: { query: text, prediction: { projectKind: 'Orchestration', topIntent } } });
    }
    return reply(200, {
      kind: 'ConversationResult',
      result: { query: text, prediction: { topIntent, projectKind: 'Conversation', intents, entities: [] } }
    });
  }

  private delay(res: ServerResponse): Promise<void> {
    if (this.latencyMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, this.latencyMs);
      this.timers.add(timer);
      res.once('close', () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve();
      });
    });
  }
}

function invalidBody(body: unknown): string | undefined {
  const b = body as Partial<AnalyzeConversationBody> | null;
  if (!b || typeof b !== 'object') return 'The request body must be a JSON object.';
  if (b.kind !== 'Conversation') return `Task kind '${String(b.kind)}' is not supported by this endpoint.`;
  const item = b.analysisInput?.conversationItem;
  if (!item || typeof item.id !== 'string' || typeof item.participantId !== 'string') return 'analysisInput.conversationItem needs id and participantId.';
  if (typeof item.text !== 'string' || item.text.length === 0) return 'The conversation item text is empty.';
  if (item.text.length > MAX_TEXT) return `The conversation item text is longer than ${MAX_TEXT} characters.`;
  if (item.language !== undefined && typeof item.language !== 'string') return 'language must be a string.';
  if (!b.parameters || typeof b.parameters.projectName !== 'string' || typeof b.parameters.deploymentName !== 'string') {
    return 'parameters need projectName and deploymentName.';
  }
  return undefined;
}

function cluError(code: string, message: string, innerCode?: string) {
  return { error: { code, message, ...(innerCode ? { innererror: { code: innerCode, message } } : {}) } };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'apim-request-id': randomUUID(), 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function tryJson(raw: string): unknown {
  try {
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
