/**
 * What a NetBox API path names. NetBox routes its REST API as `/api/<app>/<model>/` (list) and
 * `/api/<app>/<model>/<pk>/` (detail), plugins under `/api/plugins/<plugin>/...` (netbox/netbox/api/routers.py,
 * netbox/netbox/urls.py), every route with a trailing slash; a few detail actions add one segment
 * (`/api/ipam/prefixes/<pk>/available-ips/`) and a few list actions take the pk's place
 * (`/api/users/tokens/provision/`).
 */
import { WritegateError } from '../../errors.js';

export interface NbTarget {
  /** `<app>/<model>`, e.g. `dcim/devices`. */
  resource: string;
  /** `dcim`; a plugin's is `plugins/<name>`. */
  app: string;
  model: string;
  /** The pk the path names; null for a list endpoint and its actions. */
  id: number | null;
  /** A detail action after the pk (`available-ips`), or a list action in the pk's place (`provision`). */
  subResource?: string;
}

/** A pk as NetBox's routes read it: Django resolves `<pk>` and the queryset filters it as an integer. */
const PK = /^[1-9][0-9]*$/;

/**
 * The target of a write to `path` (decoded, starting with `/api/`, ending with `/`). Refused: paths with too few or
 * too many segments for an object route, and a pk NetBox would read as another number than it is spelt
 * (`012` is object 12, `0` is none): the policy is told the id as NetBox reads it, in its one spelling.
 */
export function netboxTarget(path: string): NbTarget {
  const segments = path.slice('/api/'.length, -1).split('/');
  const plugin = segments[0] === 'plugins';
  const app = plugin ? `plugins/${segments[1] ?? ''}` : segments[0]!;
  const rest = segments.slice(plugin ? 2 : 1);
  if (app === '' || app === 'plugins/' || rest.length < 1 || rest.length > 3) {
    throw new WritegateError('WG_ERR_BAD_PATH', `${path} is not a NetBox object route (/api/<app>/<model>/[<id>/])`);
  }
  const [model, second, third] = rest as [string, string | undefined, string | undefined];
  const target: NbTarget = { resource: `${app}/${model}`, app, model, id: null };
  if (second === undefined) return target;
  if (PK.test(second) && Number.isSafeInteger(Number(second))) target.id = Number(second);
  else if (/^[0-9]+$/.test(second)) throw new WritegateError('WG_ERR_BAD_PATH', `${path}: an object id is a decimal number without leading zeros`);
  else if (third === undefined) target.subResource = second;
  else throw new WritegateError('WG_ERR_BAD_PATH', `${path} is not a NetBox object route (/api/<app>/<model>/<id>/<action>/)`);
  if (third !== undefined) target.subResource = third;
  return target;
}
