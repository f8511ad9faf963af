import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientCertificate {
  cert: string;
  key: string;
}

export interface ClientPki {
  /** The CA's certificate (what listen.tls.clientCA names). */
  caCert: string;
  /**
   * A client certificate signed by this CA, for the subject given (`uid` is the apiserver's uid attribute), valid for
   * `days` (negative: already expired) with the extended key usage `usage` (default clientAuth).
   */
  issue(name: string, subject: { cn?: string; o?: string[]; uid?: string }, options?: { days?: number; usage?: 'clientAuth' | 'serverAuth' }): ClientCertificate;
  /**
   * An intermediate CA signed by this one, in `dir`: its certificates' PEM files hold the leaf and then the
   * intermediate, so a client presents the chain up to (not including) the root.
   */
  intermediate(dir: string, caName: string): ClientPki;
}

/** The subject attribute kube-apiserver reads as a user's uid, named for openssl's -subj. */
const OID_CONFIG = 'oid_section = new_oids\n[ new_oids ]\nkubeUid = 1.3.6.1.4.1.57683.2\n[ req ]\ndistinguished_name = dn\n[ dn ]\n';

const run = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'pipe' }); };

/** A throwaway CA for client certificates, made with the openssl CLI (EC P-256). */
export function clientPki(dir: string, caName: string): ClientPki {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', `/CN=${caName}`, '-keyout', caKey, '-out', caCert]);
  return issuer(dir, caKey, caCert, '');
}

/** A CA that issues certificates with `caKey`, appending `chain` (PEM of the intermediates above it) to each. */
function issuer(dir: string, caKey: string, caCert: string, chain: string): ClientPki {
  const config = join(dir, 'oid.cnf');
  writeFileSync(config, OID_CONFIG);
  const sign = (name: string, subject: string, extensions: string, days: number): { cert: string; key: string } => {
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, extensions);
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    run(['req', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', key, '-out', csr]);
    run(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', String(days), '-extfile', ext, '-out', cert]);
    return { cert, key };
  };
  return {
    caCert,
    issue(name, subject, options = {}) {
      const parts = [...(subject.cn !== undefined ? [`CN=${subject.cn}`] : []), ...(subject.o ?? []).map((o) => `O=${o}`), ...(subject.uid ? [`kubeUid=${subject.uid}`] : [])];
      const issued = sign(name, `/${parts.join('/')}`, `extendedKeyUsage=${options.usage ?? 'clientAuth'}\n`, options.days ?? 30);
      if (chain !== '') writeFileSync(issued.cert, readFileSync(issued.cert, 'utf8') + chain);
      return issued;
    },
    intermediate(into, caName) {
      mkdirSync(into, { recursive: true });
      const ca = sign(`ca-${caName.replace(/\W/g, '-')}`, `/CN=${caName}`, 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n', 30);
      return issuer(into, ca.key, ca.cert, readFileSync(ca.cert, 'utf8') + chain);
    },
  };
}

/** The PEM contents of a client certificate, as undici's connect options take them. */
export function pem(c: ClientCertificate): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(c.cert), key: readFileSync(c.key) };
}
