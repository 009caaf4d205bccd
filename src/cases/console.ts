/**
 * The case console: the case list, the case file and the verdict buttons, server-rendered over node:http. Bound to
 * loopback by default; bound anywhere else it requires a bearer token, so nobody on the network reads transactions
 * or gives verdicts unasked. Every verdict carries the analyst who gave it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { CaseNotFoundError, CaseVerdictRefusedError, CaseWorkerUnavailableError } from '../errors';
import { ResolveCaseRequest } from '../schemas/case';
import { caseSorts, listCases, readCase, resolveCase } from './desk';
import type { CaseSort } from './desk';
import { caseFilePage, caseListPage, errorPage } from './pages';

export interface CaseConsoleOptions {
  client: Client;
  /** The cases task queue the console lists and works. */
  taskQueue: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8235 */
  port?: number;
  /** Required unless the host is loopback. */
  token?: string;
}

export interface CaseConsole {
  url: string;
  close(): Promise<void>;
}

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);
/** Verdict forms are small; anything bigger is not a form this console rendered. */
const maxFormBytes = 8 * 1024;

export async function startCaseConsole(opts: CaseConsoleOptions): Promise<CaseConsole> {
  const host = opts.host ?? '127.0.0.1';
  if (!loopbackHosts.has(host) && !opts.token) {
    throw new Error(
      `the case console binds ${host}, beyond loopback: set CASE_CONSOLE_TOKEN to require a bearer token`,
    );
  }
  const server = http.createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => send(res, 500, errorPage(500, (err as Error).message)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8235, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, status: number, html: string, headers: Record<string, string> = {}) {
  if (res.headersSent) return void res.end();
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    ...headers,
  });
  res.end(html);
}

async function handle(opts: CaseConsoleOptions, req: http.IncomingMessage, res: http.ServerResponse) {
  if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
    return send(res, 401, errorPage(401, 'a bearer token is required'), { 'www-authenticate': 'Bearer' });
  }
  const url = new URL(req.url ?? '/', 'http://console');
  const caseMatch = /^\/cases\/([^/]+)(\/resolve)?$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/') return showList(opts, url, res);
  if (req.method === 'GET' && caseMatch && !caseMatch[2]) return showCase(opts, decode(caseMatch[1]), res);
  if (req.method === 'POST' && caseMatch?.[2]) {
    if (!sameOrigin(req)) return send(res, 403, errorPage(403, 'verdicts are only taken from this console'));
    return giveVerdict(opts, decode(caseMatch[1]), req, res);
  }
  return send(res, 404, errorPage(404, `nothing at ${url.pathname}`));
}

const decode = (s: string | undefined) => decodeURIComponent(s ?? '');

/** A browser posting from another site (cross-site request forgery) names its own origin; refuse it. */
function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === 'null' || new URL(origin).host === req.headers.host;
}

async function showList(opts: CaseConsoleOptions, url: URL, res: http.ServerResponse) {
  const open = url.searchParams.get('open') === '1';
  const requested = url.searchParams.get('sort');
  const sort: CaseSort = caseSorts.find((s) => s === requested) ?? 'age';
  const rows = await listCases(opts.client, { taskQueue: opts.taskQueue, open, sort });
  send(res, 200, caseListPage(rows, { open, sort, now: new Date() }));
}

async function showCase(
  opts: CaseConsoleOptions,
  transactionId: string,
  res: http.ServerResponse,
  notice?: { ok: boolean; text: string },
  status = 200,
) {
  try {
    send(res, status, caseFilePage(await readCase(opts.client, transactionId, opts.taskQueue), notice));
  } catch (err) {
    if (err instanceof CaseNotFoundError) return send(res, 404, errorPage(404, err.message));
    if (err instanceof CaseWorkerUnavailableError) return send(res, 503, errorPage(503, err.message));
    throw err;
  }
}

async function giveVerdict(
  opts: CaseConsoleOptions,
  transactionId: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
) {
  const form = new URLSearchParams(await readBody(req));
  const parsed = ResolveCaseRequest.safeParse({
    transactionId,
    verdict: form.get('verdict'),
    analyst: form.get('analyst') ?? '',
    ...(form.get('note') ? { note: form.get('note') } : {}),
  });
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return showCase(opts, transactionId, res, { ok: false, text: `verdict not given: ${why}` }, 400);
  }
  try {
    const final = await resolveCase(opts.client, parsed.data);
    const text = `resolved ${parsed.data.verdict} by ${parsed.data.analyst}: final decision ${final.decision}`;
    return showCase(opts, transactionId, res, { ok: true, text });
  } catch (err) {
    if (err instanceof CaseVerdictRefusedError) {
      return showCase(opts, transactionId, res, { ok: false, text: err.message }, 409);
    }
    if (err instanceof CaseNotFoundError) return send(res, 404, errorPage(404, err.message));
    throw err;
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxFormBytes) return req.destroy(new Error('form too large'));
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
