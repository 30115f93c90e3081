/**
 * Named points on the way of a message and of its alert where the fault tests kill the
 * service (test/faults/crash-sweep.ts; docs/faults.md): with ESTATE_CRASH_AT set to a point's
 * name, the process sends itself SIGKILL the first time it gets there. Unset (always, outside
 * those tests), a point costs one comparison with a constant.
 *
 * - `after-spool`: a turn that carried a device event is in the spool, nothing judged yet;
 * - `after-commit`: an alert's change and its deliveries are committed, nothing acknowledged;
 * - `before-puback`: a turn whose alerts are committed is about to be acknowledged;
 * - `after-puback`: its PUBACKs were written to the socket;
 * - `mid-delivery`: a receiver accepted a delivery, and the outbox does not know yet.
 */
export type CrashPoint = 'after-spool' | 'after-commit' | 'before-puback' | 'after-puback' | 'mid-delivery';

const AT = process.env.ESTATE_CRASH_AT as CrashPoint | undefined;

export function crashPoint(point: CrashPoint): void {
  if (AT === point) process.kill(process.pid, 'SIGKILL');
}
