/** Medication records → courses of one agent (docs/clinical-rules.md#2-medications). */
import type { Agent } from "./codes.js";
import {
  DAY_MS,
  type MedicationCourse,
  type MedicationStatementFact,
  type ReasonFact,
} from "./facts.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";

/**
 * Courses (docs/clinical-rules.md#2-medications): the records of one agent whose spans overlap,
 * or lie at most `courseMergeGapDays` apart, form one course; a course with no end is still
 * running. Its status is that of its latest-starting record; its refs and reasons are all of
 * theirs. Sorted by start, then agent.
 */
export function mergeCourses(
  statements: readonly MedicationStatementFact[],
  thresholds: Thresholds = defaultThresholds,
): MedicationCourse[] {
  const gapDays = thresholds.courseMergeGapDays.value;
  const byAgent = new Map<Agent, MedicationStatementFact[]>();
  for (const s of statements) {
    const list = byAgent.get(s.agent) ?? [];
    list.push(s);
    byAgent.set(s.agent, list);
  }
  const courses: MedicationCourse[] = [];
  for (const [agent, list] of byAgent) {
    list.sort((a, b) => a.start - b.start || (a.ref < b.ref ? -1 : 1));
    let cur:
      | {
          start: number;
          end: number | undefined;
          refs: string[];
          status: string;
          reasons: ReasonFact[];
          last: number;
        }
      | undefined;
    for (const s of list) {
      const fits =
        cur !== undefined && (cur.end === undefined || s.start - cur.end <= gapDays * DAY_MS);
      if (cur && fits) {
        cur.end =
          cur.end === undefined || s.end === undefined ? undefined : Math.max(cur.end, s.end);
        cur.refs.push(s.ref);
        cur.reasons.push(...s.reasons);
        if (s.start >= cur.last) {
          cur.status = s.status;
          cur.last = s.start;
        }
      } else {
        if (cur) courses.push(toCourse(agent, cur));
        cur = {
          start: s.start,
          end: s.end,
          refs: [s.ref],
          status: s.status,
          reasons: [...s.reasons],
          last: s.start,
        };
      }
    }
    if (cur) courses.push(toCourse(agent, cur));
  }
  return courses.sort((a, b) => a.start - b.start || (a.agent < b.agent ? -1 : 1));
}

function toCourse(
  agent: Agent,
  c: {
    start: number;
    end: number | undefined;
    refs: string[];
    status: string;
    reasons: ReasonFact[];
  },
): MedicationCourse {
  // Two literals, not a spread (V8's slow clone path): same keys, same order.
  return c.end !== undefined
    ? { agent, start: c.start, end: c.end, refs: c.refs, status: c.status, reasons: c.reasons }
    : { agent, start: c.start, refs: c.refs, status: c.status, reasons: c.reasons };
}
