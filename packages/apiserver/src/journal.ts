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
import { crc32 } from 'node:zlib';
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

/** Error reading a data directory whose log is damaged before its last line. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly code = 'JournalCorrupt';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason = 'not a journal record',
  ) {
    super(
      `journal ${file} is damaged at line ${line} (${reason}); nothing was started. To recover: restore the file from a backup; or keep the ${line - 1} records before the damage (\`head -n ${line - 1}\` of it into a new file, renamed over it), losing every later write; or move it away to start empty`,
    );
  }
}

/** One line: the record's JSON, a tab, and the CRC-32 of that JSON (8 hex digits). */
function encodeLine(r: JournalRecord): string {
  const json = JSON.stringify(r);
  return `${json}\t${crc32(json).toString(16).padStart(8, '0')}\n`;
}

/**
 * Reads one line: a record with its checksum checked, or (journals written before checksums) a
 * bare JSON record. Throws with the reason when it is not a whole, undamaged record.
 */
function decodeLine(line: string): JournalRecord {
  // JSON.stringify escapes tabs inside strings, so a raw tab can only be the separator.
  const tab = line.lastIndexOf('\t');
  const json = tab < 0 ? line : line.slice(0, tab);
  if (tab >= 0) {
    const want = line.slice(tab + 1);
    const got = crc32(json).toString(16).padStart(8, '0');
    if (want !== got) throw new Error(`checksum ${want} does not match the record (${got})`);
  }
  let r: JournalRecord;
  try {
    r = JSON.parse(json) as JournalRecord;
  } catch {
    throw new Error('not JSON');
  }
  if (
    r === null ||
    typeof r !== 'object' ||
    !Number.isInteger(r.rv) ||
    typeof r.key !== 'string' ||
    typeof r.type !== 'string' ||
    r.object === null ||
    typeof r.object !== 'object' ||
    typeof r.object.metadata !== 'object'
  )
    throw new Error('not a journal record (rv, type, key, object.metadata)');
  return r;
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
 * Append-only JSON-lines journal in `dataDir/objects.jsonl`. Every `append` writes one line (the
 * record's JSON, a tab, its CRC-32) and calls `fdatasync` before returning, so an acknowledged
 * write survives a crash. At open, a damaged last line (a crash in the middle of a write that was
 * never acknowledged) is cut off and reported; damage before it (a checksum that does not match,
 * a line that is not a record, a resourceVersion repeated, out of order or missing) refuses the
 * start with {@link JournalCorruptError}, which says how to recover. Journals written before
 * checksums are read as they are.
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
    // Writes get consecutive resourceVersions; a compacted prefix (records with a `mode`) is
    // ordered by resource instead, and the first plain record after it continues from its highest.
    let lastRv = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      lineNo++;
      if (nl < 0) break; // torn tail: never acknowledged
      const isLast = nl + 1 >= text.length;
      let r: JournalRecord;
      try {
        r = decodeLine(text.slice(pos, nl));
      } catch (e) {
        // A damaged last line is a write cut short (dropped below and logged); anything before it
        // is lost data: refuse rather than serve a store with a hole in it.
        if (!isLast) {
          closeSync(fd);
          throw new JournalCorruptError(file, lineNo, (e as Error).message);
        }
        break;
      }
      if (r.mode === undefined && lastRv > 0 && r.rv !== lastRv + 1) {
        closeSync(fd);
        throw new JournalCorruptError(
          file,
          lineNo,
          r.rv <= lastRv
            ? `resourceVersion ${r.rv} after ${lastRv}: a record repeated or out of order`
            : `resourceVersion ${r.rv} after ${lastRv}: ${r.rv - lastRv - 1} record(s) missing`,
        );
      }
      lastRv = Math.max(lastRv, r.rv);
      records.push(r);
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
        batch += encodeLine(r);
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
    writeSync(this.fd, encodeLine(r));
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
