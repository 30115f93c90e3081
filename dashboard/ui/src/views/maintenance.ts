/**
 * "Last done" of a device's maintenance tasks (`POST /api/maintenance`), from which the
 * maintenance report works out what is due (docs/reports.md). Shown on the device view to
 * operators and admins, for the kinds that have tasks.
 */
import { MAINTENANCE_TASKS } from '../../../../config/rules.ts';
import type { MaintenanceRecord } from '../api.ts';
import { h } from '../dom.ts';
import { shanghaiDate, shanghaiStart } from '../format.ts';
import { t } from '../i18n.ts';
import type { Session } from '../session.ts';
import { refusal } from './common.ts';

type Task = keyof typeof MAINTENANCE_TASKS;

export function tasksOf(kind: string): Task[] {
  return (Object.keys(MAINTENANCE_TASKS) as Task[]).filter((k) => MAINTENANCE_TASKS[k].kind === kind);
}

/** The form, or null when the device's kind has no tasks or the token may not record them. */
export function maintenanceCard(session: Session, device: { id: string; kind: string }, isGone: () => boolean): HTMLElement | null {
  const tasks = tasksOf(device.kind);
  if (tasks.length === 0 || !session.canRecordMaintenance) return null;
  const today = shanghaiDate(Date.now());
  const task = h('select', { name: 'task' }, tasks.map((k) => h('option', { value: k }, `${t(`task.${k}`)} · ${t('maintenance.every', { n: MAINTENANCE_TASKS[k].intervalDays })}`)));
  const date = h('input', { type: 'date', name: 'doneAt', value: today, max: today });
  const note = h('input', { type: 'text', name: 'note', maxLength: 1000 });
  const submit = h('button', { type: 'submit' }, t('maintenance.submit'));
  const message = h('p', { role: 'status', 'data-testid': 'maintenance-message' });
  const form = h(
    'form',
    { class: 'inline-form', 'data-testid': 'maintenance-form' },
    h('label', { class: 'field' }, t('maintenance.task'), task),
    h('label', { class: 'field' }, t('maintenance.date'), date),
    h('label', { class: 'field' }, t('maintenance.note'), note),
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!date.value) {
      message.className = 'notice error';
      message.textContent = t('maintenance.needDate');
      return;
    }
    submit.disabled = true;
    void (async () => {
      try {
        // The day it was done, as noon Beijing time: never "in the future" for today.
        const doneAt = date.value === today ? new Date().toISOString() : shanghaiStart(date.value).replace('T00:00', 'T12:00');
        const r = await session.api.post<MaintenanceRecord>('/api/maintenance', { device: device.id, task: task.value, doneAt, ...(note.value.trim() ? { note: note.value.trim() } : {}) });
        if (isGone()) return;
        message.className = 'notice ok';
        message.textContent = t('maintenance.recorded', { task: t(`task.${r.task as Task}`), date: shanghaiDate(Date.parse(r.doneAt)), who: r.recordedBy });
        note.value = '';
      } catch (err) {
        if (isGone()) return;
        message.className = 'notice error';
        message.textContent = refusal(err);
      } finally {
        submit.disabled = false;
      }
    })();
  });
  return h('section', { class: 'card' }, h('h2', null, t('maintenance.title')), form, h('p', { class: 'muted' }, t('maintenance.hint')), message);
}
