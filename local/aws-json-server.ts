/**
 * The HTTP side shared by the awsJson1_1 emulators (`glue-emulator.ts`, `eventbridge-emulator.ts`).
 *
 * awsJson1_1 is POST / with `x-amz-target: <ServicePrefix>.<Operation>` and a JSON body; answers are JSON
 * with `content-type: application/x-amz-json-1.1`, and errors carry their code both in the body's
 * `__type` and in the `x-amzn-errortype` header (the SDK maps either to its exception classes).
 *
 * `startAwsJsonServer()` listens on loopback, reads each request, parses its target and body, asks the
 * emulator how to answer (`handle`), waits out the emulator's latency and sends the answer. It tracks
 * open sockets and pending latency timers, so `close()` ends hung requests too.
 *
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const AWS_JSON_1_1 = 'application/x-amz-json-1.1';

export interface ErrorDef {
  status: number;
  code: string;
}

/** Errors of the protocol itself, answered before any operation runs; the same for every service. */
export const PROTOCOL_ERRORS = {
  unknownOperation: { status: 400, code: 'UnknownOperationException' },
  serialization: { status: 400, code: 'SerializationException' },
} as const satisfies Record<string, ErrorDef>;

export interface Reply {
  status: number;
  body: unknown;
  /** Sent as `x-amzn-errortype`. */
  errorCode?: string;
}

/** How a request is answered: a JSON reply, or a fault that is not a well-formed answer. */
export type Answer =
  | Reply
  | 'connection-reset' // TCP RST, no HTTP answer at all
  | 'hang' // never answered; close() destroys the socket
  | 'malformed-response'; // 500 with an HTML body

export interface AwsJsonRequest {
  method: string | undefined;
  headers: IncomingHttpHeaders;
  /** `x-amz-target` as sent; `''` when absent. */
  target: string;
  /** The target without the service prefix (the whole target when it lacks the prefix). */
  operation: string;
  /** The body when it is a JSON object; an empty body counts as `{}`. */
  input: Record<string, unknown> | undefined;
  /** Why the body is not a JSON object, when it is not. */
  bodyError: string | undefined;
}

export interface Exchange {
  answer: Answer;
  /** Extra delay before this answer only, on top of the service's latency (not for a hang). */
  delayMs?: number;
  /** Called with the HTTP status (and error code) once the answer is due; not for a reset or a hang. */
  answered(status: number, errorCode: string | undefined): void;
}

/** What one emulator brings: its target prefix and how it answers. */
export interface AwsJsonService {
  /** e.g. `'AWSGlue.'`. */
  targetPrefix: string;
  /** The error code of the 500 sent when handling a request fails unexpectedly. */
  internalErrorCode: string;
  /** Decides the answer; runs once the request body has been read. */
  handle(request: AwsJsonRequest): Exchange;
  /** Delay before every answer but a hang, read per request. */
  latencyMs(): number;
}

export interface ListenOptions {
  /** Default `'127.0.0.1'`. */
  host?: string | undefined;
  /** Default 0 (an ephemeral port). */
  port?: number | undefined;
}

export interface AwsJsonServer {
  /** e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** Stops listening and destroys every open socket (hung ones included). Idempotent. */
  close(): Promise<void>;
}

/** An error answer: `{ "__type": code, ...members, "message": message }` plus `x-amzn-errortype`. */
export function errorReply(def: ErrorDef, message: string, members: Record<string, unknown> = {}): Reply {
  return { status: def.status, body: { __type: def.code, ...members, message }, errorCode: def.code };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseRequest(req: IncomingMessage, raw: string, targetPrefix: string): AwsJsonRequest {
  const targetHeader = req.headers['x-amz-target'];
  const target = typeof targetHeader === 'string' ? targetHeader : '';
  const operation = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : target;
  let input: Record<string, unknown> | undefined;
  let bodyError: string | undefined;
  try {
    const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      input = parsed as Record<string, unknown>;
    } else {
      bodyError = 'Request body must be a JSON object.';
    }
  } catch {
    bodyError = 'Request body is not valid JSON.';
  }
  return { method: req.method, headers: req.headers, target, operation, input, bodyError };
}

function writeJson(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  const headers: Record<string, string | number> = {
    'content-type': AWS_JSON_1_1,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  };
  if (reply.errorCode !== undefined) headers['x-amzn-errortype'] = reply.errorCode;
  res.writeHead(reply.status, headers);
  res.end(payload);
}

export async function startAwsJsonServer(
  service: AwsJsonService,
  listen: ListenOptions = {},
): Promise<AwsJsonServer> {
  const sockets = new Set<Socket>();
  const pendingTimers = new Set<NodeJS.Timeout>();
  let closed = false;

  function delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve();
      }, ms);
      pendingTimers.add(timer);
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const { answer, answered, delayMs = 0 } = service.handle(parseRequest(req, raw, service.targetPrefix));
    if (answer === 'hang') return; // never answered; close() destroys the socket
    await delay(service.latencyMs() + delayMs);
    if (answer === 'connection-reset') {
      // An RST rather than a FIN, so the client sees ECONNRESET instead of a clean end of stream.
      const socket = res.socket;
      if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket?.destroy();
      return;
    }
    if (answer === 'malformed-response') {
      answered(500, undefined);
      if (res.destroyed) return;
      const body = '<html><body><h1>500 Internal Server Error</h1></body></html>';
      res.writeHead(500, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    answered(answer.status, answer.errorCode);
    if (res.destroyed || res.writableEnded) return;
    writeJson(res, answer);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': AWS_JSON_1_1, 'x-amzn-errortype': service.internalErrorCode });
        res.end(JSON.stringify({ __type: service.internalErrorCode, message: 'Emulator failure.' }));
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung requests, requests waiting out their latency and idle keep-alive connections would
        // otherwise keep close() waiting.
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        server.closeAllConnections();
      });
    },
  };
}
