/**
 * Secret values kept out of the decision log.
 *
 * What is a Secret is decided by the resource the path names (core `secrets`, any subresource), never by the
 * body's `kind`: the apiserver fills `kind` and `apiVersion` in from the endpoint, so a body without them is a
 * Secret all the same. The object and the old object are both masked (an update or patch carries the stored
 * values too). OPA's own decision log gets the same treatment from policies/system/log/mask.rego.
 */

export const MASK = '**masked**';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Secret-shaped object with `data` and `stringData` values (or the whole field, if not a map) masked. */
export function maskSecretObject(obj: unknown): unknown {
  if (!isObject(obj)) return obj;
  const out: Record<string, unknown> = { ...obj };
  for (const key of ['data', 'stringData']) {
    const v = out[key];
    if (v === undefined || v === null) continue;
    out[key] = isObject(v) ? Object.fromEntries(Object.keys(v).map((k) => [k, MASK])) : MASK;
  }
  const meta = out.metadata;
  if (isObject(meta) && isObject(meta.annotations) && LAST_APPLIED in meta.annotations) {
    // kubectl apply copies the whole Secret, data included, into this annotation.
    out.metadata = { ...meta, annotations: { ...meta.annotations, [LAST_APPLIED]: MASK } };
  }
  return out;
}

/** True when the request addresses core/v1 secrets (any version, any subresource). */
function addressesSecrets(request: Record<string, unknown>): boolean {
  const r = request.resource;
  return isObject(r) && r.group === '' && r.resource === 'secrets';
}

/** A copy of a policy input fit for the decision log. */
export function maskKubeInput(input: Record<string, unknown>): Record<string, unknown> {
  const request = input.request;
  if (!isObject(request)) return input;
  const secret = addressesSecrets(request);
  const mask = (o: unknown): unknown => (secret || (isObject(o) && o.kind === 'Secret') ? maskSecretObject(o) : o);
  return { ...input, request: { ...request, object: mask(request.object), oldObject: mask(request.oldObject) } };
}
