// Reads the PEM files every listener certificate and upstream CA names (the I/O translation must not do).
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { GatewayModel } from "../model/types.js";
import { isPemCertificates } from "../config/files.js";
import type { SecretPem } from "../translate/index.js";

export function certificatePaths(model: GatewayModel): string[] {
  return [
    ...model.listeners.flatMap((l) => l.tls?.certificates ?? []).flatMap((c) => [c.certPath, c.keyPath]),
    ...model.upstreams.flatMap((u) => (u.tls?.trust.kind === "ca" ? [u.tls.trust.path] : [])),
  ];
}

export async function readCertificates(model: GatewayModel): Promise<Map<string, SecretPem>> {
  const out = new Map<string, SecretPem>();
  for (const u of model.upstreams) {
    if (u.tls?.trust.kind !== "ca") continue;
    const { path, secretName } = u.tls.trust;
    const trustedCa = await readFile(path, "utf8");
    if (!isPemCertificates(trustedCa)) throw new Error(`${path}: not a PEM CA certificate`);
    out.set(secretName, { trustedCa });
  }
  for (const c of model.listeners.flatMap((l) => l.tls?.certificates ?? [])) {
    const [certificateChain, privateKey] = await Promise.all([readFile(c.certPath, "utf8"), readFile(c.keyPath, "utf8")]);
    if (!certificateChain.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${c.certPath}: not a PEM certificate`);
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) throw new Error(`${c.keyPath}: not a PEM private key`);
    // A half-done rotation (new certificate, old key) would only be refused by Envoy (NACK):
    // refuse it here, so the last good pair keeps serving and the error names the files.
    let matches: boolean;
    try {
      matches = new X509Certificate(certificateChain).checkPrivateKey(createPrivateKey(privateKey));
    } catch (e) {
      throw new Error(`${c.certPath} / ${c.keyPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!matches) throw new Error(`${c.keyPath} is not the private key of ${c.certPath}`);
    out.set(c.secretName, { certificateChain, privateKey });
  }
  return out;
}
