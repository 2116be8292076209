// Reads the PEM files every listener certificate names (the I/O translation must not do).
import { readFile } from "node:fs/promises";
import type { GatewayModel } from "../model/types.js";
import type { CertificatePem } from "../translate/index.js";

export function certificatePaths(model: GatewayModel): string[] {
  return model.listeners.flatMap((l) => l.tls?.certificates ?? []).flatMap((c) => [c.certPath, c.keyPath]);
}

export async function readCertificates(model: GatewayModel): Promise<Map<string, CertificatePem>> {
  const out = new Map<string, CertificatePem>();
  for (const c of model.listeners.flatMap((l) => l.tls?.certificates ?? [])) {
    const [certificateChain, privateKey] = await Promise.all([readFile(c.certPath, "utf8"), readFile(c.keyPath, "utf8")]);
    if (!certificateChain.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${c.certPath}: not a PEM certificate`);
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) throw new Error(`${c.keyPath}: not a PEM private key`);
    out.set(c.secretName, { certificateChain, privateKey });
  }
  return out;
}
