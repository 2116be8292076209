// TLS helpers for gateway tests: self-signed certificates and small CAs made with the openssl CLI, rotations
// done the way cert-manager and certbot do them (new files under temporary names, then renamed
// over the old ones), and TLS handshakes that report what the server presented.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect, type PeerCertificate } from "node:tls";

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
  /** SHA-256 fingerprint in node:tls's notation ("AB:CD:…"), comparable with a peer certificate's. */
  fingerprint256: string;
}

/** Writes a fresh self-signed P-256 certificate for `dnsName` (CN and subjectAltName) and its key. */
export function generateCertificate(certPath: string, keyPath: string, dnsName: string): CertificateFiles {
  return selfSigned(certPath, keyPath, dnsName, ["-addext", `subjectAltName=DNS:${dnsName}`]);
}

/** Writes a fresh self-signed P-256 CA certificate (basicConstraints CA:TRUE) and its key. */
export function generateCa(certPath: string, keyPath: string, commonName: string): CertificateFiles {
  // openssl req -x509 marks the certificate CA:TRUE by default.
  return selfSigned(certPath, keyPath, commonName, []);
}

function selfSigned(certPath: string, keyPath: string, commonName: string, extra: string[]): CertificateFiles {
  execFileSync(
    "openssl",
    [
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
      ["-subj", `/CN=${commonName}`, ...extra, "-keyout", keyPath, "-out", certPath],
    ].flat(),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return { certPath, keyPath, fingerprint256: new X509Certificate(readFileSync(certPath)).fingerprint256 };
}

/** Writes a P-256 server certificate for `dnsNames` (subjectAltNames; CN the first) signed by `ca`, and its key. */
export function generateSignedCertificate(ca: CertificateFiles, certPath: string, keyPath: string, dnsNames: string[]): CertificateFiles {
  const csr = `${certPath}.csr`;
  const ext = `${certPath}.ext`;
  writeFileSync(
    ext,
    `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(",")}\n`,
  );
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        `/CN=${dnsNames[0]}`,
        "-keyout",
        keyPath,
        "-out",
        csr,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    execFileSync(
      "openssl",
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca.certPath,
        "-CAkey",
        ca.keyPath,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        ext,
        "-out",
        certPath,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return { certPath, keyPath, fingerprint256: new X509Certificate(readFileSync(certPath)).fingerprint256 };
}

/** Replaces the pair with a new certificate: written next to them, then renamed over them. */
export function rotateCertificate(current: CertificateFiles, dnsName: string): CertificateFiles {
  const next = generateCertificate(`${current.certPath}.next`, `${current.keyPath}.next`, dnsName);
  renameSync(next.certPath, current.certPath);
  renameSync(next.keyPath, current.keyPath);
  return { ...current, fingerprint256: next.fingerprint256 };
}

export interface Handshake {
  fingerprint256: string;
  /** Subject CN of the presented certificate. */
  commonName: string | undefined;
  /** The ALPN protocol agreed on, false when none was. */
  alpnProtocol: string | false;
}

export interface HandshakeOptions {
  /** SNI to send; none when left out (node sends no SNI to an IP address). */
  servername?: string;
  /** ALPN protocols to offer; none when left out. */
  alpn?: string[];
  host?: string;
  timeoutMs?: number;
}

/** Opens a TLS connection, reads what the server presented, and closes it. Accepts any certificate. */
export function tlsHandshake(port: number, o: HandshakeOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: o.host ?? "127.0.0.1",
      port,
      rejectUnauthorized: false,
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
    });
    socket.setTimeout(o.timeoutMs ?? 5_000, () => socket.destroy(new Error(`TLS handshake with 127.0.0.1:${port} timed out`)));
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      const cn = cert.subject?.CN;
      resolve({
        fingerprint256: cert.fingerprint256,
        commonName: Array.isArray(cn) ? cn.join(",") : cn,
        alpnProtocol: socket.alpnProtocol ?? false,
      });
      socket.end();
    });
  });
}
