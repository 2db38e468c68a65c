/** A result row's cells, NULL shown as such (the live table and the SQL shell share it). */
import { cellText } from './format.ts';

export function Cells({ values }: { values: readonly unknown[] }) {
  return (
    <>
      {values.map((value, index) => (
        <td key={index} class={value === null ? 'null' : ''}>
          {cellText(value)}
        </td>
      ))}
    </>
  );
}
