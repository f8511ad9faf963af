import { describe, expect, it } from 'vitest';
import { WritegateError, errorCatalogue } from '../../../../src/errors.js';
import { KUBE_FIXES, renderDeny, renderError, warningHeaders } from '../../../../src/upstreams/kubernetes/render.js';

describe('Kubernetes deny rendering', () => {
  it('is a metav1 Status kubectl prints as "Error from server (Forbidden)" with every violation', () => {
    const r = renderDeny([{ msg: 'no latest' }, { msg: 'no privileged', rule: 'x' }], 'id-1');
    expect(r.status).toBe(403);
    const body = JSON.parse(String(r.body));
    expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
    expect(body.message).toBe('writegate denied the request: no latest; no privileged (decision id-1)');
    expect(body.details.causes).toHaveLength(2);
  });

  it('renders catalogue errors with their status and reason', () => {
    const body = JSON.parse(String(renderError(new WritegateError('WG_ERR_OPA_UNAVAILABLE', 'down'), 'id-2').body));
    expect(body).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(body.message).toContain('WG_ERR_OPA_UNAVAILABLE');
  });

  it('carries the Kubernetes fix of an error in details.causes, and only known codes have one', () => {
    const fix = KUBE_FIXES.WG_ERR_UNSUPPORTED_MEDIA_TYPE!;
    const body = JSON.parse(String(renderError(new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'text/plain'), 'id-3', fix).body));
    expect(body).toMatchObject({ code: 415, reason: 'UnsupportedMediaType', details: { causes: [{ reason: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', message: fix }] } });
    expect(fix).toContain('protobuf');
    for (const code of Object.keys(KUBE_FIXES)) expect(errorCatalogue).toHaveProperty(code);
  });

  it('formats warnings as RFC 7234 warn-code 299 with quotes escaped and UTF-8 kept', () => {
    expect(warningHeaders([{ msg: 'say "hi"\n' }])).toEqual(['299 - "say \\"hi\\" "']);
    const [h] = warningHeaders([{ msg: 'café' }]);
    expect(Buffer.from(h!, 'latin1').toString('utf8')).toBe('299 - "café"');
  });
});
