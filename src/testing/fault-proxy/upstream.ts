// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** How the fault proxy forwards a request to its upstream and the answer back, and the errors it answers itself. */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type {
  ClientRequest,
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';
import { sendJson } from '../loopback';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface Upstream {
  /**
   * Sends the request upstream (`body` if given, else the request's own stream); resolves its response, or
   * `undefined` once the client has had a 502 (or is gone). The upstream request is aborted if the client
   * disconnects first.
   */
  open(req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<IncomingMessage | undefined>;
  /** Streams the upstream's answer to the client as it arrives. */
  pipeAnswer(upstreamRes: IncomingMessage, res: ServerResponse): void;
  /** Aborts every request in flight. */
  abort(): void;
  /** Closes the kept-alive connections, once nothing will be sent any more. */
  release(): void;
}

/** Requests to `upstream` + the original path and query; a path prefix on `upstream` is kept. */
export function upstreamFor(upstream: string): Upstream {
  const target = new URL(upstream);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(`fault proxy upstream must be http(s), got ${upstream}`);
  }
  const basePath = target.pathname.replace(/\/+$/, '');
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const inFlight = new Set<ClientRequest>();

  const open: Upstream['open'] = (req, res, body) =>
    new Promise((resolve) => {
      const headers: OutgoingHttpHeaders = { ...forwardableHeaders(req.headers), host: target.host };
      if (body !== undefined) headers['content-length'] = body.length;
      const upstreamReq = send({
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        method: req.method,
        path: basePath + (req.url ?? '/'),
        headers,
        agent,
      });
      inFlight.add(upstreamReq);
      upstreamReq.on('close', () => inFlight.delete(upstreamReq));
      upstreamReq.on('response', resolve);
      upstreamReq.on('error', (err) => {
        if (!res.headersSent && !res.destroyed) {
          sendProxyJson(res, 502, openAiError(`fault proxy: upstream ${target.origin} failed: ${err.message}`, 502));
        } else {
          res.destroy();
        }
        resolve(undefined);
      });
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      if (body !== undefined) upstreamReq.end(body);
      else req.pipe(upstreamReq);
    });

  return {
    open,
    pipeAnswer(upstreamRes, res) {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardableHeaders(upstreamRes.headers));
      // pipeline destroys the other side when either fails, so a dying upstream never leaves the client waiting.
      pipeline(upstreamRes, res, () => {});
    },
    abort() {
      for (const upstreamReq of inFlight) upstreamReq.destroy();
    },
    release() {
      agent.destroy();
    },
  };
}

/** The message's headers minus hop-by-hop ones (including any the `Connection` header names). */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    (headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

export function openAiError(message: string, status: number): object {
  const type = status === 429 ? 'requests' : 'server_error';
  const code = status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: null, code } };
}

/** An answer the proxy makes itself (a fault, or its own failure), as JSON. */
export function sendProxyJson(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, body, { 'content-type': 'application/json; charset=utf-8', ...headers });
}
