/** Request bodies on disk, for the load process: [u32 big-endian length, bytes]*. */

/** Serialises bodies as [u32 big-endian length, bytes]*. */
export function encodeBodies(bodies: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const b of bodies) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  return Buffer.concat(parts);
}

export function decodeBodies(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32BE(at);
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}
