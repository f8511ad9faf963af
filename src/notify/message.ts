/** What a notification says, whatever the target: its title, labelled facts, findings, link and input excerpt. */
import type { NotifyEvent } from './events.js';

export interface Message {
  title: string;
  /** Label and value, e.g. ["Who", "alice from 10.0.0.7"]. */
  fields: Array<[string, string]>;
  /** The findings: a denial's reasons, an audit's violations, drift's modules. */
  items: string[];
  /** The decision's link (notify.linkTemplate), when the event has one decision. */
  link?: string;
  decisionId?: string;
  /** The masked policy input of a denied write, as JSON. */
  excerpt?: string;
}

/** Findings listed in one message at most; the rest are counted ("and 12 more"). */
export const MAX_ITEMS = 25;

/** Characters of the input excerpt at most (the decision log's refused records are bounded the same way). */
export const MAX_EXCERPT = 4_000;

export function decisionLink(template: string | undefined, decisionId: string): string | undefined {
  return template?.replaceAll('{decision_id}', encodeURIComponent(decisionId));
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function listed(items: string[]): string[] {
  return items.length <= MAX_ITEMS ? items : [...items.slice(0, MAX_ITEMS), `… and ${items.length - MAX_ITEMS} more`];
}

function counts(values: string[]): string {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return [...n].map(([k, c]) => `${k} ${c}`).join(', ');
}

export function describe(e: NotifyEvent, linkTemplate: string | undefined): Message {
  switch (e.type) {
    case 'denied':
    case 'dryrun_denied': {
      const link = decisionLink(linkTemplate, e.decision_id);
      const excerpt = JSON.stringify(e.input, null, 2) ?? 'null';
      return {
        title: `writegate ${e.type === 'denied' ? 'denied' : 'would deny (dry run)'} ${e.summary} on ${e.upstream}`,
        fields: [
          ['Who', `${e.caller.username || '(unknown caller)'} from ${e.caller.remote_addr}`],
          ['What', `${e.summary} (${e.operation ?? e.method})`],
          ['Upstream', `${e.upstream}: ${e.method} ${e.url}`],
          ['Decision id', e.decision_id],
        ],
        items: listed(e.reasons),
        decisionId: e.decision_id,
        ...(link ? { link } : {}),
        excerpt: truncate(excerpt, MAX_EXCERPT),
      };
    }
    case 'drift':
      return {
        title: `writegate: OPA at ${e.opa} has drifted from ${e.source}`,
        fields: [['OPA', e.opa], ['Source', `${e.source} (${e.ref} @ ${e.revision.slice(0, 12)})`]],
        items: listed([
          ...e.missing.map((id) => `missing in OPA: ${id}`),
          ...e.extra.map((id) => `in OPA, not in Git: ${id}`),
          ...e.changed.map((id) => `changed in OPA: ${id}`),
        ]),
      };
    case 'audit':
      return {
        title: `writegate audit: ${e.violations.length} violation${e.violations.length === 1 ? '' : 's'}${e.failedSources.length ? `, ${e.failedSources.length} source(s) failed` : ''}`,
        fields: [
          ['Policy revision', e.revision],
          ['By source', counts(e.violations.map((v) => v.source)) || 'none'],
          ['By rule', counts(e.violations.map((v) => v.rule)) || 'none'],
          ...e.failedSources.map((f): [string, string] => [`Failed: ${f.source}`, f.error]),
          ...(e.report ? [['Report', e.report] as [string, string]] : []),
        ],
        items: listed(e.violations.map((v) => `${v.source} ${v.resource}: ${v.rule}: ${v.message} (decision ${v.decision_id})`)),
      };
    case 'residual_mismatch': {
      const link = decisionLink(linkTemplate, e.decision_id);
      return {
        title: `writegate: OPA contradicted a residual allow on ${e.upstream}; residual off for this revision`,
        fields: [['Policy', e.path], ['Revision', e.revision], ['Upstream', e.upstream], ['Decision id', e.decision_id]],
        items: listed(e.reasons),
        decisionId: e.decision_id,
        ...(link ? { link } : {}),
      };
    }
  }
}
