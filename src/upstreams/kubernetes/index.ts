import { defineKind } from '../types.js';
import { KubernetesAdapter } from './adapter.js';
import { kubernetesOptions } from './config.js';

/** The Kubernetes API (kube-apiserver): AdmissionReview inputs, metav1.Status envelopes. */
export const kubernetesKind = defineKind({
  name: 'kubernetes',
  optionsSchema: kubernetesOptions,
  create: (config, { client }) => new KubernetesAdapter(config, client),
});
