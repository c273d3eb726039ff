/**
 * A readable trace of sessions as they are built (`simulate --trace`): every new turn once, with
 * the checked state after user turns, and the verdict when an attempt ends.
 */
import type { Session } from './session';

/** Returns an `onStep` callback that writes new lines of every session to `write`. */
export function sessionTracer(write: (line: string) => void): (s: Session) => void {
  const seen = new Map<string, number>();
  return (s) => {
    const key = `${s.goalIndex}/${s.attempt}`;
    const from = seen.get(key) ?? 0;
    const tag = `[goal ${s.goalIndex} attempt ${s.attempt}]`;
    for (const t of s.turns.slice(from)) {
      if (t.speaker === 'USER') {
        write(`${tag} USER (${t.intent}): ${t.utterance}`);
        write(`${tag}   state: ${JSON.stringify(t.state)}`);
      } else write(`${tag} SYSTEM (${t.action}${t.entity ? `: ${t.entity}` : ''}): ${t.utterance}`);
    }
    seen.set(key, s.turns.length);
    if (s.next === 'user_retry') {
      const facts = JSON.stringify(s.pending?.reveal ?? {});
      write(
        `${tag} USER (${s.pending?.intent}) repeated itself, asked again (facts ${facts}): ${s.pending?.utterance}`,
      );
    }
    if (s.next === 'done') {
      const fixes = s.failures.map((f) => `${f.reason}${f.slot ? `:${f.slot}` : ''}`).join(', ');
      write(
        `${tag} → ${s.result?.accepted ? 'accepted' : `rejected (${s.result?.reason})`}` +
          `${fixes ? `; checks: ${fixes}` : ''}`,
      );
    }
  };
}
