import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.ts';

describe('Deadlines', () => {
  it('gives back what is due, earliest first, and nothing not yet due', () => {
    const d = new Deadlines(4);
    const [a, b, c] = [1, 2, 3];
    d.add(a, 30);
    d.add(b, 10);
    d.add(c, 20);
    expect(d.pop(5)).toBe(-1);
    expect(d.pop(25)).toBe(2);
    expect(d.pop(25)).toBe(3);
    expect(d.pop(25)).toBe(-1);
    expect(d.has(a)).toBe(true);
    expect(d.has(b)).toBe(false);
    expect(d.pop(30)).toBe(1);
    expect(d.size).toBe(0);
  });

  it('holds an item once, at the earlier of two times', () => {
    const d = new Deadlines(2);
    const a = 1;
    d.add(a, 50);
    d.add(a, 70);
    expect(d.size).toBe(1);
    expect(d.pop(60)).toBe(1);
    d.add(a, 50);
    d.add(a, 20);
    expect(d.pop(20)).toBe(1);
  });

  it('pops in time order for any sequence of adds and pops (against a sorted list)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.record({ add: fc.integer({ min: 0, max: 40 }), t: fc.integer({ min: 0, max: 1000 }) }), fc.record({ pop: fc.integer({ min: 0, max: 1000 }) })), { maxLength: 300 }), (ops) => {
        const d = new Deadlines(41);
        const model = new Map<number, number>();
        for (const op of ops) {
          if ('add' in op) {
            const prev = model.get(op.add);
            model.set(op.add, prev === undefined ? op.t : Math.min(prev, op.t));
            d.add(op.add, op.t);
          } else {
            const got = d.pop(op.pop);
            const due = [...model].filter(([, t]) => t <= op.pop).sort((x, y) => x[1] - y[1]);
            if (due.length === 0) expect(got).toBe(-1);
            else {
              expect(got).toBeGreaterThanOrEqual(0);
              expect(model.get(got)).toBe(due[0]![1]);
              model.delete(got);
            }
          }
          expect(d.size).toBe(model.size);
          for (let it = 0; it <= 40; it++) expect(d.has(it)).toBe(model.has(it));
        }
      }),
      { numRuns: 300 },
    );
  });
});
