/** Building and reading PostgreSQL protocol messages, byte by byte (shared by the wire layer). */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message: type byte, int32 length (itself included), then the body parts. */
export function frame(type: string, body: readonly Uint8Array[]): Uint8Array {
  return frames([[type, body]]);
}

/** Several messages back to back in one buffer, each part copied once. */
export function frames(messages: ReadonlyArray<readonly [type: string, body: readonly Uint8Array[]]>): Uint8Array {
  const lengths = messages.map(([, body]) => 4 + body.reduce((sum, part) => sum + part.length, 0));
  const out = new Uint8Array(lengths.reduce((sum, length) => sum + 1 + length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  messages.forEach(([type, body], index) => {
    out[offset] = type.charCodeAt(0);
    view.setInt32(offset + 1, lengths[index]!);
    offset += 5;
    for (const part of body) {
      out.set(part, offset);
      offset += part.length;
    }
  });
  return out;
}

export function cString(value: string): Uint8Array {
  const encoded = encoder.encode(value);
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded);
  return out;
}

export function readCString(bytes: Uint8Array, offset: number): { value: string; next: number } {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return { value: decoder.decode(bytes.subarray(offset, end)), next: end + 1 };
}

export function int16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

export function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** An ErrorResponse with severity, SQLSTATE and message. */
export function errorResponse(severity: string, code: string, message: string): Uint8Array {
  const fields = [`S${severity}`, `V${severity}`, `C${code}`, `M${message}`].map((field) => cString(field));
  return frame('E', [...fields, new Uint8Array([0])]);
}

/**
 * Walks the whole messages at the start of `bytes` (each: type byte, int32 length, body) and lets
 * `replace` swap any of them for other bytes (null keeps it). Returns the complete messages,
 * rewritten, and the length they took in `bytes`: what follows is a message cut short, which the
 * caller keeps for the next chunk or passes on as it is. Unchanged input comes back uncopied.
 */
export function rewriteMessages(bytes: Uint8Array, replace: (type: number, message: Uint8Array) => Uint8Array | null): { rewritten: Uint8Array; complete: number } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  let copiedUpTo = 0;
  while (offset + 5 <= bytes.length) {
    const length = ((bytes[offset + 1]! << 24) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 8) | bytes[offset + 4]!) >>> 0;
    const end = offset + 1 + length;
    if (end > bytes.length) break;
    const replacement = replace(bytes[offset]!, bytes.subarray(offset, end));
    if (replacement) {
      parts.push(bytes.subarray(copiedUpTo, offset), replacement);
      copiedUpTo = end;
    }
    offset = end;
  }
  if (parts.length === 0) return { rewritten: offset === bytes.length ? bytes : bytes.subarray(0, offset), complete: offset };
  parts.push(bytes.subarray(copiedUpTo, offset));
  return { rewritten: concat(parts), complete: offset };
}
