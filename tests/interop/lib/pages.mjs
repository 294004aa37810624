// Walks the pages of a Parquet column chunk: a small Thrift compact-protocol
// decoder (Thrift spec: compact protocol) for PageHeader (parquet.thrift),
// written here so the page layout floe writes is checked by code that shares
// nothing with floe. Used to prove that files have several pages, that
// dictionary pages come first, and that a chunk falls back from
// RLE_DICTIONARY to PLAIN.

export const PAGE_TYPES = ['DATA_PAGE', 'INDEX_PAGE', 'DICTIONARY_PAGE', 'DATA_PAGE_V2'];
export const ENCODINGS = ['PLAIN', 'GROUP_VAR_INT', 'PLAIN_DICTIONARY', 'RLE', 'BIT_PACKED',
  'DELTA_BINARY_PACKED', 'DELTA_LENGTH_BYTE_ARRAY', 'DELTA_BYTE_ARRAY', 'RLE_DICTIONARY',
  'BYTE_STREAM_SPLIT'];

class Reader {
  constructor(buf, pos) { this.buf = buf; this.pos = pos; }
  byte() {
    if (this.pos >= this.buf.length) throw new Error('thrift: read past the end');
    return this.buf[this.pos++];
  }
  varint() {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 70n) throw new Error('thrift: varint too long');
    }
  }
  zigzag() { const v = this.varint(); return (v >> 1n) ^ -(v & 1n); }
  value(type) {
    switch (type) {
      case 1: return true;
      case 2: return false;
      case 3: return this.byte();
      case 4:
      case 5: return Number(this.zigzag());
      case 6: return this.zigzag();
      case 7: { const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
      case 8: {
        const n = Number(this.varint());
        const v = this.buf.subarray(this.pos, this.pos + n);
        if (v.length !== n) throw new Error('thrift: binary past the end');
        this.pos += n;
        return v;
      }
      case 9:
      case 10: {
        const h = this.byte();
        let n = h >> 4;
        if (n === 15) n = Number(this.varint());
        const out = [];
        for (let i = 0; i < n; i++) out.push(this.value(h & 15));
        return out;
      }
      case 11: {
        const n = Number(this.varint());
        const out = [];
        if (n > 0) {
          const kv = this.byte();
          for (let i = 0; i < n; i++) out.push([this.value(kv >> 4), this.value(kv & 15)]);
        }
        return out;
      }
      case 12: return this.struct();
      default: throw new Error(`thrift: unknown type ${type} at ${this.pos}`);
    }
  }
  struct() {
    const out = {};
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return out;
      const delta = h >> 4;
      const id = delta ? last + delta : Number(this.zigzag());
      const type = h & 15;
      out[id] = type === 1 || type === 2 ? type === 1 : this.value(type);
      last = id;
    }
  }
}

/**
 * Reads the page headers of one column chunk.
 * file: Buffer of the whole file; start: the chunk's first page
 * (dictionary_page_offset when present, else data_page_offset); size: its
 * total_compressed_size. Returns [{ type, encoding, numValues,
 * compressedSize, uncompressedSize }] and throws if the pages do not exactly
 * fill the chunk.
 */
export function readChunkPages(file, start, size) {
  const pages = [];
  let pos = Number(start);
  const end = pos + Number(size);
  while (pos < end) {
    const r = new Reader(file, pos);
    const h = r.struct();
    const type = PAGE_TYPES[h[1]] ?? `type${h[1]}`;
    const compressedSize = h[3];
    const body = h[5] ?? h[7] ?? h[8] ?? {};
    const encoding = ENCODINGS[type === 'DATA_PAGE_V2' ? body[4] : body[2]];
    pages.push({
      type,
      encoding,
      numValues: body[1],
      compressedSize,
      uncompressedSize: h[2],
      headerSize: r.pos - pos,
    });
    pos = r.pos + compressedSize;
  }
  if (pos !== end) throw new Error(`pages end at ${pos}, chunk ends at ${end}`);
  return pages;
}

// The raw FileMetaData struct of a Parquet file (thrift field ids as keys:
// 2 schema, 3 num_rows, 4 row_groups, 5 key_value_metadata, 6 created_by,
// 7 column_orders).
export function readFooter(file) {
  const len = file.readUInt32LE(file.length - 8);
  if (file.subarray(file.length - 4).toString('latin1') !== 'PAR1') throw new Error('no PAR1 trailer');
  return new Reader(file, file.length - 8 - len).struct();
}
