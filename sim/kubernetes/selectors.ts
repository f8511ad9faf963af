/**
 * `labelSelector` and `fieldSelector` filtering for list, watch and
 * deletecollection (k8s.io/apimachinery/pkg/labels selector syntax: `a=b`, `a==b`,
 * `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`; field selectors support
 * `metadata.name`, `metadata.namespace` and, for pods, `spec.nodeName` and `status.phase`, with `=`, `==`, `!=`).
 */
import type { KubeObject } from './store.js';
import { badRequest } from './status.js';

/** Splits on commas outside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function matchLabel(term: string, labels: Record<string, string>): boolean {
  let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim());
    const has = m[1]! in labels && values.includes(labels[m[1]!]!);
    return m[2] === 'in' ? has : !has;
  }
  m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (m) {
    const equal = labels[m[1]!] === m[3];
    return m[2] === '!=' ? !equal : equal;
  }
  m = /^(!?)([^\s!=]+)$/.exec(term);
  if (m) return m[1] === '!' ? !(m[2]! in labels) : m[2]! in labels;
  throw badRequest(`unable to parse requirement: ${term}`);
}

function matchField(term: string, obj: KubeObject): boolean {
  const m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (!m) throw badRequest(`invalid field selector: ${term}`);
  let actual: unknown;
  if (m[1] === 'metadata.name') actual = obj.metadata.name;
  else if (m[1] === 'metadata.namespace') actual = obj.metadata.namespace;
  // Pods also select on their node and phase (pkg/registry/core/pod strategy ToSelectableFields); `kubectl drain` lists by node.
  else if (obj.kind === 'Pod' && m[1] === 'spec.nodeName') actual = (obj.spec as { nodeName?: string } | undefined)?.nodeName;
  else if (obj.kind === 'Pod' && m[1] === 'status.phase') actual = (obj.status as { phase?: string } | undefined)?.phase;
  else throw badRequest(`field label not supported: ${m[1]}`);
  const equal = (actual ?? '') === m[3];
  return m[2] === '!=' ? !equal : equal;
}

export function matchesSelectors(obj: KubeObject, query: URLSearchParams): boolean {
  const labels = (obj.metadata.labels as Record<string, string> | undefined) ?? {};
  const labelSelector = query.get('labelSelector');
  if (labelSelector && !terms(labelSelector).every((t) => matchLabel(t, labels))) return false;
  const fieldSelector = query.get('fieldSelector');
  if (fieldSelector && !terms(fieldSelector).every((t) => matchField(t, obj))) return false;
  return true;
}
