/**
 * Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. A few resources get the
 * columns a real server prints for them; the rest get NAME and AGE.
 */
import { parseAccept } from './discovery.js';
import type { KubeObject } from './store.js';
import type { ResourceDef } from './resources.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  cell: (obj: KubeObject) => string | number;
}

export function wantsTable(accept: string | undefined): boolean {
  return parseAccept(accept).some((r) => r.params.as === 'Table' && r.params.g === 'meta.k8s.io');
}

/** kubectl's short duration format (k8s.io/apimachinery/pkg/util/duration.HumanDuration, simplified). */
export function humanAge(created: unknown, now = Date.now()): string {
  if (typeof created !== 'string') return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function field(obj: KubeObject, ...path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => o.metadata.name ?? '',
};

const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => humanAge(o.metadata.creationTimestamp),
};

function text(name: string, description: string, cell: (o: KubeObject) => string | number, type = 'string'): Column {
  return { name, type, format: '', description, cell };
}

function columnsFor(def: ResourceDef): Column[] {
  switch (`${def.group}/${def.plural}`) {
    case '/namespaces':
      return [nameColumn, text('Status', 'The status of the namespace', (o) => String(field(o, 'status', 'phase') ?? '')), ageColumn];
    case '/pods':
      return [nameColumn, text('Status', 'The aggregate status of the containers in this pod.', (o) => String(field(o, 'status', 'phase') ?? 'Pending')), ageColumn];
    case 'apps/deployments':
    case 'apps/statefulsets':
    case 'apps/replicasets':
      return [
        nameColumn,
        text('Replicas', 'Number of desired pods.', (o) => Number(field(o, 'spec', 'replicas') ?? 1), 'integer'),
        ageColumn,
      ];
    case '/configmaps':
      return [nameColumn, text('Data', 'Number of data entries', (o) => Object.keys((field(o, 'data') as object) ?? {}).length, 'integer'), ageColumn];
    default:
      return [nameColumn, ageColumn];
  }
}

/**
 * Renders objects as a Table. `includeObject` follows the query parameter of the
 * same name: `Object` embeds the full object, `None` nothing, default `Metadata`
 * embeds a PartialObjectMetadata.
 */
export function toTable(def: ResourceDef, objects: KubeObject[], resourceVersion: string, includeObject: string | null) {
  const columns = columnsFor(def);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ name, type, format, description }) => ({ name, type, format, description, priority: 0 })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}
