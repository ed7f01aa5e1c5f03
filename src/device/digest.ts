/**
 * ports.ts `Hash` over the SDK's native `Crypt.Digest("SHA256")`: writes take
 * the caller's bytes as they are (no copy, nothing allocated); only the final
 * digest allocates its 32 bytes, once per image.
 */
import { Digest } from "crypt";
import type { Hash } from "../ports";

export function cryptSha256(): Hash {
  const digest = new Digest("SHA256");
  return {
    reset: () => digest.reset(),
    // The native write reads any buffer view (xsmcGetBufferReadable); the typing names ArrayBuffer only.
    write: (bytes) => digest.write(bytes as unknown as ArrayBuffer),
    digest: (out) => out.set(new Uint8Array(digest.close())),
  };
}
