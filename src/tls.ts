import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevCertificates {
  caCert: string;
  cert: string;
  key: string;
}

/**
 * A throwaway CA and a serving certificate for 127.0.0.1/localhost, made with
 * the openssl CLI, for the demo and the tests (kubectl only sends bearer
 * tokens over TLS). Reused when already present in `dir`.
 */
export function devCertificates(dir: string): DevCertificates {
  mkdirSync(dir, { recursive: true });
  const out: DevCertificates = { caCert: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  if (existsSync(out.caCert) && existsSync(out.cert) && existsSync(out.key)) return out;
  const caKey = join(dir, 'ca.key');
  const csr = join(dir, 'tls.csr');
  const ext = join(dir, 'tls.ext');
  const run = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'pipe' }); };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', '/CN=writegate dev CA', '-keyout', caKey, '-out', out.caCert]);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=writegate',
    '-keyout', out.key, '-out', csr]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', csr, '-CA', out.caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-extfile', ext, '-out', out.cert]);
  return out;
}
