// The limit notices of an ipynb-tools single-user server in JupyterLab 4 and Notebook 7 (issue 16 item 7).
//
// Polls <base_url>ipynb-tools/api/limits (ipynb_tools/serverext/limits.py: the server extension
// enforces the limits; this only shows them) and
//   * shows each notice it gets once, by id: a toast (Notification.warning, closes by itself), or a
//     sticky one (autoClose: false) such as "your server will stop at HH:MM";
//   * while the answer says "save" (from the activity limit until the stop), saves every open
//     document with unsaved changes, at each poll, so edits made in the grace period are kept too;
//   * after the stop (the server no longer answers), shows the server's "stopped" text once.
// Every text comes from the server (translated there); this file holds none a user reads.

import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ServerConnection } from '@jupyterlab/services';

const API_PATH = 'ipynb-tools/api/limits';
const TOAST_MS = 15000;
const FIRST_POLL_MS = 1000;
const DEFAULT_POLL_MS = 30000;

async function fetchState(settings) {
  const url = URLExt.join(settings.baseUrl, API_PATH);
  const response = await ServerConnection.makeRequest(url, { cache: 'no-store' }, settings);
  if (!response.ok) {
    const error = new Error(`${API_PATH}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// Save the open documents that have unsaved changes; the number saved.
async function saveDirty(app, docManager) {
  let saved = 0;
  if (docManager) {
    const seen = new Set();
    for (const widget of app.shell.widgets('main')) {
      const context = docManager.contextForWidget(widget);
      if (!context || seen.has(context) || !context.model || !context.model.dirty || context.model.readOnly) {
        continue;
      }
      seen.add(context);
      try {
        await context.save();
        saved += 1;
      } catch (reason) {
        console.warn('ipynb-tools: could not save', context.path, reason);
      }
    }
    return saved;
  }
  if (app.commands.hasCommand('docmanager:save-all')) {
    await app.commands.execute('docmanager:save-all');
  }
  return saved;
}

const plugin = {
  id: 'ipynb-tools-limits:plugin',
  description: 'Shows the activity and memory limit notices of an ipynb-tools server and saves before it stops.',
  autoStart: true,
  optional: [IDocumentManager],
  activate: (app, docManager) => {
    const settings = ServerConnection.makeSettings();
    const shown = new Set();
    let last = null;
    let stoppedShown = false;

    const show = notice => {
      if (shown.has(notice.id)) {
        return;
      }
      shown.add(notice.id);
      const options = { autoClose: notice.sticky ? false : TOAST_MS };
      const notify = notice.level === 'info' ? Notification.info : Notification.warning;
      notify(notice.message, options);
    };

    const poll = async () => {
      let state;
      try {
        state = await fetchState(settings);
      } catch (reason) {
        if (reason && (reason.status === 404 || reason.status === 403)) {
          return; // no ipynb-tools server extension here, or not ours to see: stop asking
        }
        if (last && last.save && !stoppedShown && last.stopped_message) {
          stoppedShown = true; // the server stopped at its limit
          Notification.info(last.stopped_message, { autoClose: false });
          return;
        }
        window.setTimeout(poll, last ? last.poll * 1000 : DEFAULT_POLL_MS);
        return;
      }
      last = state;
      for (const notice of state.notices || []) {
        show(notice);
      }
      if (state.save) {
        const saved = await saveDirty(app, docManager);
        if (saved) {
          console.info(`ipynb-tools: saved ${saved} document(s) before the server stops`);
        }
      }
      let delay = (state.poll || 30) * 1000;
      if (typeof state.stop_in === 'number' && state.stop_in > 0) {
        // ask once more just before the stop, so the last edits are saved
        delay = Math.min(delay, Math.max(500, state.stop_in * 1000 - 1500));
      }
      window.setTimeout(poll, delay);
    };

    window.setTimeout(poll, FIRST_POLL_MS);
  }
};

export default plugin;
