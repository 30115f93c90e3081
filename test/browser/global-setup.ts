/** vitest globalSetup: builds the web UI once, before any test starts a service (each would otherwise build it). */
import { buildUi } from './chromium.ts';

export default function setup(): void {
  buildUi();
}
