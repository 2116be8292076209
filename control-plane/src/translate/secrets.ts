// TLS certificates and upstream CA bundles -> SDS Secrets. The PEM text is read by the
// certificate loader (I/O lives outside translation); a rotated file changes only its Secret,
// never the listener or cluster that names it.
export interface CertificatePem {
  certificateChain: string;
  privateKey: string;
}

/** The CA certificates an upstream's certificate must chain to (`upstreams[].tls.ca`). */
export interface TrustedCaPem {
  trustedCa: string;
}

/** What one SDS secret carries: a listener's certificate, or an upstream's CA bundle. */
export type SecretPem = CertificatePem | TrustedCaPem;

export function tlsSecret(name: string, pem: CertificatePem): object {
  return {
    name,
    tls_certificate: {
      certificate_chain: { inline_string: pem.certificateChain },
      private_key: { inline_string: pem.privateKey },
    },
  };
}

export function validationContextSecret(name: string, pem: TrustedCaPem): object {
  return { name, validation_context: { trusted_ca: { inline_string: pem.trustedCa } } };
}

export function sameSecretPem(a: SecretPem, b: SecretPem): boolean {
  if ("trustedCa" in a || "trustedCa" in b) return "trustedCa" in a && "trustedCa" in b && a.trustedCa === b.trustedCa;
  return a.certificateChain === b.certificateChain && a.privateKey === b.privateKey;
}
