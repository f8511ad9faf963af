import { describe, expect, it } from 'vitest';
import { decodeRequestPath, parseQuery, splitUrl } from '../../../../src/http/path.js';
import { kubeRequestInfo } from '../../../../src/upstreams/kubernetes/request-info.js';

type Row = [method: string, url: string, expected: {
  read: boolean; verb: string; op?: string; ns?: string; res?: string; sub?: string; name?: string; group?: string; version?: string;
}, upgrade?: boolean];

// Expected values follow k8s.io/apiserver/pkg/endpoints/request/requestinfo.go and its requestinfo_test.go.
const table: Row[] = [
  ['GET', '/api/v1/namespaces/default/pods', { read: true, verb: 'list', ns: 'default', res: 'pods', version: 'v1' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0', { read: true, verb: 'get', ns: 'default', res: 'pods', name: 'web-0' }],
  ['HEAD', '/api/v1/namespaces/default/pods/web-0', { read: true, verb: 'get', name: 'web-0' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=true', { read: true, verb: 'watch', res: 'pods' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=1', { read: true, verb: 'watch', res: 'pods' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=false', { read: true, verb: 'list', res: 'pods' }],
  ['GET', '/api/v1/watch/namespaces/default/pods', { read: true, verb: 'watch', ns: 'default', res: 'pods' }],
  ['GET', '/api/v1/watch/pods', { read: true, verb: 'watch', res: 'pods' }],
  ['GET', '/api/v1/pods', { read: true, verb: 'list', res: 'pods', ns: '' }],
  ['GET', '/api/v1/namespaces', { read: true, verb: 'list', res: 'namespaces' }],
  ['GET', '/api/v1/namespaces/default', { read: true, verb: 'get', res: 'namespaces', name: 'default', ns: 'default' }],
  ['GET', '/api/v1/namespaces/default/status', { read: true, verb: 'get', res: 'namespaces', name: 'default', sub: 'status' }],
  ['PUT', '/api/v1/namespaces/default/finalize', { read: false, verb: 'update', op: 'UPDATE', res: 'namespaces', name: 'default', sub: 'finalize' }],
  ['POST', '/api/v1/namespaces', { read: false, verb: 'create', op: 'CREATE', res: 'namespaces' }],
  ['DELETE', '/api/v1/namespaces/production', { read: false, verb: 'delete', op: 'DELETE', res: 'namespaces', name: 'production' }],
  ['POST', '/api/v1/namespaces/default/configmaps', { read: false, verb: 'create', op: 'CREATE', res: 'configmaps', ns: 'default' }],
  ['PUT', '/api/v1/namespaces/default/configmaps/c1', { read: false, verb: 'update', op: 'UPDATE', name: 'c1' }],
  ['PATCH', '/api/v1/namespaces/default/configmaps/c1', { read: false, verb: 'patch', op: 'UPDATE', name: 'c1' }],
  ['DELETE', '/api/v1/namespaces/default/configmaps/c1', { read: false, verb: 'delete', op: 'DELETE', name: 'c1' }],
  ['DELETE', '/api/v1/namespaces/default/configmaps', { read: false, verb: 'deletecollection', op: 'DELETE', res: 'configmaps', name: '' }],
  ['GET', '/apis/apps/v1/namespaces/default/deployments', { read: true, verb: 'list', group: 'apps', version: 'v1', res: 'deployments' }],
  ['POST', '/apis/apps/v1/namespaces/default/deployments', { read: false, verb: 'create', op: 'CREATE', group: 'apps' }],
  ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', { read: false, verb: 'patch', op: 'UPDATE', name: 'web' }],
  ['GET', '/apis/apps/v1/namespaces/default/deployments/web/scale', { read: true, verb: 'get', sub: 'scale', name: 'web' }],
  ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { read: false, verb: 'patch', op: 'UPDATE', sub: 'scale' }],
  ['PUT', '/apis/apps/v1/namespaces/default/deployments/web/status', { read: false, verb: 'update', op: 'UPDATE', sub: 'status' }],
  ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { read: true, verb: 'list', group: 'rbac.authorization.k8s.io', res: 'clusterroles' }],
  ['POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { read: false, verb: 'create', op: 'CREATE', res: 'clusterrolebindings' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0/log', { read: true, verb: 'get', sub: 'log' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0/log?follow=true', { read: true, verb: 'get', sub: 'log' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/eviction', { read: false, verb: 'create', op: 'CREATE', sub: 'eviction' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/binding', { read: false, verb: 'create', op: 'CREATE', sub: 'binding' }],
  // Connect verbs are writes whatever the method (kubectl >= 1.30 sends exec as GET + Upgrade: websocket).
  ['GET', '/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true', { read: false, verb: 'connect', op: 'CONNECT', sub: 'exec' }, true],
  ['GET', '/api/v1/namespaces/default/pods/web-0/exec?command=ls', { read: false, verb: 'connect', op: 'CONNECT', sub: 'exec' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/exec?command=ls', { read: false, verb: 'connect', op: 'CONNECT', sub: 'exec' }, true],
  ['GET', '/api/v1/namespaces/default/pods/web-0/attach', { read: false, verb: 'connect', op: 'CONNECT', sub: 'attach' }, true],
  ['POST', '/api/v1/namespaces/default/pods/web-0/portforward', { read: false, verb: 'connect', op: 'CONNECT', sub: 'portforward' }, true],
  ['GET', '/api/v1/namespaces/default/pods/web-0/proxy/metrics', { read: false, verb: 'connect', op: 'CONNECT', sub: 'proxy' }],
  ['GET', '/api/v1/namespaces/default/services/web:80/proxy/', { read: false, verb: 'connect', op: 'CONNECT', sub: 'proxy', res: 'services' }],
  ['GET', '/api/v1/nodes/n1/proxy/configz', { read: false, verb: 'connect', op: 'CONNECT', res: 'nodes', sub: 'proxy' }],
  ['GET', '/api/v1/proxy/namespaces/default/pods/web-0', { read: false, verb: 'connect', op: 'CONNECT', res: 'pods', name: 'web-0' }],
  // Unknown subresources of aggregated APIs may be connects (KubeVirt's console is GET + websocket).
  ['GET', '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm1/console', { read: false, verb: 'unknown', op: 'CONNECT', sub: 'console' }],
  // Non-mutating POSTs.
  ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { read: true, verb: 'create' }],
  ['POST', '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews', { read: true, verb: 'create', ns: 'default' }],
  ['POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { read: true, verb: 'create' }],
  ['POST', '/apis/authentication.k8s.io/v1/tokenreviews', { read: true, verb: 'create' }],
  ['POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { read: true, verb: 'create' }],
  // ... but not with a name, a subresource, another method or an upgrade.
  ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x', { read: false, verb: 'create', op: 'CREATE' }],
  ['DELETE', '/apis/authentication.k8s.io/v1/tokenreviews', { read: false, verb: 'deletecollection', op: 'DELETE' }],
  ['POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { read: false, verb: 'unknown', op: 'CONNECT' }, true],
  // Non-resource URLs.
  ['GET', '/version', { read: true, verb: 'get' }],
  ['GET', '/healthz', { read: true, verb: 'get' }],
  ['GET', '/openapi/v3/apis/apps/v1?hash=abc', { read: true, verb: 'get' }],
  ['GET', '/api', { read: true, verb: 'get' }],
  ['GET', '/apis', { read: true, verb: 'get' }],
  ['GET', '/api/v1', { read: true, verb: 'get' }],
  ['GET', '/apis/apps', { read: true, verb: 'get' }],
  ['GET', '/apis/apps/v1', { read: true, verb: 'get' }],
  ['OPTIONS', '/api/v1/namespaces/default/pods', { read: true, verb: 'options' }],
  ['POST', '/version', { read: false, verb: 'unknown', op: 'CONNECT' }],
  ['PUT', '/apis/apps', { read: false, verb: 'unknown', op: 'CONNECT' }],
  ['GET', '/version', { read: false, verb: 'unknown', op: 'CONNECT' }, true],
  // Unknown methods are gated.
  ['PROPFIND', '/api/v1/namespaces/default/pods', { read: false, verb: 'unknown', op: 'CONNECT' }],
  // Trailing slash names the same resource (strings.Trim(path, "/")).
  ['DELETE', '/api/v1/namespaces/default/pods/web-0/', { read: false, verb: 'delete', op: 'DELETE', name: 'web-0' }],
  // A watch with no resource cannot be routed by the apiserver: gated.
  ['GET', '/api/v1/watch', { read: false, verb: 'unknown', op: 'CONNECT' }],
  ['GET', '/api/v1/watch/namespaces', { read: true, verb: 'watch', res: 'namespaces' }],
  // Custom resources.
  ['POST', '/apis/example.com/v1alpha1/namespaces/default/widgets', { read: false, verb: 'create', op: 'CREATE', group: 'example.com', version: 'v1alpha1', res: 'widgets' }],
  ['GET', '/apis/example.com/v1alpha1/widgets', { read: true, verb: 'list', res: 'widgets' }],
];

describe('kubeRequestInfo', () => {
  it('has at least 40 rows', () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
  });

  it.each(table)('%s %s', (method, url, exp, upgrade) => {
    const { rawPath, rawQuery } = splitUrl(url);
    const info = kubeRequestInfo(method, decodeRequestPath(rawPath), parseQuery(rawQuery), upgrade ?? false);
    expect(info.isRead).toBe(exp.read);
    expect(info.verb).toBe(exp.verb);
    expect(info.operation).toBe(exp.op);
    if (exp.ns !== undefined) expect(info.namespace).toBe(exp.ns);
    if (exp.res !== undefined) expect(info.resource).toBe(exp.res);
    if (exp.sub !== undefined) expect(info.subresource).toBe(exp.sub);
    if (exp.name !== undefined) expect(info.name).toBe(exp.name);
    if (exp.group !== undefined) expect(info.apiGroup).toBe(exp.group);
    if (exp.version !== undefined) expect(info.apiVersion).toBe(exp.version);
  });
});

describe('decodeRequestPath', () => {
  it.each([
    ['/api/v1/namespaces/default/pods/web-0%2Fexec', 'encoded slash'],
    ['/api/v1/namespaces/default/pods/web-0%2fexec', 'encoded slash'],
    ['/api/v1/namespaces/default/pods/web-0%5Cexec', 'encoded slash or backslash'],
    ['/api/v1/namespaces/default/pods/web-0\\exec', 'encoded slash or backslash'],
    ['/api/v1/namespaces/default/pods/x/../web-0/exec', 'dot segment'],
    ['/api/v1/namespaces/default/pods/%2e%2e/web-0', 'dot segment'],
    ['/api/v1/namespaces/default/pods/./web-0', 'dot segment'],
    ['/api/v1//namespaces/default/pods', 'empty segment'],
    ['/api/v1/namespaces/default/pods/web%00', 'control character'],
    ['/api/v1/namespaces/default/pods/web%zz', 'malformed percent-encoding'],
    ['api/v1', 'must start with'],
  ])('refuses %s', (path, why) => {
    expect(() => decodeRequestPath(path)).toThrow(why);
  });

  it('decodes ordinary escapes the way Go does', () => {
    expect(decodeRequestPath('/api/v1/namespaces/default/pods/%77eb-0')).toBe('/api/v1/namespaces/default/pods/web-0');
    const info = kubeRequestInfo('GET', decodeRequestPath('/api/v1/namespaces/default/pods/web-0/%65xec'), {}, false);
    expect(info.subresource).toBe('exec');
    expect(info.isRead).toBe(false);
  });
});

describe('parseQuery', () => {
  it('keeps every value in order', () => {
    expect(parseQuery('command=ls&command=%2F&stdout=true&x')).toEqual({ command: ['ls', '/'], stdout: ['true'], x: [''] });
  });
});
