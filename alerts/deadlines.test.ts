import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.ts';

interface Item {
  id: number;
  slot: number;
}

describe('Deadlines', () => {
  it('gives back what is due, earliest first, and nothing not yet due', () => {
    const d = new Deadlines<Item>();
    const a = { id: 1, slot: -1 };
    const b = { id: 2, slot: -1 };
    const c = { id: 3, slot: -1 };
    d.add(a, 30);
    d.add(b, 10);
    d.add(c, 20);
    expect(d.pop(5)).toBeUndefined();
    expect(d.pop(25)?.id).toBe(2);
    expect(d.pop(25)?.id).toBe(3);
    expect(d.pop(25)).toBeUndefined();
    expect(d.has(a)).toBe(true);
    expect(d.has(b)).toBe(false);
    expect(d.pop(30)?.id).toBe(1);
    expect(d.size).toBe(0);
  });

  it('holds an item once, at the earlier of two times', () => {
    const d = new Deadlines<Item>();
    const a = { id: 1, slot: -1 };
    d.add(a, 50);
    d.add(a, 70);
    expect(d.size).toBe(1);
    expect(d.pop(60)?.id).toBe(1);
    d.add(a, 50);
    d.add(a, 20);
    expect(d.pop(20)?.id).toBe(1);
  });

  it('pops in time order for any sequence of adds and pops (against a sorted list)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.record({ add: fc.integer({ min: 0, max: 40 }), t: fc.integer({ min: 0, max: 1000 }) }), fc.record({ pop: fc.integer({ min: 0, max: 1000 }) })), { maxLength: 300 }), (ops) => {
        const d = new Deadlines<Item>();
        const items = Array.from({ length: 41 }, (_, id) => ({ id, slot: -1 }));
        const model = new Map<number, number>();
        for (const op of ops) {
          if ('add' in op) {
            const prev = model.get(op.add);
            model.set(op.add, prev === undefined ? op.t : Math.min(prev, op.t));
            d.add(items[op.add]!, op.t);
          } else {
            const got = d.pop(op.pop);
            const due = [...model].filter(([, t]) => t <= op.pop).sort((x, y) => x[1] - y[1]);
            if (due.length === 0) expect(got).toBeUndefined();
            else {
              expect(got).toBeDefined();
              expect(model.get(got!.id)).toBe(due[0]![1]);
              model.delete(got!.id);
            }
          }
          expect(d.size).toBe(model.size);
          for (const it of items) expect(d.has(it)).toBe(model.has(it.id));
        }
      }),
      { numRuns: 300 },
    );
  });
});
