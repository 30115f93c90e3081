/** Sign in with a token; a wrong one says so plainly, and so does an address locked out after too many. */
import { ApiError } from '../api.ts';
import { fill, h } from '../dom.ts';
import { t } from '../i18n.ts';
import { signIn, type Session } from '../session.ts';
import { describeError } from './common.ts';

export interface LoginOptions {
  /** why the user is here again: their token stopped working */
  expired: boolean;
  onSignedIn(session: Session): void;
  onUnauthorized(): void;
}

export function loginView(root: HTMLElement, opts: LoginOptions): { unmount(): void } {
  document.title = `${t('login.title')} · ${t('app.name')}`;
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true, spellcheck: false });
  const error = h('p', { class: 'notice error', role: 'alert', hidden: !opts.expired, 'data-testid': 'login-error' }, opts.expired ? t('login.expired') : '');
  const submit = h('button', { type: 'submit' }, t('login.submit'));
  const showError = (text: string) => {
    error.textContent = text;
    error.hidden = false;
  };
  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return showError(t('login.empty'));
        submit.disabled = true;
        submit.textContent = t('login.checking');
        try {
          opts.onSignedIn(await signIn(token, opts.onUnauthorized));
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) showError(t('login.invalid'));
          else if (err instanceof ApiError && err.status === 429) showError(t('login.tooMany', { n: err.retryAfter ?? 60 }));
          else showError(describeError(err));
          input.select();
        } finally {
          submit.disabled = false;
          submit.textContent = t('login.submit');
        }
      },
    },
    h('h1', null, t('login.title')),
    h('p', { class: 'muted' }, t('login.hint')),
    h('label', { for: 'token' }, t('login.token')),
    input,
    error,
    submit,
  );
  fill(root, form);
  input.focus();
  return { unmount() {} };
}
