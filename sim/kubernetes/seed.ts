/**
 * The objects every simulator starts with: the namespaces `default`,
 * `kube-system` and `production`, the node `sim-node-1`, and one running pod on
 * it in `default` and `production` so exec/log tests have a target.
 */
import type { KubeStore } from './store.js';

function namespace(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function pod(ns: string, name: string, container: string, image: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: container }, generation: 1 },
    spec: { containers: [{ name: container, image }], nodeName: 'sim-node-1', restartPolicy: 'Always' },
    status: { phase: 'Running', podIP: '10.0.0.10' },
  };
}

export function seed(store: KubeStore): void {
  for (const ns of ['default', 'kube-system', 'production']) store.put(namespace(ns));
  store.put({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'sim-node-1', labels: { 'kubernetes.io/hostname': 'sim-node-1', 'kubernetes.io/os': 'linux' } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
  });
  store.put(pod('default', 'web-0', 'web', 'nginx:1.27'));
  store.put(pod('production', 'api-0', 'api', 'registry.example.com/api:2.3.1'));
}
