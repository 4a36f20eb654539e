import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { KubeObject, WatchEventType } from './types.js';

/** One journalled write: the full object after the change, at its resourceVersion. */
export interface JournalRecord {
  rv: number;
  type: WatchEventType;
  key: string;
  object: KubeObject;
  /**
   * Only in compacted journals: `state` records rebuild the objects without touching the watch
   * window, `window` records rebuild the watch window without touching the objects.
   */
  mode?: 'state' | 'window';
  /** On the first `window` record of a resource: resourceVersions below this get 410 Gone. */
  compactedRv?: number;
}

/** A write-ahead log: `append` returns only once the record is durable. */
export interface Journal {
  append(r: JournalRecord): void;
  close(): void;
}

/** Error reading a data directory whose log is corrupt before its last line. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly code = 'JournalCorrupt';
  constructor(file: string, line: number) {
    super(
      `journal ${file} is corrupt at line ${line}; restore it from a backup or move it away to start empty`,
    );
  }
}

/** File name of the journal inside a data directory. */
export const JOURNAL_FILE = 'objects.jsonl';

/** What opening a journal cut off: a torn last record (a write that was never acknowledged). */
export interface DroppedTail {
  file: string;
  /** 1-based line number of the dropped record. */
  line: number;
  /** Bytes cut off the end of the file. */
  bytes: number;
  /** The first 120 characters of what was dropped, for the log. */
  start: string;
}

/**
 * Append-only JSON-lines journal in `dataDir/objects.jsonl`. Every `append` writes one line and
 * calls `fdatasync` before returning, so an acknowledged write survives a crash. A torn last line
 * (crash in the middle of a write that was never acknowledged) is cut off at open.
 */
export class FileJournal implements Journal {
  private fd: number;
  readonly file: string;

  private constructor(file: string, fd: number) {
    this.file = file;
    this.fd = fd;
  }

  /** Opens (creating if needed) the journal in `dataDir` and returns it with the records it holds. */
  static open(dataDir: string): { journal: FileJournal; records: JournalRecord[]; dropped?: DroppedTail } {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, JOURNAL_FILE);
    const fd = openSync(file, 'a+');
    const text = readFileSync(file, 'utf8');
    const records: JournalRecord[] = [];
    let good = 0;
    let lineNo = 0;
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      lineNo++;
      if (nl < 0) break; // torn tail: never acknowledged
      const line = text.slice(pos, nl);
      try {
        const r = JSON.parse(line) as JournalRecord;
        if (typeof r.rv !== 'number' || typeof r.key !== 'string') throw new Error('bad record');
        records.push(r);
      } catch {
        if (text.indexOf('\n', nl + 1) >= 0 || nl + 1 < text.length) {
          closeSync(fd);
          throw new JournalCorruptError(file, lineNo);
        }
        break;
      }
      pos = nl + 1;
      good = Buffer.byteLength(text.slice(0, pos));
    }
    const size = fstatSync(fd).size;
    let dropped: DroppedTail | undefined;
    if (size !== good) {
      const tail = text.slice(pos);
      dropped = { file, line: lineNo, bytes: size - good, start: tail.slice(0, 120) };
      ftruncateSync(fd, good);
      fdatasyncSync(fd);
    }
    return { journal: new FileJournal(file, fd), records, ...(dropped !== undefined ? { dropped } : {}) };
  }

  /**
   * Replaces the journal's content with `records` (a compacted form of the same history) atomically:
   * written to a temporary file, synced, renamed over the journal, directory synced. Returns the
   * journal reopened for appending.
   */
  static rewrite(dataDir: string, records: Iterable<JournalRecord>, old?: FileJournal): FileJournal {
    const file = join(dataDir, JOURNAL_FILE);
    const tmp = `${file}.compact`;
    const fd = openSync(tmp, 'w');
    try {
      let batch = '';
      for (const r of records) {
        batch += `${JSON.stringify(r)}\n`;
        if (batch.length > 1 << 20) {
          writeSync(fd, batch);
          batch = '';
        }
      }
      if (batch !== '') writeSync(fd, batch);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    old?.close();
    renameSync(tmp, file);
    const dirFd = openSync(dataDir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    return new FileJournal(file, openSync(file, 'a'));
  }

  append(r: JournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(r)}\n`);
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
