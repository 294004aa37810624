// Runs pq_sample once per process and loads what it wrote: each Parquet
// file with its expected JSON (schema, options, key-value metadata, rows as
// rendered text, and the metrics floe's writer returned).

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { run, scratchDir, tool } from './floe.mjs';

let cached = null;

// { dir, samples: [{ name, file, expected }] } or throws when pq_sample is
// missing or fails.
export function parquetSamples() {
  if (cached) return cached;
  const dir = scratchDir('pq-sample');
  run(tool('pq_sample'), [dir]);
  const samples = readdirSync(dir)
    .filter((f) => f.endsWith('.parquet'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.parquet$/, ''),
      file: path.join(dir, f),
      expected: JSON.parse(readFileSync(path.join(dir, `${f}.expected.json`), 'utf8')),
    }));
  if (samples.length === 0) throw new Error(`pq_sample wrote no files into ${dir}`);
  cached = { dir, samples };
  return cached;
}
