/**
 * The one walker over protocol messages (scripts/local/engine/protocol-bytes.ts, rewriteMessages)
 * that the database thread, the statement interrupts and the wire session all use.
 */
import { describe, expect, it } from 'vitest';
import { concat, cString, frame, frames, rewriteMessages } from '../../scripts/local/engine/protocol-bytes.ts';

const row = (text: string) => frame('D', [cString(text)]);
const ready = frame('Z', [new Uint8Array([0x49])]);

describe('rewriteMessages', () => {
  it('hands back unchanged input itself, and says where the whole messages end', () => {
    const bytes = frames([['D', [cString('a')]], ['Z', [new Uint8Array([0x49])]]]);
    const { rewritten, complete } = rewriteMessages(bytes, () => null);
    expect(rewritten).toBe(bytes);
    expect(complete).toBe(bytes.length);
  });

  it('stops before a message cut short, at its header or inside its body', () => {
    const whole = concat([row('first'), row('second')]);
    for (const cut of [row('first').length + 3, whole.length - 1]) {
      const { rewritten, complete } = rewriteMessages(whole.subarray(0, cut), () => null);
      expect(complete).toBe(row('first').length);
      expect([...rewritten]).toEqual([...row('first')]);
    }
  });

  it('replaces the messages asked for, keeps the others in order, and sees each type', () => {
    const bytes = concat([row('keep'), row('swap'), ready]);
    const seen: string[] = [];
    const { rewritten } = rewriteMessages(bytes, (type, message) => {
      seen.push(String.fromCharCode(type));
      return type === 0x44 && new TextDecoder().decode(message).includes('swap') ? row('swapped, longer') : null;
    });
    expect(seen).toEqual(['D', 'D', 'Z']);
    expect([...rewritten]).toEqual([...concat([row('keep'), row('swapped, longer'), ready])]);
  });
});
