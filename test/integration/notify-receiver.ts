/**
 * The notification receiver of the notify tests: a Slack-compatible webhook and a GitHub-compatible issues API on
 * 127.0.0.1, recording every call. It can answer with given statuses first, or hold requests without answering.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The webhook's path; its last segment is the secret part of a real Slack webhook URL. */
export const SLACK_PATH = '/services/T0000/B0000/webhook-secret-0123456789';
export const REPOSITORY = 'acme/infra';
const ISSUES_PATH = `/api/repos/${REPOSITORY}/issues`;

export interface Received {
  headers: IncomingHttpHeaders;
  body: any;
}

export interface Receiver {
  /** The webhook URL (notify.slack.url). */
  slackUrl: string;
  /** The issues API root (notify.issues.url). */
  apiUrl: string;
  slack: Received[];
  issues: Received[];
  /** Requests to anything else. */
  other: string[];
  /** The next calls to this target are answered with these statuses, in order; then 200 (slack) or 201 (issues). */
  failNext(target: 'slack' | 'issues', statuses: number[]): void;
  /** From now on, requests are recorded but not answered until release(). */
  hold(): void;
  /** Requests held unanswered now. */
  readonly held: number;
  release(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const slack: Received[] = [];
  const issues: Received[] = [];
  const other: string[] = [];
  const failing = { slack: [] as number[], issues: [] as number[] };
  const waiting: Array<() => void> = [];
  let holding = false;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = req.method === 'POST' && req.url === SLACK_PATH ? 'slack' : req.method === 'POST' && req.url === ISSUES_PATH ? 'issues' : undefined;
    if (!target) {
      other.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    (target === 'slack' ? slack : issues).push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    const answer = (r: ServerResponse): void => {
      const status = failing[target].shift() ?? (target === 'slack' ? 200 : 201);
      r.writeHead(status, { 'content-type': target === 'slack' ? 'text/plain' : 'application/json' });
      r.end(target === 'slack' ? 'ok' : JSON.stringify({ number: issues.length }));
    };
    if (holding) waiting.push(() => answer(res));
    else answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const release = (): void => {
    holding = false;
    for (const w of waiting.splice(0)) w();
  };
  return {
    slackUrl: `${base}${SLACK_PATH}`,
    apiUrl: `${base}/api`,
    slack,
    issues,
    other,
    failNext(target, statuses) { failing[target].push(...statuses); },
    hold() { holding = true; },
    get held() { return waiting.length; },
    release,
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
