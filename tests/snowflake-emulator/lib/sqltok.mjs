// Snowflake SQL tokenizer and small helpers used by the translator.
//
// The emulator does not parse Snowflake SQL into a tree: it tokenizes it and
// rewrites the token stream into DuckDB SQL (lib/translate.mjs). The tokenizer
// follows Snowflake's lexical rules closely enough for the statements floe
// sends: unquoted identifiers are case-insensitive and stored upper-case,
// double-quoted identifiers are case-sensitive ("Identifier requirements" in
// the Snowflake SQL reference), string literals are single-quoted with ''
// and backslash escapes, or $$-delimited ("String & binary data types",
// "String constants"), comments are --, // and /* */.

export class SqlError extends Error {
  constructor(code, sqlState, message) {
    super(message);
    this.code = code;
    this.sqlState = sqlState;
  }
}

export function syntaxError(msg) {
  return new SqlError('001003', '42000', `SQL compilation error:\n${msg}`);
}

// Token kinds: ws, comment, word, qident, string, number, op, param.
export function tokenize(sql) {
  const out = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const start = i;
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(sql[i])) i++;
      out.push({ k: 'ws', v: sql.slice(start, i) });
    } else if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '/')) {
      while (i < n && sql[i] !== '\n') i++;
      out.push({ k: 'comment', v: sql.slice(start, i) });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw syntaxError('unterminated comment');
      i = end + 2;
      out.push({ k: 'comment', v: sql.slice(start, i) });
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= n) throw syntaxError(`unterminated string literal at position ${start}`);
        const d = sql[i];
        if (d === "'" && sql[i + 1] === "'") { s += "'"; i += 2; continue; }
        if (d === "'") { i++; break; }
        if (d === '\\' && i + 1 < n) {
          const e = sql[i + 1];
          const map = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
          s += e in map ? map[e] : e;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ k: 'string', v: s });
    } else if (c === '$' && sql[i + 1] === '$') {
      const end = sql.indexOf('$$', i + 2);
      if (end < 0) throw syntaxError('unterminated $$ string');
      out.push({ k: 'string', v: sql.slice(i + 2, end) });
      i = end + 2;
    } else if (c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= n) throw syntaxError('unterminated quoted identifier');
        if (sql[i] === '"' && sql[i + 1] === '"') { s += '"'; i += 2; continue; }
        if (sql[i] === '"') { i++; break; }
        s += sql[i++];
      }
      out.push({ k: 'qident', v: s });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] || ''))) {
      while (i < n && /[0-9.]/.test(sql[i])) i++;
      if (i < n && /[eE]/.test(sql[i]) && /[-+0-9]/.test(sql[i + 1] || '')) {
        i += 2;
        while (i < n && /[0-9]/.test(sql[i])) i++;
      }
      out.push({ k: 'number', v: sql.slice(start, i) });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(sql[i])) i++;
      out.push({ k: 'word', v: sql.slice(start, i) });
    } else if (c === '?') {
      i++;
      out.push({ k: 'param', v: '?' });
    } else if (c === ':' && /[A-Za-z0-9_]/.test(sql[i + 1] || '') && sql[i - 1] !== ':') {
      i++;
      while (i < n && /[A-Za-z0-9_]/.test(sql[i])) i++;
      out.push({ k: 'param', v: sql.slice(start, i) });
    } else {
      const two = sql.slice(i, i + 2);
      if (['::', '=>', '<=', '>=', '<>', '!=', '||'].includes(two)) {
        out.push({ k: 'op', v: two });
        i += 2;
      } else {
        out.push({ k: 'op', v: c });
        i++;
      }
    }
  }
  return out;
}

// Significant tokens only (no whitespace/comments).
export function sig(tokens) {
  return tokens.filter((t) => t.k !== 'ws' && t.k !== 'comment');
}

// Splits a token list into statements at top-level ';'.
export function splitStatements(tokens) {
  const stmts = [];
  let cur = [];
  for (const t of tokens) {
    if (t.k === 'op' && t.v === ';') {
      if (sig(cur).length) stmts.push(cur);
      cur = [];
    } else {
      cur.push(t);
    }
  }
  if (sig(cur).length) stmts.push(cur);
  return stmts;
}

export function isWord(t, ...words) {
  return t && t.k === 'word' && (words.length === 0 || words.includes(t.v.toUpperCase()));
}

export function isOp(t, v) {
  return t && t.k === 'op' && t.v === v;
}

// Identifier value under Snowflake rules: unquoted -> upper-case.
export function identName(t) {
  if (t.k === 'qident') return t.v;
  if (t.k === 'word') return t.v.toUpperCase();
  return null;
}

export function quoteIdent(name) {
  return '"' + String(name).replace(/"/g, '""') + '"';
}

export function quoteString(s) {
  return "'" + String(s).replace(/'/g, "''") + "'";
}

// Reads a dotted name starting at significant index i.
// Returns { parts, next } or null when tokens[i] is not an identifier.
export function readName(s, i) {
  const parts = [];
  let j = i;
  for (;;) {
    const t = s[j];
    if (!t || (t.k !== 'word' && t.k !== 'qident')) return parts.length ? { parts, next: j } : null;
    parts.push(identName(t));
    j++;
    if (isOp(s[j], '.') && s[j + 1] && (s[j + 1].k === 'word' || s[j + 1].k === 'qident')) {
      j++;
      continue;
    }
    return { parts, next: j };
  }
}

// Index of the token closing the parenthesis opened at s[i] ('(').
export function matchParen(s, i) {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (isOp(s[j], '(')) depth++;
    else if (isOp(s[j], ')')) {
      depth--;
      if (depth === 0) return j;
    }
  }
  throw syntaxError('unbalanced parentheses');
}

// Splits significant tokens s[from..to) at top-level commas.
export function splitCommas(s, from, to) {
  const parts = [];
  let depth = 0;
  let cur = [];
  for (let j = from; j < to; j++) {
    const t = s[j];
    if (isOp(t, '(')) depth++;
    if (isOp(t, ')')) depth--;
    if (depth === 0 && isOp(t, ',')) {
      parts.push(cur);
      cur = [];
    } else {
      cur.push(t);
    }
  }
  if (cur.length) parts.push(cur);
  return parts;
}
