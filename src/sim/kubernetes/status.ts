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
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: { reason: string; message: string; field: string }[] };
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

export function success(details?: KubeStatus['details']): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}

export const notFound = (def: ResourceDef, name: string) =>
  failure(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, { name, group: def.group, kind: def.plural });

export const alreadyExists = (def: ResourceDef, name: string) =>
  failure(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, { name, group: def.group, kind: def.plural });

export const conflict = (def: ResourceDef, name: string) =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: def.group, kind: def.plural },
  );

export const badRequest = (message: string) => failure(400, 'BadRequest', message);

export const invalid = (def: ResourceDef, name: string, field: string, detail: string) =>
  failure(422, 'Invalid', `${def.kind}${def.group ? `.${def.group}` : ''} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    group: def.group,
    kind: def.kind,
    causes: [{ reason: 'FieldValueRequired', message: detail, field }],
  });

export const unprocessable = (message: string) => failure(422, 'Invalid', message);

export const unsupportedMediaType = (message: string) => failure(415, 'UnsupportedMediaType', message);

export const methodNotAllowed = () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');

export const pathNotFound = () => failure(404, 'NotFound', 'the server could not find the requested resource');
