// Plain browser JavaScript, no build step. Talks to the sample host's REST API.
'use strict';

const state = { accessToken: null, refreshToken: null, previousRefreshToken: null, user: null, taskId: null };
const $ = (selector) => document.querySelector(selector);

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function show(selector, text, ok) {
  const el = $(selector);
  el.textContent = text;
  el.className = 'result ' + (ok ? 'ok' : 'bad');
}

function logRequest(method, url, status, body) {
  const li = document.createElement('li');
  const code = body && body.code ? ' ' + body.code : '';
  li.textContent = `${new Date().toLocaleTimeString()} ${method} ${url} -> ${status}${code}${body && body.message ? ' (' + body.message + ')' : ''}`;
  if (status >= 400) li.className = 'bad';
  $('#request-log').prepend(li);
}

// Calls the API with the access token; on TOKEN_EXPIRED it refreshes once and retries.
async function api(method, url, body, retried) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.accessToken) headers['Authorization'] = 'Bearer ' + state.accessToken;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await response.json(); } catch { json = { success: false, message: response.statusText }; }
  logRequest(method, url, response.status, json);
  if (response.status === 401 && json && json.code === 'TOKEN_EXPIRED' && !retried && state.refreshToken) {
    if (await refresh(true)) return api(method, url, body, true);
  }
  return { status: response.status, ...json };
}

function describeErrors(result) {
  const errors = result.data && result.data.errors;
  if (!errors || !errors.length) return result.message || ('HTTP ' + result.status);
  return (result.message ? result.message.split(':')[0] + ':\n' : '') + errors.map((e) => `  ${e.path || '/'}: ${e.message}`).join('\n');
}

function setTokens(data) {
  state.previousRefreshToken = state.refreshToken;
  state.accessToken = data.accessToken;
  state.refreshToken = data.refreshToken;
  if (data.user) state.user = data.user;
  renderWhoAmI();
}

function clearTokens() {
  state.accessToken = null;
  state.refreshToken = null;
  state.previousRefreshToken = null;
  state.user = null;
  renderWhoAmI();
}

function renderWhoAmI() {
  const el = $('#whoami');
  if (!state.user) { el.textContent = 'Not logged in.'; return; }
  el.innerHTML = `Logged in as <span id="current-user">${escapeHtml(state.user.username)}</span> (${escapeHtml(state.user.role)}).
    Access token: <code>${escapeHtml(state.accessToken.slice(0, 24))}…</code>
    Refresh token: <code>${escapeHtml(state.refreshToken.slice(-16))}</code>`;
}

// ---------- Auth ----------
async function login(event) {
  event.preventDefault();
  const result = await api('POST', '/api/auth/login', { username: $('#username').value, password: $('#password').value });
  if (result.success) {
    state.refreshToken = null;
    setTokens(result.data);
    show('#auth-result', `Logged in. Access token valid until ${new Date(result.data.accessTokenExpiresAt).toLocaleTimeString()}.`, true);
    await Promise.all([loadTasks(), loadTriggers(), loadCatalog()]);
  } else {
    show('#auth-result', describeErrors(result), false);
  }
}

async function refresh(silent) {
  if (!state.refreshToken) { show('#auth-result', 'Log in first.', false); return false; }
  const result = await api('POST', '/api/auth/refresh', { refreshToken: state.refreshToken });
  if (result.success) {
    setTokens(result.data);
    if (!silent) show('#auth-result', 'Rotated: the old refresh token is now used up; the new pair is in place.', true);
    return true;
  }
  show('#auth-result', `${result.code}: ${result.message}`, false);
  return false;
}

async function sessions() {
  const result = await api('GET', '/api/auth/sessions');
  const table = $('#sessions-table');
  if (!result.success) { show('#auth-result', `${result.code || result.status}: ${result.message}`, false); table.classList.add('hidden'); return; }
  table.classList.remove('hidden');
  table.querySelector('tbody').innerHTML = result.data.sessions.map((s) => `<tr>
    <td class="mono">${escapeHtml(s.sessionId.slice(0, 8))}${s.current ? ' (this one)' : ''}</td><td>${escapeHtml(s.ipAddress)}</td>
    <td>${escapeHtml((s.userAgent || '').slice(0, 40))}</td><td>${new Date(s.createdAt).toLocaleTimeString()}</td>
    <td>${new Date(s.lastUsedAt).toLocaleTimeString()}</td><td>${new Date(s.expiresAt).toLocaleString()}</td></tr>`).join('');
  show('#auth-result', `${result.data.count} active session(s).`, true);
}

async function logout() {
  const result = await api('POST', '/api/auth/logout', { refreshToken: state.refreshToken });
  show('#auth-result', result.message || result.code, result.success);
  if (result.success) clearTokens();
}

async function logoutAll() {
  const result = await api('POST', '/api/auth/logout/all', {});
  if (result.success) {
    show('#auth-result', `Logged out everywhere: ${result.data.revokedCount} session(s) revoked.`, true);
    clearTokens();
  } else {
    show('#auth-result', `${result.code || result.status}: ${result.message}`, false);
  }
}

// An attacker who stole a refresh token uses it after the real user already rotated it.
async function replay() {
  if (!state.refreshToken) { show('#auth-result', 'Log in first.', false); return; }
  if (!state.previousRefreshToken) await refresh(true);
  const stolen = state.previousRefreshToken;
  const result = await api('POST', '/api/auth/refresh', { refreshToken: stolen });
  const after = await api('POST', '/api/auth/refresh', { refreshToken: state.refreshToken });
  show('#auth-result',
    `Replayed the already-used refresh token: ${result.code} (${result.message}).\n` +
    `The legitimate user's current refresh token now gets: ${after.code || 'OK'}. Every session of the user was revoked; log in again.`,
    result.code === 'TOKEN_REUSE_ATTACK');
  clearTokens();
}

// ---------- Tasks ----------
async function loadCatalog() {
  const result = await api('GET', '/api/tasks/types');
  if (result.success) {
    $('#catalog').innerHTML = result.data.materials.map((m) => `<option value="${escapeHtml(m.name)}">`).join('');
  }
}

async function loadTasks() {
  const result = await api('GET', '/api/tasks');
  if (!result.success) return;
  $('#task-list').innerHTML = result.data.map((t) =>
    `<button type="button" class="small" data-task="${t.id}">${escapeHtml(t.taskNumber)} ${escapeHtml(t.taskTypeCode)}: ${escapeHtml(t.title)} [${escapeHtml(t.status)}]</button>`).join('');
}

async function createTask(event) {
  event.preventDefault();
  const result = await api('POST', '/api/tasks', { title: $('#task-title').value, taskTypeCode: $('#task-type').value });
  if (result.success) {
    show('#task-result', `Created ${result.data.taskNumber}. ${result.data.bom.length} BOM line(s) were added by triggers.`, true);
    renderTask(result.data);
    await loadTasks();
  } else {
    show('#task-result', describeErrors(result), false);
  }
}

async function openTask(id) {
  const result = await api('GET', `/api/tasks/${id}`);
  if (result.success) renderTask(result.data);
}

function money(value) { return value === null || value === undefined ? '–' : Number(value).toFixed(2); }

function renderTask(task) {
  state.taskId = task.id;
  $('#task-detail').classList.remove('hidden');
  $('#task-heading').textContent = `${task.taskNumber} · ${task.taskTypeCode} · ${task.title} · status: ${task.status}`;
  $('#task-status').value = task.status;
  $('#task-bom tbody').innerHTML = task.bom.length ? task.bom.map((l) => `<tr>
    <td>${l.id}</td><td>${escapeHtml(l.materialName)}</td><td>${l.quantity}</td><td>${escapeHtml(l.unit)}</td>
    <td>${money(l.unitPrice)}</td><td>${money(l.lineCost)}</td><td>${escapeHtml(l.addedBy)}</td>
    <td><button type="button" class="small" data-line="${l.id}" data-qty="${l.quantity}">Change qty</button></td></tr>`).join('')
    : '<tr><td colspan="8" class="muted">No materials yet.</td></tr>';
  $('#task-cost').innerHTML = `Cost (stored by CALCULATE_COST): <strong id="task-cost-value">${money(task.cost)}</strong> · current BOM value ${money(task.currentBomValue)}`;
  $('#task-notifications').innerHTML = task.notifications.length
    ? task.notifications.map((n) => `<li>${escapeHtml(n.message)} → ${escapeHtml(n.recipients.join(', '))} <span class="muted">(${escapeHtml(n.triggerName)})</span></li>`).join('')
    : '<li class="muted">None.</li>';
  $('#task-runs tbody').innerHTML = task.triggerRuns.length ? task.triggerRuns.map((r) => `<tr>
    <td>${escapeHtml(r.eventType)}</td><td>${escapeHtml(r.triggerName)}</td><td>${escapeHtml(r.actionType)}</td>
    <td><span class="pill ${escapeHtml(r.outcome)}">${escapeHtml(r.outcome)}</span></td><td>${escapeHtml(r.detail)}</td><td>${r.depth}</td></tr>`).join('')
    : '<tr><td colspan="6" class="muted">No trigger ran for this task.</td></tr>';
  followQueuedJobs(task);
}

// A queued trigger (the demo's CALCULATE_COST) runs a moment after the request: look again until its result is in.
function followQueuedJobs(task, attempt = 0) {
  const waiting = task.triggerRuns.some((r) => r.outcome === 'Queued') && task.cost !== task.currentBomValue;
  if (!waiting || attempt >= 20) return;
  setTimeout(async () => {
    if (state.taskId !== task.id) return;
    const result = await api('GET', `/api/tasks/${task.id}`);
    if (result.success) {
      const fresh = result.data;
      if (fresh.cost !== task.cost) renderTask(fresh); else followQueuedJobs(fresh, attempt + 1);
    }
  }, 300);
}

// ---------- Queue of queued, delayed and scheduled triggers ----------
async function loadJobs() {
  const counts = await api('GET', '/api/bom-triggers/jobs/counts');
  if (!counts.success) { show('#jobs-result', `${counts.code || counts.status}: ${counts.message}`, false); return; }
  const c = counts.data;
  $('#jobs-counts').textContent = `pending ${c.pending} · retrying ${c.retrying} · running ${c.running} · dead-lettered ${c.dead}`;
  const filter = $('#jobs-filter').value;
  const query = filter === 'retrying' ? 'state=Pending&retrying=true' : filter ? `state=${filter}` : '';
  const result = await api('GET', `/api/bom-triggers/jobs?limit=20&${query}`);
  if (!result.success) return;
  $('#jobs-table tbody').innerHTML = result.data.items.length ? result.data.items.map((j) => `<tr>
    <td>${j.id}</td><td>${j.triggerId}</td><td>${escapeHtml(j.kind)}</td><td>${escapeHtml(j.event.eventType)}</td><td>${j.event.taskId}</td>
    <td><span class="pill ${escapeHtml(j.state)}">${escapeHtml(j.state)}</span></td><td>${j.attempt}/${j.maxAttempts}</td>
    <td>${new Date(j.dueAt).toLocaleTimeString()}</td><td>${escapeHtml(j.lastError || '')}</td>
    <td>${j.state === 'Dead' || j.state === 'Discarded' ? `<button type="button" class="small" data-retry="${j.id}">Retry</button>` : ''}
        ${j.state === 'Dead' || j.state === 'Pending' ? `<button type="button" class="small warn" data-discard="${j.id}">Discard</button>` : ''}</td></tr>`).join('')
    : '<tr><td colspan="10" class="muted">No jobs.</td></tr>';
}

async function jobAction(id, action) {
  const result = await api('POST', `/api/bom-triggers/jobs/${id}/${action}`);
  show('#jobs-result', result.success ? result.message : `${result.code || result.status}: ${result.message}`, result.success);
  await loadJobs();
}

async function changeStatus() {
  const result = await api('PUT', `/api/tasks/${state.taskId}/status`, { status: $('#task-status').value });
  if (result.success) { renderTask(result.data); show('#task-result', result.message, true); await loadTasks(); }
  else show('#task-result', describeErrors(result), false);
}

async function addMaterial(event) {
  event.preventDefault();
  const result = await api('POST', `/api/tasks/${state.taskId}/materials`, { materialName: $('#material-name').value, quantity: Number($('#material-qty').value) });
  if (result.success) { renderTask(result.data); show('#task-result', result.message, true); }
  else show('#task-result', describeErrors(result), false);
}

async function changeQuantity(lineId, current) {
  const value = prompt('New quantity', current);
  if (value === null) return;
  const result = await api('PUT', `/api/tasks/${state.taskId}/materials/${lineId}`, { quantity: Number(value) });
  if (result.success) { renderTask(result.data); show('#task-result', result.message, true); }
  else show('#task-result', describeErrors(result), false);
}

// ---------- Triggers ----------
async function loadTriggers() {
  const [list, events, actions] = await Promise.all([api('GET', '/api/bom-triggers'), api('GET', '/api/bom-triggers/events'), api('GET', '/api/bom-triggers/actions')]);
  const tbody = $('#triggers-table tbody');
  if (!list.success) {
    tbody.innerHTML = `<tr><td colspan="8" class="muted">${escapeHtml(list.code || list.status)}: ${escapeHtml(list.message)}</td></tr>`;
    return;
  }
  tbody.innerHTML = list.data.map((t) => `<tr>
    <td>${t.id}</td><td>${escapeHtml(t.name)}</td><td>${escapeHtml(t.triggerEvent)}</td><td class="mono">${escapeHtml(JSON.stringify(t.triggerCondition))}</td>
    <td>${escapeHtml(t.actionType)}</td><td>${t.priority}</td><td>${t.isActive ? 'yes' : 'no'}</td>
    <td><button type="button" class="small" data-toggle="${t.id}">${t.isActive ? 'Deactivate' : 'Activate'}</button>
        <button type="button" class="small" data-logs="${t.id}">Logs</button></td></tr>`).join('');
  $('#test-trigger').innerHTML = list.data.map((t) => `<option value="${t.id}">${t.id}: ${escapeHtml(t.name)}</option>`).join('');
  if (events.success) $('#trigger-event').innerHTML = events.data.map((e) => `<option>${escapeHtml(e.name)}</option>`).join('');
  if (actions.success) $('#trigger-action').innerHTML = actions.data.map((a) => `<option>${escapeHtml(a.actionType)}</option>`).join('');
}

function parseJson(text, label) {
  try { return { value: JSON.parse(text) }; } catch (e) { return { error: `${label} is not valid JSON: ${e.message}` }; }
}

async function createTrigger(event) {
  event.preventDefault();
  const condition = parseJson($('#trigger-condition').value || '{}', 'Condition');
  const config = parseJson($('#trigger-config').value || '{}', 'Action config');
  if (condition.error || config.error) { show('#trigger-result', condition.error || config.error, false); return; }
  const result = await api('POST', '/api/bom-triggers', {
    name: $('#trigger-name').value, triggerEvent: $('#trigger-event').value, triggerCondition: condition.value,
    actionType: $('#trigger-action').value, actionConfig: config.value, priority: Number($('#trigger-priority').value),
  });
  if (result.success) { show('#trigger-result', `Created trigger ${result.data.id}.`, true); await loadTriggers(); }
  else show('#trigger-result', describeErrors(result), false);
}

async function toggleTrigger(id) {
  const result = await api('PATCH', `/api/bom-triggers/${id}/toggle`);
  if (result.success) await loadTriggers(); else show('#trigger-result', `${result.code || result.status}: ${result.message}`, false);
}

async function showLogs(id) {
  const result = await api('GET', `/api/bom-triggers/${id}/logs?limit=10`);
  if (!result.success) { show('#trigger-logs', `${result.code || result.status}: ${result.message}`, false); return; }
  const lines = result.data.items.map((l) => `${new Date(l.executedAt).toLocaleTimeString()} task ${l.taskId} ${l.outcome}${l.errorMessage ? ': ' + l.errorMessage : ''} ${l.resultData ? JSON.stringify(l.resultData) : ''}`);
  show('#trigger-logs', `Trigger ${id}: ${result.data.total} log row(s)\n` + (lines.join('\n') || '(none yet)'), true);
}

async function testTrigger(event) {
  event.preventDefault();
  const data = parseJson($('#test-data').value || '{}', 'Test data');
  if (data.error) { show('#test-result', data.error, false); return; }
  const result = await api('POST', `/api/bom-triggers/${$('#test-trigger').value}/test`, { testData: data.value });
  if (result.success) show('#test-result', `${result.message}\n` + result.data.explanation.join('\n'), result.data.wouldExecute);
  else show('#test-result', describeErrors(result), false);
}

// The dashboard (Dermag.BomTriggers.Dashboard) is a page: trade the bearer token for its cookie, then go there.
async function openDashboard(event) {
  event.preventDefault();
  const result = await api('POST', '/api/auth/dashboard-session');
  if (result.status === 200) window.location.href = '/bom-triggers/';
  else show('#auth-result', result.status === 401 ? 'Log in first to open the trigger dashboard.' : 'Your role may not open the trigger dashboard.', false);
}

// ---------- Wiring ----------
document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', login);
  $('#dashboard-link').addEventListener('click', openDashboard);
  $('#refresh-btn').addEventListener('click', () => refresh(false));
  $('#sessions-btn').addEventListener('click', sessions);
  $('#logout-btn').addEventListener('click', logout);
  $('#logout-all-btn').addEventListener('click', logoutAll);
  $('#replay-btn').addEventListener('click', replay);
  $('#task-form').addEventListener('submit', createTask);
  $('#status-btn').addEventListener('click', changeStatus);
  $('#material-form').addEventListener('submit', addMaterial);
  $('#load-triggers-btn').addEventListener('click', loadTriggers);
  $('#trigger-form').addEventListener('submit', createTrigger);
  $('#test-form').addEventListener('submit', testTrigger);
  $('#load-jobs-btn').addEventListener('click', loadJobs);
  $('#jobs-filter').addEventListener('change', loadJobs);
  document.querySelectorAll('.demo-user').forEach((b) => b.addEventListener('click', () => {
    $('#username').value = b.dataset.user; $('#password').value = b.dataset.pass;
  }));
  document.body.addEventListener('click', (e) => {
    const t = e.target;
    if (t.dataset.task) openTask(t.dataset.task);
    if (t.dataset.toggle) toggleTrigger(t.dataset.toggle);
    if (t.dataset.logs) showLogs(t.dataset.logs);
    if (t.dataset.line) changeQuantity(t.dataset.line, t.dataset.qty);
    if (t.dataset.retry) jobAction(t.dataset.retry, 'retry');
    if (t.dataset.discard) jobAction(t.dataset.discard, 'discard');
  });
});
