// TLS certificates -> SDS Secrets. The PEM text is read by the certificate loader (I/O lives
// outside translation); a rotated file changes only its Secret, never the listener.
export interface CertificatePem { certificateChain: string; privateKey: string }

export function tlsSecret(name: string, pem: CertificatePem): object {
  return {
    name,
    tls_certificate: {
      certificate_chain: { inline_string: pem.certificateChain },
      private_key: { inline_string: pem.privateKey },
    },
  };
}
