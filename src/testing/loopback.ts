// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/**
 * What the stand-in servers share: they bind 127.0.0.1 only (they must never be reachable from outside the
 * machine), answer JSON, and close without waiting for the requests they leave hanging on purpose.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Starts an HTTP server on 127.0.0.1 that runs `handle` per request. When `handle` throws, `fail` answers with the
 * error's message if nothing was sent yet; otherwise the socket is dropped, so the client sees the break.
 */
export async function listenOnLoopback(
  handle: RequestHandler,
  fail: (res: ServerResponse, message: string) => void,
  port = 0,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        fail(res, err instanceof Error ? err.message : String(err));
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * The two ways a stand-in fails without answering: `hang` leaves the response open until the client gives up or
 * the server closes; `reset` destroys the socket, so the client sees the connection drop.
 */
export function withholdAnswer(kind: 'hang' | 'reset', req: IncomingMessage): void {
  if (kind === 'reset') req.socket.destroy();
}

/** Stops listening and drops every open connection. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Hanging requests and idle keep-alive sockets would otherwise hold close() open forever.
    server.closeAllConnections();
  });
}

/** Answers `body` as JSON with its length; `headers` come last, so they may replace the content type. */
export function sendJson(res: ServerResponse, status: number, body: object, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
