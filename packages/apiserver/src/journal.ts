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

/** Error reading a data directory whose log is corrupt before its last line. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly code = 'JournalCorrupt';
  constructor(file: string, line: number, reason = 'unreadable record') {
    super(
      `journal ${file} is corrupt at line ${line} (${reason}); restore it from a backup, or keep the ` +
        `records before it (head -n ${line - 1}) and lose the later writes, or move it away to start empty`,
    );
  }
}

/** `,"sum":"<crc32 hex>"}`: the checksum closing every record written since issue 23. */
const SUM = /,"sum":"([0-9a-f]{8})"\}$/;

/** One journal line: the record's JSON with a CRC-32 of that JSON as its last field. */
export function encodeRecord(r: JournalRecord): string {
  const body = JSON.stringify(r);
  const sum = (crc32(body) >>> 0).toString(16).padStart(8, '0');
  return `${body.slice(0, -1)},"sum":"${sum}"}\n`;
}

const TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/**
 * Parses one line. Returns the record, or the reason it is damaged. A line without a checksum is
 * accepted only before the first line with one (journals written by older versions).
 */
function decodeRecord(line: string, summed: boolean): JournalRecord | string {
  const m = SUM.exec(line);
  let body = line;
  if (m !== null) {
    body = `${line.slice(0, m.index)}}`;
    if ((crc32(body) >>> 0).toString(16).padStart(8, '0') !== m[1]) return 'checksum mismatch';
  } else if (summed) return 'record without checksum after checksummed ones';
  let r: JournalRecord;
  try {
    r = JSON.parse(body) as JournalRecord;
  } catch {
    return 'not JSON';
  }
  const o = r?.object as unknown;
  if (
    typeof r !== 'object' ||
    r === null ||
    !Number.isSafeInteger(r.rv) ||
    r.rv < 1 ||
    typeof r.key !== 'string' ||
    !TYPES.has(r.type) ||
    typeof o !== 'object' ||
    o === null ||
    typeof (o as { metadata?: unknown }).metadata !== 'object' ||
    (o as { metadata?: unknown }).metadata === null
  )
    return 'record of the wrong shape';
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
    let summed = false;
    /** Highest resourceVersion so far: plain records must continue it without a gap. */
    let maxRv = 0;
    const corrupt = (reason: string): never => {
      closeSync(fd);
      throw new JournalCorruptError(file, lineNo, reason);
    };
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      lineNo++;
      if (nl < 0) break; // torn tail: never acknowledged
      const line = text.slice(pos, nl);
      if (line.trim() !== '') {
        const r = decodeRecord(line, summed);
        if (typeof r === 'string') {
          // Damage in the last line is a torn write (never acknowledged); before it, data loss.
          if (nl + 1 < text.length) corrupt(r);
          break;
        }
        if (SUM.test(line)) summed = true;
        // Every write takes the next resourceVersion: a gap means a lost record, a repeat a copied one.
        if (r.mode === undefined && maxRv > 0 && r.rv !== maxRv + 1)
          corrupt(
            r.rv <= maxRv
              ? `resourceVersion ${r.rv} after ${maxRv}: repeated or out of order`
              : `resourceVersion ${r.rv} after ${maxRv}: ${r.rv - maxRv - 1} record(s) missing`,
          );
        if (r.rv > maxRv) maxRv = r.rv;
        records.push(r);
      }
      pos = nl + 1;
      good += Buffer.byteLength(line) + 1;
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
        batch += encodeRecord(r);
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
    writeSync(this.fd, encodeRecord(r));
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
