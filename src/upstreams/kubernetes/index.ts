import { defineKind } from '../types.js';
import { KubernetesAdapter } from './adapter.js';
import { kubernetesOptions } from './config.js';
import { impersonationHeaders } from './impersonation.js';

/** The Kubernetes API (kube-apiserver): AdmissionReview inputs, metav1.Status envelopes. */
export const kubernetesKind = defineKind({
  name: 'kubernetes',
  optionsSchema: kubernetesOptions,
  identities: ['selfsubjectreview', 'tokenreview', 'none'],
  // A service-account token or any bearer token (k8s.io/apiserver bearertoken authenticator).
  heldCredential: { header: 'authorization', prefix: () => 'Bearer ', impersonation: impersonationHeaders },
  create: (config, { client }) => new KubernetesAdapter(config, client),
});
