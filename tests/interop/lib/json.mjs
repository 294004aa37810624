// A JSON parser that keeps every number's text (JSON.parse turns
// 9223372036854775807 into 9223372036854776000). Numbers come back as
// JsonNumber { raw }; everything else as JSON.parse would return it.

export class JsonNumber {
  constructor(raw) { this.raw = raw; }
  toBigInt() { return BigInt(this.raw); }
  toNumber() { return Number(this.raw); }
  isInteger() { return /^-?\d+$/.test(this.raw); }
  toString() { return this.raw; }
}

export function parseLossless(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`JSON: ${what} at offset ${i}: ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out = {};
      ws();
      if (text[i] === '}') { i++; return out; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const key = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        out[key] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return out; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const out = [];
      ws();
      if (text[i] === ']') { i++; return out; }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return out; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected character');
    i += m[0].length;
    return new JsonNumber(m[0]);
  }
  function string() {
    // Find the closing quote, honouring escapes, and let JSON.parse decode.
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  }
  const out = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return out;
}

// One JSON value per non-empty line.
export function parseJsonLines(text) {
  return text.split('\n').filter((line) => line.trim() !== '').map(parseLossless);
}
