import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileJournal, JOURNAL_FILE, JournalCorruptError } from './journal.js';
import { MemoryStorage } from './memory-storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'egw-journal-'));
  dirs.push(d);
  return d;
};

describe('FileJournal', () => {
  it('journals every storage write and replays it into an identical store', () => {
    const dir = tmp();
    const { journal } = FileJournal.open(dir);
    const s = new MemoryStorage({ journal });
    const a = s.put('/configmaps', { metadata: { name: 'a', namespace: 'd' } }, 'ADDED');
    s.put('/configmaps', { metadata: { name: 'b', namespace: 'd' } }, 'ADDED');
    s.remove('/configmaps', a);
    s.close();
    const { journal: j2, records } = FileJournal.open(dir);
    expect(records.map((r) => [r.rv, r.type, r.object.metadata.name])).toEqual([
      [1, 'ADDED', 'a'],
      [2, 'ADDED', 'b'],
      [3, 'DELETED', 'a'],
    ]);
    const s2 = new MemoryStorage({ journal: j2 });
    s2.replay(records);
    expect(s2.currentRv()).toBe(3);
    expect(s2.list('/configmaps').map((o) => o.metadata.name)).toEqual(['b']);
    const since = s2.eventsSince('/configmaps', 1);
    expect(since.ok && since.events.map((e) => e.rv)).toEqual([2, 3]);
    s2.close();
  });

  it('cuts a torn final line and appends cleanly after it', () => {
    const dir = tmp();
    const { journal } = FileJournal.open(dir);
    journal.append({ rv: 1, type: 'ADDED', key: '/x', object: { metadata: { name: 'a' } } });
    journal.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"rv":2,"type":"ADD');
    const { journal: j2, records } = FileJournal.open(dir);
    expect(records).toHaveLength(1);
    j2.append({ rv: 2, type: 'ADDED', key: '/x', object: { metadata: { name: 'b' } } });
    j2.close();
    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l.split('\t')[0] as string) as { rv: number }).rv)).toEqual([1, 2]);
  });

  it('refuses to start on corruption before the last line', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, JOURNAL_FILE),
      'garbage\n{"rv":1,"type":"ADDED","key":"/x","object":{"metadata":{}}}\n',
    );
    expect(() => FileJournal.open(dir)).toThrow(JournalCorruptError);
  });

  describe('integrity', () => {
    /** A journal of four writes (rv 1-4), its lines. */
    function journalOf4(): { dir: string; lines: string[] } {
      const dir = tmp();
      const { journal } = FileJournal.open(dir);
      const s = new MemoryStorage({ journal });
      for (const n of ['a', 'b', 'c', 'd'])
        s.put('/configmaps', { metadata: { name: n, namespace: 'x' } }, 'ADDED');
      s.close();
      return { dir, lines: readFileSync(join(dir, JOURNAL_FILE), 'utf8').trimEnd().split('\n') };
    }
    const rewrite = (dir: string, lines: string[]) =>
      writeFileSync(join(dir, JOURNAL_FILE), `${lines.join('\n')}\n`);
    const openError = (dir: string): JournalCorruptError => {
      try {
        FileJournal.open(dir);
      } catch (e) {
        return e as JournalCorruptError;
      }
      throw new Error('opened');
    };

    it('every line carries the CRC-32 of its record', () => {
      const { lines } = journalOf4();
      for (const l of lines) expect(l).toMatch(/^\{.*\}\t[0-9a-f]{8}$/);
    });

    it('a line deleted in the middle refuses the start: records missing, and how to recover', () => {
      const { dir, lines } = journalOf4();
      rewrite(dir, [lines[0], lines[2], lines[3]] as string[]);
      const e = openError(dir);
      expect(e).toBeInstanceOf(JournalCorruptError);
      expect([e.line, e.reason]).toEqual([2, 'resourceVersion 3 after 1: 1 record(s) missing']);
      expect(e.message).toContain('restore the file from a backup');
      expect(e.message).toContain('keep the 1 records before the damage');
    });

    it('a changed byte in the middle is found by the checksum', () => {
      const { dir, lines } = journalOf4();
      lines[1] = (lines[1] as string).replace('"b"', '"B"');
      rewrite(dir, lines);
      expect(openError(dir).reason).toMatch(/^checksum [0-9a-f]{8} does not match the record/);
    });

    it('a repeated last record and resourceVersions going backwards refuse the start', () => {
      const { dir, lines } = journalOf4();
      rewrite(dir, [...lines, lines[3] as string]);
      expect(openError(dir).reason).toBe('resourceVersion 4 after 4: a record repeated or out of order');
      rewrite(dir, [lines[0], lines[2], lines[1], lines[3]] as string[]);
      expect(openError(dir).line).toBe(2);
    });

    it('a damaged last line is a write cut short: dropped and reported, the rest kept', () => {
      const { dir, lines } = journalOf4();
      lines[3] = (lines[3] as string).replace('"d"', '"D"');
      rewrite(dir, lines);
      const { journal, records, dropped } = FileJournal.open(dir);
      journal.close();
      expect(records.map((r) => r.rv)).toEqual([1, 2, 3]);
      expect(dropped).toMatchObject({ line: 4 });
    });

    it('reads a journal written before checksums', () => {
      const dir = tmp();
      const rec = (rv: number, name: string) =>
        JSON.stringify({ rv, type: 'ADDED', key: '/x', object: { metadata: { name } } });
      writeFileSync(join(dir, JOURNAL_FILE), `${rec(1, 'a')}\n${rec(2, 'b')}\n`);
      const { journal, records } = FileJournal.open(dir);
      journal.close();
      expect(records.map((r) => r.object.metadata.name)).toEqual(['a', 'b']);
    });
  });
});
