/**
 * Telling the apiserver who the caller is while the gateway authenticates as itself (`credentials.mode: held`,
 * `impersonate: true`): user impersonation headers, as client-go's ImpersonatingRoundTripper sends them and
 * k8s.io/apiserver/pkg/endpoints/filters/impersonation.go reads them. The apiserver then checks that the gateway may
 * impersonate (RBAC verb `impersonate` on users, groups, uids, userextras) and runs the request — RBAC, admission,
 * the audit log's `impersonatedUser` — as the caller.
 */
import type { Caller } from '../../auth/caller.js';
import { WritegateError } from '../../errors.js';

/**
 * The bytes of an extra key that go into a header name as they are: RFC 9110 token characters, less "%" (the
 * escape itself) and upper-case letters. The apiserver lower-cases the name before it percent-decodes the key, so an
 * upper-case letter is escaped to keep its case.
 */
const KEY_BYTE = /[a-z0-9!#$&'*+.^_`|~-]/;

function escapeKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && KEY_BYTE.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A value as a header carries it: its UTF-8 bytes (Go reads header values as bytes). HTTP parsers drop a value's
 * surrounding whitespace and cannot carry control characters, so an identity with either would reach the apiserver
 * as another one: refused.
 */
function headerValue(what: string, value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value) || value !== value.trim()) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', `the caller's ${what} cannot be sent to the apiserver as an impersonation header (control characters or surrounding spaces)`);
  }
  return Buffer.from(value, 'utf8').toString('latin1');
}

/**
 * `Impersonate-User`, one `Impersonate-Group` per group, `Impersonate-Uid` when there is one, and one
 * `Impersonate-Extra-<key>` per extra value. An empty username is refused: the apiserver would ignore an empty
 * `Impersonate-User` and run the request as the gateway.
 */
export function impersonationHeaders(caller: Caller): Record<string, string | string[]> {
  if (caller.username === '') throw new WritegateError('WG_ERR_BAD_REQUEST', 'the caller has no username to impersonate');
  const out: Record<string, string | string[]> = { 'impersonate-user': headerValue('username', caller.username) };
  if (caller.groups.length > 0) out['impersonate-group'] = caller.groups.map((g) => headerValue('group', g));
  if (caller.uid !== '') out['impersonate-uid'] = headerValue('uid', caller.uid);
  for (const [key, values] of Object.entries(caller.extra)) {
    if (values.length > 0) out[`impersonate-extra-${escapeKey(key)}`] = values.map((v) => headerValue(`extra ${key}`, v));
  }
  return out;
}
