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
    expect(lines.map((l) => (JSON.parse(l) as { rv: number }).rv)).toEqual([1, 2]);
  });

  it('refuses to start on corruption before the last line', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, JOURNAL_FILE),
      'garbage\n{"rv":1,"type":"ADDED","key":"/x","object":{"metadata":{}}}\n',
    );
    expect(() => FileJournal.open(dir)).toThrow(JournalCorruptError);
  });
});
