// CRC-32 (IEEE 802.3, the polynomial of zip, gzip and PNG), table-driven; no Node import, so the
// browser's zip reader and the PNG encoder share it.

const table = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 of `b`, continuing from `crc` (the CRC of the bytes before it; 0 to start). */
export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
