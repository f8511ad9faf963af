/**
 * An issue tracker with GitHub's REST API: `POST {url}/repos/{owner}/{repo}/issues` with title, body and labels
 * (https://docs.github.com/en/rest/issues/issues#create-an-issue), authenticated with `Authorization: Bearer` and
 * the token of notify.issues.tokenFile, read at each delivery (a rotated token applies at once; it is never logged).
 */
import { readFileSync } from 'node:fs';
import { VERSION } from '../version.js';
import { truncate, type Message } from './message.js';
import { DeliveryError, postJson, type Target } from './target.js';

/** Visible ASCII only: anything else would change the header the token is put in. */
const TOKEN = /^[\x21-\x7e]+$/;

/** GitHub's limit on an issue title. */
const MAX_TITLE = 256;

/** A code fence longer than any run of backticks in the text, so the text cannot close it (CommonMark §4.5). */
function fenced(text: string, info: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

export function issueBody(m: Message): string {
  const parts = [
    m.fields.map(([k, v]) => `- **${k}:** ${v}`).join('\n'),
    `### ${m.decisionId ? 'Reasons' : 'Findings'}\n\n${m.items.map((i) => `- ${i}`).join('\n') || '(none)'}`,
  ];
  if (m.link) parts.push(`[Decision ${m.decisionId ?? ''}](${m.link})`);
  if (m.excerpt !== undefined) parts.push(`### Input (secrets masked)\n\n${fenced(m.excerpt, 'json')}`);
  return parts.join('\n\n');
}

export class IssuesTarget implements Target {
  readonly name = 'issues';
  private readonly endpoint: string;

  constructor(private readonly options: { url: string; repository: string; tokenFile: string; labels: string[] }) {
    const [owner, repo] = options.repository.split('/') as [string, string];
    this.endpoint = `${options.url.replace(/\/+$/, '')}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/issues`;
  }

  send(message: Message, event: string, signal: AbortSignal): Promise<void> {
    const body = { title: truncate(message.title, MAX_TITLE), body: issueBody(message), labels: [...new Set([...this.options.labels, event])] };
    return postJson(this.name, this.endpoint, {
      authorization: `Bearer ${this.token()}`,
      accept: 'application/vnd.github+json',
      // GitHub refuses API requests without a User-Agent (docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
      'user-agent': `writegate/${VERSION}`,
      'x-github-api-version': '2022-11-28',
    }, body, signal);
  }

  private token(): string {
    let text: string;
    try {
      text = readFileSync(this.options.tokenFile, 'utf8');
    } catch (err) {
      throw new DeliveryError(`issues: notify.issues.tokenFile cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, true, undefined, { cause: err });
    }
    const token = text.trim();
    if (!TOKEN.test(token)) throw new DeliveryError('issues: notify.issues.tokenFile is empty or holds characters a header cannot carry', true);
    return token;
  }
}
