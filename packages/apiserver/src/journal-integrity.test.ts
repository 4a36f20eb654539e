import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeRecord,
  FileJournal,
  JOURNAL_FILE,
  JournalCorruptError,
  type JournalRecord,
} from './journal.js';
import { MemoryStorage } from './memory-storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'egw-journal-int-'));
  dirs.push(d);
  return d;
};
const rec = (rv: number, name = `o${rv}`): JournalRecord => ({
  rv,
  type: 'ADDED',
  key: '/configmaps',
  object: { metadata: { name, namespace: 'd' }, data: { v: String(rv) } },
});

/** A journal of five writes through the storage, as lines. */
function written(dir: string): string[] {
  const { journal } = FileJournal.open(dir);
  const s = new MemoryStorage({ journal });
  for (let i = 0; i < 5; i++) s.put('/configmaps', { metadata: { name: `o${i}`, namespace: 'd' } }, 'ADDED');
  s.close();
  return readFileSync(join(dir, JOURNAL_FILE), 'utf8').split('\n').slice(0, -1);
}
const save = (dir: string, lines: string[]) =>
  writeFileSync(join(dir, JOURNAL_FILE), `${lines.join('\n')}\n`);

describe('journal integrity', () => {
  it('every record carries a CRC-32 and reads back unchanged', () => {
    const dir = tmp();
    const lines = written(dir);
    expect(lines.every((l) => /,"sum":"[0-9a-f]{8}"\}$/.test(l))).toBe(true);
    const { journal, records } = FileJournal.open(dir);
    journal.close();
    expect(records.map((r) => r.rv)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]).not.toHaveProperty('sum');
  });

  it('refuses a changed byte inside a well-formed record, naming the line and how to recover', () => {
    const dir = tmp();
    const lines = written(dir);
    lines[1] = (lines[1] as string).replace('"o1"', '"o9"');
    save(dir, lines);
    expect(() => FileJournal.open(dir)).toThrow(JournalCorruptError);
    expect(() => FileJournal.open(dir)).toThrow(
      /at line 2 \(checksum mismatch\); restore it from a backup, or keep the records before it \(head -n 1\)/,
    );
  });

  it('refuses a deleted line in the middle (resourceVersion gap)', () => {
    const dir = tmp();
    const lines = written(dir);
    lines.splice(2, 1);
    save(dir, lines);
    expect(() => FileJournal.open(dir)).toThrow(
      /at line 3 \(resourceVersion 4 after 2: 1 record\(s\) missing\)/,
    );
  });

  it('refuses a duplicated last record and records going backwards', () => {
    const dir = tmp();
    const lines = written(dir);
    save(dir, [...lines, lines[4] as string]);
    expect(() => FileJournal.open(dir)).toThrow(/resourceVersion 5 after 5: repeated or out of order/);
    save(dir, [lines[0], lines[2], lines[1], lines[3]] as string[]);
    expect(() => FileJournal.open(dir)).toThrow(/line 2 \(resourceVersion 3 after 1/);
  });

  it('refuses a well-formed record of the wrong shape with the corruption error, not a TypeError', () => {
    const dir = tmp();
    const lines = written(dir);
    save(dir, [
      lines[0] as string,
      encodeRecord({ rv: 2, key: '/configmaps', type: 'ADDED' } as unknown as JournalRecord).trim(),
      lines[2] as string,
    ]);
    expect(() => FileJournal.open(dir)).toThrow(/line 2 \(record of the wrong shape\)/);
  });

  it('refuses a record without checksum after checksummed ones (a stripped sum is damage)', () => {
    const dir = tmp();
    const lines = written(dir);
    lines[1] = `${(lines[1] as string).replace(/,"sum":"[0-9a-f]{8}"\}$/, '')}}`;
    save(dir, lines);
    expect(() => FileJournal.open(dir)).toThrow(/line 2 \(record without checksum after checksummed ones\)/);
  });

  it('still reads journals written before checksums, and appends checksummed records after them', () => {
    const dir = tmp();
    save(
      dir,
      [1, 2, 3].map((rv) => JSON.stringify(rec(rv))),
    );
    const { journal, records } = FileJournal.open(dir);
    expect(records.map((r) => r.rv)).toEqual([1, 2, 3]);
    journal.append(rec(4));
    journal.close();
    const again = FileJournal.open(dir);
    again.journal.close();
    expect(again.records.map((r) => r.rv)).toEqual([1, 2, 3, 4]);
  });

  it('ignores blank lines, and drops a damaged last line as a torn write (reported)', () => {
    const dir = tmp();
    const lines = written(dir);
    save(dir, [...lines, '', '']);
    const a = FileJournal.open(dir);
    a.journal.close();
    expect(a.records).toHaveLength(5);
    expect(a.dropped).toBeUndefined();
    const torn = [...lines];
    torn[4] = (torn[4] as string).replace('"o4"', '"oX"');
    save(dir, torn);
    const b = FileJournal.open(dir);
    b.journal.close();
    expect(b.records).toHaveLength(4);
    expect(b.dropped).toMatchObject({ line: 5 });
  });

  it('a compacted journal (state and window records) passes the checks and continues the sequence', () => {
    const dir = tmp();
    const s = new MemoryStorage();
    for (let i = 1; i <= 6; i++)
      s.put('/configmaps', rec(i, `o${i % 2}`).object, i <= 2 ? 'ADDED' : 'MODIFIED');
    const j = FileJournal.rewrite(dir, s.compactedRecords());
    j.append(rec(7, 'n'));
    j.close();
    const { journal, records } = FileJournal.open(dir);
    journal.close();
    expect(records.at(-1)?.rv).toBe(7);
    expect(encodeRecord(rec(1))).toMatch(/\}\n$/);
  });
});
