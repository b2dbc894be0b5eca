/** Helpers for push-parser tests: results must not depend on how TCP cuts the bytes. */

export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
export const text = (b: Buffer): string => b.toString('latin1');

/**
 * Every way to cut `input` the tests use: whole, at every offset (empty chunks
 * included), one byte at a time, and at every pair of offsets for short inputs.
 */
export function* splits(input: Buffer, maxThreeWay = 40): Generator<Buffer[]> {
  yield [input];
  for (let i = 0; i <= input.length; i++) yield [input.subarray(0, i), input.subarray(i)];
  yield [...input].map((b) => Buffer.from([b]));
  if (input.length > maxThreeWay) return;
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) yield [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
  }
}
