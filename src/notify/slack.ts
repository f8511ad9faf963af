/**
 * A Slack-compatible incoming webhook: `text` (the notification's fallback, shown where blocks are not) and Block
 * Kit `blocks` (https://api.slack.com/reference/block-kit/blocks) within their limits: a header of 150 characters,
 * a section's text of 3000, at most 10 fields of 2000.
 */
import { truncate, type Message } from './message.js';
import { postJson, type Target } from './target.js';

/** `&`, `<` and `>` are Slack's control characters in mrkdwn (https://api.slack.com/reference/surfaces/formatting#escaping). */
function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function slackMessage(m: Message): { text: string; blocks: unknown[] } {
  const items = m.items.map((i) => `• ${escape(i)}`).join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(m.title, 150) } },
    { type: 'section', fields: m.fields.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: truncate(`*${escape(k)}*\n${escape(v)}`, 2000) })) },
  ];
  if (items) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(items, 3000) } });
  if (m.link) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${m.link}|Decision ${escape(m.decisionId ?? '')}>` } });
  const text = [m.title, ...m.items.map((i) => `• ${i}`), ...(m.decisionId ? [`decision ${m.decisionId}`] : []), ...(m.link ? [m.link] : [])].join('\n');
  return { text, blocks };
}

export class SlackTarget implements Target {
  readonly name = 'slack';

  constructor(private readonly url: string) {}

  send(message: Message, _event: string, signal: AbortSignal): Promise<void> {
    return postJson(this.name, this.url, {}, slackMessage(message), signal);
  }
}
