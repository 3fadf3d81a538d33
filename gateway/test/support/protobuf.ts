/** Protobuf by hand, for tests of what the serializers never write: tag, varint, length-delimited. */

export const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};

/** A length-delimited field. */
export const len = (field: number, payload: readonly number[]): number[] => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];

/** A string field. */
export const str = (field: number, s: string): number[] => len(field, [...Buffer.from(s)]);

/** A fixed64 field, little-endian. */
export const fixed64 = (field: number, n: bigint): number[] => [...varint((field << 3) | 1), ...Buffer.from(new BigUint64Array([n]).buffer)];

/** An unknown group (wire types 3 and 4, proto2) as field 104, holding a varint, a string and a nested group. */
export const GROUP: readonly number[] = [0xc3, 0x06, 0x08, 0x05, ...str(3, 'in a group'), 0x13, 0x08, 0x01, 0x14, 0xc4, 0x06];
