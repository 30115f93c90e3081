import { describe, expect, it } from 'vitest';
import { isEventTopic, parseTopic } from './topic.ts';

describe('topics', () => {
  it('tells the events session’s topics (estate/+/+/+/event) from every other', () => {
    for (const t of ['estate/jinfo-garden/elevator/EL-1-A/event', 'estate/s/nokind/d/event', 'estate/a/b/c/event']) expect(isEventTopic(t)).toBe(true);
    for (const t of [
      'estate/jinfo-garden/elevator/EL-1-A/telemetry',
      'estate/jinfo-garden/elevator/EL-1-A/status',
      'estate/jinfo-garden/elevator/event',
      'estate/jinfo-garden/elevator/EL-1-A/x/event',
      'estate/event',
      'other/a/b/c/event',
      'estate/a/b/c/events',
      'estate/a/b/c/event/',
    ])
      expect(isEventTopic(t)).toBe(false);
    // Whatever the events session takes is a topic of five levels ending in event; parsing may still refuse it.
    expect(parseTopic('estate/s/nokind/d/event')).toBe('unknown kind "nokind"');
  });
});
