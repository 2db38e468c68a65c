/**
 * The bootstrapped template's tarball with what a fresh server never reads left out.
 *
 * Every in-memory server and every new data directory starts by writing the whole template into
 * PGlite's file system (untar, then file by file): its size is most of a server start's CPU. As
 * PGlite dumps it, a third of it is write-ahead log: the segment the bootstrap filled and the next
 * one, 16 MB each. PostgreSQL starts from the last checkpoint and reads the log from there on: after
 * a checkpoint taken at the start of a fresh segment (engine.ts), that is the segment's first page
 * or two. So the other segments are left out and the current one is cut after its last written
 * page. PostgreSQL writes past the end as the file grows (a file system extends a file written past
 * its end) and reads a short page as the end of the log, as it reads a zeroed one; new segments it
 * creates itself.
 */

const BLOCK = 512;
/** PostgreSQL's WAL page: a segment is cut at a page boundary, so its last page is whole. */
const WAL_PAGE = 8192;
/** A WAL segment's file name: timeline, log and segment number, 24 hex digits (pg_wal/000000010000000000000002). */
const WAL_SEGMENT = /(^|\/)pg_wal\/[0-9A-F]{24}$/;

export interface TarEntry {
  name: string;
  /** The entry's 512-byte header as written (its size and checksum fields are rewritten on output). */
  header: Uint8Array;
  data: Uint8Array;
}

function headerText(header: Uint8Array, from: number, length: number): string {
  const field = header.subarray(from, from + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('latin1');
}

/** The entries of a ustar archive as PGlite's dumpDataDir writes it (no long names, no extensions). */
export function readTar(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    // Two zero blocks end the archive.
    if (header.every((byte) => byte === 0)) break;
    const sizeText = headerText(header, 124, 12).trim();
    const size = sizeText === '' ? 0 : Number.parseInt(sizeText, 8);
    if (!Number.isSafeInteger(size) || offset + BLOCK + size > tar.length) {
      throw new Error(`the template tarball is damaged at byte ${offset} (entry size '${sizeText}'): delete node_modules/.cache/segment-materialize and start again to rebuild it`);
    }
    const prefix = headerText(header, 345, 155);
    const name = headerText(header, 0, 100);
    entries.push({ name: prefix ? `${prefix}/${name}` : name, header, data: tar.subarray(offset + BLOCK, offset + BLOCK + size) });
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

/** A ustar archive of the entries, each header's size and checksum set for its data. */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  let total = 2 * BLOCK;
  for (const entry of entries) total += BLOCK + Math.ceil(entry.data.length / BLOCK) * BLOCK;
  const tar = new Uint8Array(total);
  let offset = 0;
  for (const entry of entries) {
    const header = entry.header.slice();
    header.set(Buffer.from(`${entry.data.length.toString(8).padStart(11, '0')}\0`, 'latin1'), 124);
    // The checksum is the byte sum of the header with its own field read as spaces.
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `, 'latin1'), 148);
    tar.set(header, offset);
    tar.set(entry.data, offset + BLOCK);
    offset += BLOCK + Math.ceil(entry.data.length / BLOCK) * BLOCK;
  }
  return tar;
}

/** The segment's bytes up to the end of its last page holding anything but zeros. */
function writtenPages(segment: Uint8Array): Uint8Array {
  let end = segment.length;
  while (end > 0 && segment[end - 1] === 0) end--;
  return segment.subarray(0, Math.ceil(end / WAL_PAGE) * WAL_PAGE);
}

/**
 * The template without the write-ahead log a start does not read: `currentSegment` (the file name
 * of the segment holding the last checkpoint, pg_walfile_name of it) is kept up to its last written
 * page, every other segment is left out.
 */
export function withoutUnreadLog(tar: Uint8Array, currentSegment: string): Uint8Array {
  if (!/^[0-9A-F]{24}$/.test(currentSegment)) throw new Error(`'${currentSegment}' is not a WAL segment file name`);
  const entries = readTar(tar);
  const kept: TarEntry[] = [];
  let found = false;
  for (const entry of entries) {
    if (!WAL_SEGMENT.test(entry.name)) {
      kept.push(entry);
    } else if (entry.name.endsWith(`/${currentSegment}`)) {
      found = true;
      kept.push({ ...entry, data: writtenPages(entry.data) });
    }
  }
  // Without its checkpoint's segment PostgreSQL cannot start: keep the dump as it was.
  if (!found) throw new Error(`the template has no WAL segment ${currentSegment}: the checkpoint it starts from would be missing`);
  return writeTar(kept);
}
