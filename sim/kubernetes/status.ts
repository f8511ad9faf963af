/**
 * `Status` error envelopes with the messages and reasons a kube-apiserver uses
 * (k8s.io/apimachinery/pkg/api/errors/errors.go), so clients render them the same
 * way (`Error from server (NotFound): deployments.apps "web" not found`).
 */
import { qualifiedResource, type ResourceDef } from './resources.js';

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason: string; message: string; field: string }[];
  };
  code: number;
}

/** An error to answer with; thrown inside handlers and rendered by the server. */
export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
    this.name = 'StatusError';
  }
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

/**
 * A success Status. Most deletes answer with one (details name the object;
 * no `code`), evictions and bindings with `code: 201`
 * (genericregistry.Store.finalizeDelete, pod eviction and binding REST).
 */
export function success(details?: KubeStatus['details'], code?: number): Omit<KubeStatus, 'code'> & { code?: number } {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), ...(code ? { code } : {}) };
}

/** StatusDetails of an object; `group` is omitted for the core group (omitempty in metav1.StatusDetails). */
export function detailsOf(def: ResourceDef, name: string, uid?: string): NonNullable<KubeStatus['details']> {
  return { name, ...(def.group ? { group: def.group } : {}), kind: def.plural, ...(uid ? { uid } : {}) };
}

export const notFound = (def: ResourceDef, name: string) =>
  failure(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, detailsOf(def, name));

export const alreadyExists = (def: ResourceDef, name: string) =>
  failure(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, detailsOf(def, name));

export const conflict = (def: ResourceDef, name: string) =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    detailsOf(def, name),
  );

/** A binding of a pod that already has a node (BindingREST.assignPod: a storage conflict naming pods/binding). */
export const alreadyBound = (name: string, node: string) =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${node}"`, {
    name,
    kind: 'pods/binding',
  });

export const badRequest = (message: string) => failure(400, 'BadRequest', message);

/**
 * 422 Invalid for one field (apimachinery errors.NewInvalid): the message and
 * the details name the kind; `name` and `group` are left out when empty.
 */
export const invalid = (
  target: { kind: string; group: string },
  name: string,
  field: string,
  detail: string,
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' = 'FieldValueRequired',
) =>
  failure(422, 'Invalid', `${target.kind}${target.group ? `.${target.group}` : ''} "${name}" is invalid: ${field}: ${detail}`, {
    ...(name ? { name } : {}),
    ...(target.group ? { group: target.group } : {}),
    kind: target.kind,
    causes: [{ reason, message: detail, field }],
  });

export const unprocessable = (message: string) => failure(422, 'Invalid', message);

/** What the apiserver answers when a JSON patch cannot be applied (its message names no cause). */
export const patchNotApplicable = () => failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {});

export const unsupportedMediaType = (message: string) => failure(415, 'UnsupportedMediaType', message);

/** A PATCH whose Content-Type is not a patch type (the apiserver's message is the bare status text). */
export const unsupportedPatchType = () => failure(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});

export const methodNotAllowed = () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');

export const pathNotFound = () => failure(404, 'NotFound', 'the server could not find the requested resource', {});
