// Dermag.BomTriggers.Dashboard: plain JavaScript, no build step, no third-party code, no inline script or style (strict CSP).
(() => {
  'use strict';

  const state = { meta: null, eventsByName: new Map(), operators: [], actionsByType: new Map() };

  // ---------- small helpers ----------
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    const p = props || {};
    for (const kid of kids.flat(Infinity)) {
      if (kid !== null && kid !== undefined && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
    }
    for (const [k, v] of Object.entries(p)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected' || k === 'draggable') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    return el;
  }

  // replaceChildren without the nulls, falses and nested arrays that conditional views produce.
  function put(el, ...kids) {
    el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
    return el;
  }

  function option(value, label, selected) { return h('option', { value, selected: selected || undefined }, label ?? value); }

  function fmtTime(iso) { return iso ? new Date(iso).toLocaleString() : '—'; }

  function toast(message, bad) {
    const box = document.getElementById('status');
    const item = h('div', { class: 'toast' + (bad ? ' bad' : '') }, message);
    box.append(item);
    setTimeout(() => item.remove(), 6000);
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers[state.meta.antiforgery.headerName] = state.meta.antiforgery.token;
    const init = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const response = await fetch('api/' + path, init);
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  async function getOrFail(path) {
    const r = await api('GET', path);
    if (!r.ok) throw new Error((r.data && (r.data.detail || r.data.error)) || ('HTTP ' + r.status));
    return r.data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  function pager(page, onPage) {
    const from = page.total === 0 ? 0 : page.offset + 1;
    const to = Math.min(page.offset + page.limit, page.total);
    return h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'prev', disabled: page.offset === 0, onclick: () => onPage(Math.max(0, page.offset - page.limit)) }, '← Previous'),
      h('span', { class: 'range' }, page.exact === false ? (to < page.total ? `${from}–${to} of more` : `${from}–${to}`) : `${from}–${to} of ${page.total}`),
      h('button', { type: 'button', class: 'next', disabled: to >= page.total, onclick: () => onPage(page.offset + page.limit) }, 'Next →'));
  }

  const canEdit = () => state.meta && state.meta.canEdit;

  // ---------- condition model: JSON <-> tree ----------
  let nextId = 0;
  const newGroup = (op, children) => ({ id: ++nextId, kind: 'group', op, children: children || [] });
  const newClause = (field, operator, text) => ({ id: ++nextId, kind: 'clause', field, operator, text: text ?? '' });
  const escapePointer = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

  function valueToText(value) {
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
    if (typeof value === 'string') return value;
    return JSON.stringify(value);
  }

  function parseParts(obj) {
    if (!isPlainObject(obj)) throw new Error('a condition must be a JSON object');
    const parts = [];
    for (const [key, value] of Object.entries(obj)) {
      if (key === '$all' || key === '$any') {
        if (!Array.isArray(value)) throw new Error(`${key} takes an array of conditions`);
        parts.push(newGroup(key, value.map((item) => single(parseParts(item)))));
      } else if (key === '$not') {
        parts.push(newGroup('$not', parseParts(value)));
      } else if (key.startsWith('$')) {
        throw new Error(`unknown combinator ${key}`);
      } else if (isPlainObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => k.startsWith('$'))) {
        for (const [op, literal] of Object.entries(value)) parts.push(newClause(key, op, valueToText(literal)));
      } else {
        parts.push(newClause(key, '$eq', valueToText(value)));
      }
    }
    return parts;
  }

  function single(parts) { return parts.length === 1 ? parts[0] : newGroup('$all', parts); }

  function fromJson(obj) {
    const parts = parseParts(obj);
    return parts.length === 1 && parts[0].kind === 'group' ? parts[0] : newGroup('$all', parts);
  }

  function fieldType(eventName, path) {
    const ev = state.eventsByName.get(eventName);
    const f = ev && ev.fields.find((x) => x.path === path);
    return f ? f.type : 'String';
  }

  function scalar(text, type) {
    const t = text.trim();
    if (type === 'Number') return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? Number(t) : text;
    if (type === 'Boolean') return t === 'true' ? true : t === 'false' ? false : text;
    return text;
  }

  function clauseLiteral(c, eventName) {
    const type = fieldType(eventName, c.field);
    const text = c.text ?? '';
    switch (c.operator) {
      case '$exists': return text !== 'false';
      case '$in': case '$nin':
        return text.trim() === '' ? [] : text.split(',').map((s) => scalar(s.trim(), type));
      case '$changed':
        if (text.trim() === '' || text.trim() === 'true') return true;
        try { return JSON.parse(text); } catch { return text; }
      default:
        if (type === 'StringArray' && c.operator !== '$contains') {
          try { const parsed = JSON.parse(text); if (Array.isArray(parsed)) return parsed; } catch { /* comma list */ }
          return text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
        }
        return scalar(text, type);
    }
  }

  // Emits the condition JSON and records the JSON Pointer of every clause and group, so the server's errors find their control.
  function toJson(root, eventName) {
    const pointers = new Map();
    const base = '/triggerCondition';
    function clauseValue(c) { return c.operator === '$eq' ? clauseLiteral(c, eventName) : { [c.operator]: clauseLiteral(c, eventName) }; }
    function record(c, objectPointer) {
      const fieldPtr = objectPointer + '/' + escapePointer(c.field || '');
      pointers.set(c.id, { field: fieldPtr, value: c.operator === '$eq' ? fieldPtr : fieldPtr + '/' + escapePointer(c.operator) });
    }
    function emitGroup(g, ptr) {
      pointers.set(g.id, { group: ptr });
      if (g.op === '$all') {
        const clauses = g.children.filter((c) => c.kind === 'clause');
        const distinct = new Set(clauses.map((c) => c.field)).size === clauses.length;
        if (clauses.length === g.children.length && distinct) {
          const obj = {};
          for (const c of clauses) { obj[c.field] = clauseValue(c); record(c, ptr); }
          return obj;
        }
        return { $all: g.children.map((c, i) => emitChild(c, ptr + '/$all/' + i)) };
      }
      if (g.op === '$any') return { $any: g.children.map((c, i) => emitChild(c, ptr + '/$any/' + i)) };
      const inner = { id: g.id, kind: 'group', op: '$all', children: g.children };
      const emitted = emitGroup(inner, ptr + '/$not');
      pointers.set(g.id, { group: ptr + '/$not' });
      return { $not: emitted };
    }
    function emitChild(node, ptr) {
      if (node.kind === 'group') return emitGroup(node, ptr);
      record(node, ptr);
      return { [node.field]: clauseValue(node) };
    }
    return { json: emitGroup(root, base), pointers };
  }

  // ---------- condition in words (list and builder) ----------
  const opWords = {
    $eq: 'is', $ne: 'is not', $gt: '>', $gte: '≥', $lt: '<', $lte: '≤', $in: 'is one of', $nin: 'is none of',
    $exists: 'exists', $contains: 'contains', $startsWith: 'starts with', $endsWith: 'ends with', $changed: 'changed',
  };

  function describeNode(node, top) {
    if (node.kind === 'clause') {
      if (node.operator === '$exists') return `${node.field} ${node.text === 'false' ? 'is missing' : 'exists'}`;
      if (node.operator === '$changed') return `${node.field} changed${node.text && node.text !== 'true' ? ' ' + node.text : ''}`;
      const value = ['$in', '$nin'].includes(node.operator) ? `[${node.text}]` : JSON.stringify(node.text);
      return `${node.field} ${opWords[node.operator] || node.operator} ${value}`;
    }
    if (node.children.length === 0) return node.op === '$not' ? 'never' : 'always';
    const joined = node.children.map((c) => describeNode(c, false)).join(node.op === '$any' ? ' or ' : ' and ');
    if (node.op === '$not') return `not (${joined})`;
    return top || node.children.length === 1 ? joined : `(${joined})`;
  }

  function describe(conditionJson) {
    try { return describeNode(fromJson(conditionJson || {}), true); } catch (e) { return 'invalid: ' + e.message; }
  }

  // ---------- routing ----------
  const views = [
    [/^#\/triggers$/, () => triggersView()],
    [/^#\/builder\/new$/, () => builderView(null)],
    [/^#\/builder\/(\d+)$/, (m) => builderView(Number(m[1]))],
    [/^#\/runs$/, () => runsView()],
    [/^#\/runs\/([0-9a-f-]{36})$/, (m) => chainView(m[1])],
    [/^#\/queue$/, () => queueView()],
  ];

  async function route() {
    const hash = location.hash || '#/triggers';
    const main = document.getElementById('main');
    for (const a of document.querySelectorAll('nav a')) {
      if (hash.startsWith(a.getAttribute('href').replace(/\/new$/, ''))) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    for (const [pattern, view] of views) {
      const m = hash.match(pattern);
      if (m) {
        put(main, h('p', { class: 'muted' }, 'Loading…'));
        try { await view(m); } catch (e) { put(main, h('p', { class: 'fail' }, 'Could not load: ' + e.message)); }
        return;
      }
    }
    location.hash = '#/triggers';
  }

  // ---------- Triggers ----------
  const listState = { search: '', event: '', action: '', active: '', offset: 0, limit: 25 };

  async function triggersView() {
    const main = document.getElementById('main');
    const tableHolder = h('div', { id: 'triggers-holder' });
    const load = async () => {
      const page = await getOrFail('triggers' + query(listState));
      put(tableHolder, triggersTable(page, load), pager(page, (offset) => { listState.offset = offset; load(); }));
    };
    const reset = () => { listState.offset = 0; load(); };
    const search = h('input', { id: 'trigger-search', type: 'search', value: listState.search, placeholder: 'name, description, action or #id', oninput: debounce((e) => { listState.search = e.target.value; reset(); }, 250) });
    const eventSelect = h('select', { id: 'filter-event', onchange: (e) => { listState.event = e.target.value; reset(); } },
      option('', 'any event'), state.meta.events.map((e) => option(e.name, e.name, e.name === listState.event)));
    const actionSelect = h('select', { id: 'filter-action', onchange: (e) => { listState.action = e.target.value; reset(); } },
      option('', 'any action'), state.meta.actions.map((a) => option(a.actionType, a.actionType, a.actionType === listState.action)));
    const activeSelect = h('select', { id: 'filter-active', onchange: (e) => { listState.active = e.target.value; reset(); } },
      option('', 'active or not'), option('true', 'active only', listState.active === 'true'), option('false', 'inactive only', listState.active === 'false'));
    put(main, 
      h('h2', {}, 'Triggers'),
      h('div', { class: 'toolbar', role: 'search' },
        h('label', {}, 'Search', search), h('label', {}, 'Event', eventSelect), h('label', {}, 'Action', actionSelect), h('label', {}, 'State', activeSelect),
        canEdit() ? h('a', { href: '#/builder/new', class: 'button' }, '+ New trigger') : null),
      tableHolder);
    await load();
  }

  function triggersTable(page, reload) {
    const hours = state.meta.countsWindowHours;
    return h('table', { id: 'triggers-table' },
      h('thead', {}, h('tr', {},
        ['Active', 'Name', 'Event', 'Condition', 'Action', 'Priority', 'Last run', `Last ${hours} h: executed / condition false / failed / loop-suppressed`].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, page.items.length === 0 ? h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No triggers match.')) : page.items.map((t) => {
        const runs = t.runs || { executed: 0, conditionFalse: 0, failed: 0, suppressedLoop: 0 };
        const toggle = h('input', {
          type: 'checkbox', class: 'toggle', checked: t.isActive, disabled: !canEdit(), 'aria-label': `Active: ${t.name}`,
          onchange: async (e) => {
            const r = await api('POST', `triggers/${t.id}/toggle`);
            if (!r.ok) { e.target.checked = !e.target.checked; toast('Toggle refused: ' + ((r.data && (r.data.detail || r.data.error)) || r.status), true); return; }
            toast(`${t.name} is now ${r.data.isActive ? 'active' : 'inactive'}.`);
            reload();
          },
        });
        return h('tr', { dataset: { id: t.id } },
          h('td', {}, toggle),
          h('td', {}, h('a', { href: `#/builder/${t.id}` }, t.name), t.queued ? h('span', { class: 'badge' }, ' queued') : null),
          h('td', {}, t.triggerEvent),
          h('td', { class: 'condition-words' }, describe(t.triggerCondition)),
          h('td', {}, t.actionType),
          h('td', {}, t.priority),
          h('td', {}, t.runs && t.runs.lastRunAt ? [fmtTime(t.runs.lastRunAt), ' ', h('span', { class: 'outcome-' + t.runs.lastOutcome }, t.runs.lastOutcome)] : h('span', { class: 'muted' }, 'never')),
          h('td', { class: 'counts' },
            h('span', { class: 'outcome-Executed', title: 'executed' }, runs.executed), ' / ',
            h('span', { class: 'outcome-ConditionFalse', title: 'condition false: events of its type it saw and did not run for (a false condition or a task type it does not apply to), since its last change; counted every few seconds' }, runs.conditionFalse ?? 0), ' / ',
            h('span', { class: 'outcome-Failed', title: 'failed' }, runs.failed), ' / ',
            h('span', { class: 'outcome-SuppressedLoop', title: 'loop-suppressed' }, runs.suppressedLoop),
            ' ', h('a', { href: '#/runs', class: 'runs-link', onclick: () => { runsState.triggerId = String(t.id); runsState.offset = 0; } }, 'runs')));
      })));
  }

  // ---------- Builder ----------
  async function builderView(id) {
    const main = document.getElementById('main');
    const loaded = id === null ? null : await getOrFail('triggers/' + id);
    const firstEvent = state.meta.events[0];
    const b = {
      id,
      loaded,
      root: null,
      pointers: new Map(),
      eventName: loaded ? loaded.triggerEvent : firstEvent.name,
      actionType: loaded ? loaded.actionType : state.meta.actions[0].actionType,
      config: loaded ? { ...loaded.actionConfig } : {},
    };
    try { b.root = fromJson(loaded ? loaded.triggerCondition : {}); } catch { b.root = newGroup('$all', []); }
    const readOnly = !canEdit();

    const name = h('input', { id: 'name', value: loaded ? loaded.name : '', maxlength: 200, disabled: readOnly, 'data-pointer': '/name' });
    const description = h('input', { id: 'description', value: loaded ? loaded.description || '' : '', disabled: readOnly, 'data-pointer': '/description' });
    const eventSelect = h('select', { id: 'event', disabled: readOnly, 'data-pointer': '/triggerEvent' },
      state.meta.events.map((e) => option(e.name, e.name, e.name === b.eventName)));
    const priority = h('input', { id: 'priority', type: 'number', value: loaded ? loaded.priority : 10, disabled: readOnly, 'data-pointer': '/priority' });
    const active = h('input', { id: 'active', type: 'checkbox', checked: loaded ? loaded.isActive : true, disabled: readOnly });
    const sourceType = h('input', { id: 'source-type', type: 'number', min: 1, value: loaded && loaded.sourceTaskTypeId != null ? loaded.sourceTaskTypeId : '', disabled: readOnly, 'data-pointer': '/sourceTaskTypeId' });
    const targetType = h('input', { id: 'target-type', type: 'number', min: 1, value: loaded && loaded.targetTaskTypeId != null ? loaded.targetTaskTypeId : '', disabled: readOnly, 'data-pointer': '/targetTaskTypeId' });
    const actionSelect = h('select', { id: 'action', disabled: readOnly, 'data-pointer': '/actionType' },
      state.meta.actions.map((a) => option(a.actionType, a.actionType, a.actionType === b.actionType)));
    const actionHelp = h('p', { class: 'muted', id: 'action-help' });
    const configForm = h('div', { id: 'action-config', class: 'form-row' });
    const tree = h('div', { id: 'builder', role: 'tree', 'aria-label': 'Condition' });
    const jsonBox = h('textarea', { id: 'condition-json', rows: 14, spellcheck: 'false', disabled: readOnly, 'aria-label': 'Condition JSON', 'aria-describedby': 'json-error' });
    const jsonError = h('div', { id: 'json-error', class: 'error-text', role: 'alert' });
    const words = h('p', { id: 'condition-words', class: 'muted' });
    const generalErrors = h('ul', { id: 'general-errors', class: 'errors', role: 'alert' });
    const saveButton = h('button', { type: 'button', id: 'save', class: 'primary', hidden: readOnly }, id === null ? 'Create trigger' : 'Save changes');
    const deleteButton = id !== null && !readOnly ? h('button', { type: 'button', id: 'delete', class: 'danger' }, 'Delete') : null;

    function definition() {
      const num = (input) => (input.value.trim() === '' ? null : Number(input.value));
      return {
        name: name.value,
        description: description.value || null,
        triggerEvent: eventSelect.value,
        triggerCondition: toJson(b.root, b.eventName).json,
        actionType: actionSelect.value,
        actionConfig: gatherConfig(),
        sourceTaskTypeId: num(sourceType),
        targetTaskTypeId: num(targetType),
        priority: priority.value.trim() === '' ? 10 : Number(priority.value),
        isActive: active.checked,
        execution: loaded ? loaded.execution : null,
      };
    }

    // --- action config form, generated from the action's declared fields ---
    function renderConfig() {
      const action = state.actionsByType.get(actionSelect.value);
      actionHelp.textContent = action ? action.description + (action.causedEvents.length ? ` May raise: ${action.causedEvents.join(', ')}.` : '') : '';
      put(configForm, ...(action ? action.configFields : []).map((f) => {
        const current = b.config[f.name];
        const id2 = 'config-' + f.name;
        const common = { id: id2, disabled: readOnly, dataset: { config: f.name, type: f.type }, 'data-pointer': '/actionConfig/' + escapePointer(f.name), oninput: () => changed(false), onchange: () => changed(false) };
        let control;
        if (f.type === 'boolean') {
          control = h('select', common, option('', '(not set)'), option('true', 'true', current === true), option('false', 'false', current === false));
        } else {
          const text = current === undefined ? '' : Array.isArray(current) ? current.join(', ') : typeof current === 'string' ? current : JSON.stringify(current);
          control = h('input', { ...common, value: text, placeholder: f.type === 'string[]' ? 'comma, separated' : f.type });
        }
        return h('label', { class: 'grow', title: f.description }, `${f.name}${f.required ? ' *' : ''} (${f.type})`, control, h('span', { class: 'muted' }, f.description));
      }));
    }

    function gatherConfig() {
      const config = {};
      for (const input of configForm.querySelectorAll('[data-config]')) {
        const v = input.value;
        if (v.trim() === '') continue;
        const type = input.dataset.type;
        if (type === 'number') config[input.dataset.config] = /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
        else if (type === 'boolean') config[input.dataset.config] = v === 'true';
        else if (type === 'string[]') config[input.dataset.config] = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
        else if (type === 'string') config[input.dataset.config] = v;
        else { try { config[input.dataset.config] = JSON.parse(v); } catch { config[input.dataset.config] = v; } }
      }
      b.config = config;
      return config;
    }

    // --- the condition tree ---
    function findParent(node, parent = b.root) {
      for (const child of parent.children) {
        if (child === node) return parent;
        if (child.kind === 'group') { const p = findParent(node, child); if (p) return p; }
      }
      return null;
    }
    function contains(group, node) { return group === node || (group.kind === 'group' && group.children.some((c) => contains(c, node))); }
    function byId(nodeId, from = b.root) {
      if (from.id === nodeId) return from;
      if (from.kind === 'group') for (const c of from.children) { const f = byId(nodeId, c); if (f) return f; }
      return null;
    }

    function operatorsFor(type) {
      const ev = state.eventsByName.get(b.eventName);
      return state.operators.filter((o) => o.appliesTo.includes(type) && (!o.comparesPrevious || (ev && ev.supportsPreviousValues)));
    }

    function move(node, delta) {
      const parent = findParent(node);
      const i = parent.children.indexOf(node);
      const j = i + delta;
      if (j < 0 || j >= parent.children.length) return;
      parent.children.splice(i, 1);
      parent.children.splice(j, 0, node);
      structural(`${node.id}:${delta < 0 ? 'up' : 'down'}`);
    }
    function indent(node) {
      const parent = findParent(node);
      const i = parent.children.indexOf(node);
      const target = parent.children.slice(0, i).reverse().find((c) => c.kind === 'group');
      if (!target) { toast('There is no group above to move into.'); return; }
      parent.children.splice(i, 1);
      target.children.push(node);
      structural(`${node.id}:indent`);
    }
    function outdent(node) {
      const parent = findParent(node);
      if (parent === b.root) return;
      const grand = findParent(parent);
      parent.children.splice(parent.children.indexOf(node), 1);
      grand.children.splice(grand.children.indexOf(parent) + 1, 0, node);
      structural(`${node.id}:outdent`);
    }
    function remove(node) {
      const parent = findParent(node);
      const i = parent.children.indexOf(node);
      parent.children.splice(i, 1);
      const neighbour = parent.children[Math.min(i, parent.children.length - 1)];
      structural(neighbour ? `${neighbour.id}:remove` : `${parent.id}:add-clause`);
    }
    function addClause(group) {
      const ev = state.eventsByName.get(b.eventName);
      const field = ev.fields[0];
      const clause = newClause(field.path, '$eq', '');
      group.children.push(clause);
      structural(`${clause.id}:field`);
    }
    function addGroup(group) {
      const g = newGroup('$any', []);
      group.children.push(g);
      structural(`${g.id}:group-op`);
    }

    function dragHandle(node) {
      return h('span', {
        class: 'drag', draggable: !readOnly, title: 'Drag into a group', 'aria-hidden': 'true',
        ondragstart: (e) => { e.dataTransfer.setData('text/plain', String(node.id)); e.dataTransfer.effectAllowed = 'move'; },
      }, '⠿');
    }

    function controls(node, isRoot) {
      if (readOnly || isRoot) return [];
      const label = node.kind === 'group' ? 'group' : 'condition';
      return [
        h('button', { type: 'button', class: 'up', 'aria-label': `Move ${label} up`, dataset: { focus: `${node.id}:up` }, onclick: () => move(node, -1) }, '↑'),
        h('button', { type: 'button', class: 'down', 'aria-label': `Move ${label} down`, dataset: { focus: `${node.id}:down` }, onclick: () => move(node, 1) }, '↓'),
        h('button', { type: 'button', class: 'indent', 'aria-label': `Move ${label} into the group above`, dataset: { focus: `${node.id}:indent` }, onclick: () => indent(node) }, '→'),
        h('button', { type: 'button', class: 'outdent', 'aria-label': `Move ${label} out of its group`, dataset: { focus: `${node.id}:outdent` }, onclick: () => outdent(node) }, '←'),
        h('button', { type: 'button', class: 'remove danger', 'aria-label': `Remove ${label}`, dataset: { focus: `${node.id}:remove` }, onclick: () => remove(node) }, '✕'),
      ];
    }

    // A clause re-renders its parts in place (never the whole tree), so the focused select keeps focus and its typeahead.
    function renderClause(c) {
      const ev = state.eventsByName.get(b.eventName);
      const known = ev.fields.some((f) => f.path === c.field);
      const opHolder = h('span', { class: 'op-holder' });
      const valueHolder = h('span', { class: 'value-holder' });
      const fieldSelect = h('select', {
        class: 'field', disabled: readOnly, 'aria-label': 'Field', dataset: { focus: `${c.id}:field` },
        onchange: (e) => {
          c.field = e.target.value;
          if (!operatorsFor(fieldType(b.eventName, c.field)).some((o) => o.name === c.operator)) c.operator = '$eq';
          renderOperator();
          renderValue();
          changed(true);
        },
      }, known ? null : option(c.field, `${c.field} (unknown)`, true), ev.fields.map((f) => option(f.path, `${f.path} (${f.type})`, f.path === c.field)));
      function renderOperator() {
        const ops = operatorsFor(fieldType(b.eventName, c.field));
        put(opHolder, h('select', {
          class: 'op', disabled: readOnly, 'aria-label': 'Operator', dataset: { focus: `${c.id}:op` },
          onchange: (e) => {
            c.operator = e.target.value;
            if (c.operator === '$exists' || c.operator === '$changed') c.text = 'true';
            renderValue();
            changed(true);
          },
        }, ops.some((o) => o.name === c.operator) ? null : option(c.operator, `${c.operator} (not valid here)`, true),
        ops.map((o) => option(o.name, `${opWords[o.name] || o.name}`, o.name === c.operator))));
      }
      function renderValue() {
        const type = fieldType(b.eventName, c.field);
        if (c.operator === '$exists' || (type === 'Boolean' && ['$eq', '$ne'].includes(c.operator))) {
          if (c.text !== 'true' && c.text !== 'false') c.text = 'true';
          put(valueHolder, h('select', { class: 'value', disabled: readOnly, 'aria-label': 'Value', dataset: { focus: `${c.id}:value` }, onchange: (e) => { c.text = e.target.value; changed(true); } },
            option('true', c.operator === '$exists' ? 'yes' : 'true', c.text === 'true'), option('false', c.operator === '$exists' ? 'no' : 'false', c.text === 'false')));
        } else {
          const hint = c.operator === '$changed' ? 'true or {"from":…,"to":…}' : ['$in', '$nin'].includes(c.operator) ? 'comma, separated' : type.toLowerCase();
          put(valueHolder, h('input', { class: 'value', disabled: readOnly, value: c.text, placeholder: hint, 'aria-label': 'Value', dataset: { focus: `${c.id}:value` }, oninput: (e) => { c.text = e.target.value; changed(true); } }));
        }
      }
      renderOperator();
      renderValue();
      const error = h('span', { class: 'error-text', id: `err-${c.id}`, hidden: true });
      return h('div', { class: 'clause', role: 'treeitem', dataset: { id: c.id } },
        dragHandle(c), fieldSelect, opHolder, valueHolder, controls(c, false), error);
    }

    function renderGroup(g, isRoot) {
      const children = h('div', {
        class: 'children', role: 'group',
        ondragover: (e) => { e.preventDefault(); e.currentTarget.parentElement.classList.add('drop-target'); },
        ondragleave: (e) => e.currentTarget.parentElement.classList.remove('drop-target'),
        ondrop: (e) => {
          e.preventDefault();
          e.stopPropagation();
          e.currentTarget.parentElement.classList.remove('drop-target');
          const node = byId(Number(e.dataTransfer.getData('text/plain')));
          if (!node || node === b.root || contains(node, g)) return;
          const parent = findParent(node);
          parent.children.splice(parent.children.indexOf(node), 1);
          g.children.push(node);
          structural(`${node.id}:up`);
        },
      }, g.children.map((c) => (c.kind === 'group' ? renderGroup(c, false) : renderClause(c))));
      const opSelect = h('select', {
        class: 'group-op', disabled: readOnly, 'aria-label': isRoot ? 'Match' : 'Group type', dataset: { focus: `${g.id}:group-op` },
        onchange: (e) => { g.op = e.target.value; structural(`${g.id}:group-op`); },
      }, option('$all', 'ALL of ($all)', g.op === '$all'), option('$any', 'ANY of ($any)', g.op === '$any'), option('$not', 'NONE of ($not)', g.op === '$not'));
      const error = h('span', { class: 'error-text', id: `err-${g.id}`, hidden: true });
      return h('div', { class: `group op-${g.op.slice(1)}`, role: 'treeitem', 'aria-expanded': 'true', dataset: { id: g.id } },
        h('div', { class: 'group-head' },
          isRoot ? null : dragHandle(g),
          h('span', {}, isRoot ? 'Fire when' : 'Group:'), opSelect,
          readOnly ? null : h('button', { type: 'button', class: 'add-clause', dataset: { focus: `${g.id}:add-clause` }, onclick: () => addClause(g) }, '+ Condition'),
          readOnly ? null : h('button', { type: 'button', class: 'add-group', dataset: { focus: `${g.id}:add-group` }, onclick: () => addGroup(g) }, '+ Group'),
          controls(g, isRoot), error),
        children,
        g.children.length === 0 ? h('p', { class: 'muted' }, isRoot ? 'No conditions: the trigger fires for every event.' : 'Empty group.') : null);
    }

    function renderTree(focusKey) {
      put(tree, renderGroup(b.root, true));
      if (focusKey) {
        const el = tree.querySelector(`[data-focus="${focusKey}"]`) || tree.querySelector(`[data-focus^="${focusKey.split(':')[0]}:"]`);
        if (el) el.focus();
      }
    }

    // A change of the tree's shape re-renders it (keeping focus); a typed value only refreshes the JSON and the validation.
    function structural(focusKey) { renderTree(focusKey); changed(true); }

    function changed(conditionChanged) {
      if (conditionChanged) {
        const { json } = toJson(b.root, b.eventName);
        if (document.activeElement !== jsonBox) jsonBox.value = JSON.stringify(json, null, 2);
        jsonError.textContent = '';
        jsonBox.removeAttribute('aria-invalid');
        words.textContent = 'In words: ' + describeNode(b.root, true);
        // The sample follows the condition until the user edits it.
        if (!sampleEdited) testData.value = sample();
      }
      validateSoon();
    }

    jsonBox.addEventListener('input', () => {
      let parsed;
      try { parsed = JSON.parse(jsonBox.value); } catch (e) {
        jsonError.textContent = 'Not valid JSON: ' + e.message;
        jsonBox.setAttribute('aria-invalid', 'true');
        return;
      }
      try { b.root = fromJson(parsed); } catch (e) {
        jsonError.textContent = 'The builder cannot show this: ' + e.message;
        jsonBox.setAttribute('aria-invalid', 'true');
        return;
      }
      jsonError.textContent = '';
      jsonBox.removeAttribute('aria-invalid');
      renderTree(null);
      words.textContent = 'In words: ' + describeNode(b.root, true);
      validateSoon();
    });

    // --- validation: the server's JSON Pointers mapped to controls ---
    function clearErrors() {
      for (const el of main.querySelectorAll('[aria-invalid="true"]')) { if (el !== jsonBox) { el.removeAttribute('aria-invalid'); el.removeAttribute('aria-describedby'); } }
      for (const el of main.querySelectorAll('.error-text[id^="err-"]')) { el.hidden = true; el.textContent = ''; }
      put(generalErrors);
    }

    function markControl(control, holder, message) {
      control.setAttribute('aria-invalid', 'true');
      holder.hidden = false;
      holder.textContent = holder.textContent ? holder.textContent + '; ' + message : message;
      control.setAttribute('aria-describedby', holder.id);
    }

    function showErrors(errors) {
      clearErrors();
      const { pointers } = toJson(b.root, b.eventName);
      for (const error of errors) {
        let placed = false;
        if (error.path.startsWith('/triggerCondition')) {
          let best = null;
          for (const [nodeId, p] of pointers) {
            const candidates = p.group !== undefined ? [[p.group, 'group']] : [[p.value, 'value'], [p.field, 'field']];
            for (const [ptr, kind] of candidates) {
              if ((error.path === ptr || error.path.startsWith(ptr + '/')) && (!best || ptr.length > best.ptr.length)) best = { nodeId, ptr, kind };
            }
          }
          if (best) {
            const el = tree.querySelector(`[data-id="${best.nodeId}"]`);
            const unknownField = /unknown field/.test(error.message);
            const selector = best.kind === 'group' ? '.group-op' : unknownField ? '.field' : /operator|applies/.test(error.message) ? '.op' : '.value';
            const control = el && el.querySelector(selector);
            const holder = el && el.querySelector(`#err-${best.nodeId}`);
            if (control && holder) { markControl(control, holder, error.message); placed = true; }
          }
        } else {
          const control = [...main.querySelectorAll('[data-pointer]')].find((c) => error.path === c.dataset.pointer || error.path.startsWith(c.dataset.pointer + '/'));
          if (control) {
            let holder = control.parentElement.querySelector('.error-text');
            if (!holder) { holder = h('span', { class: 'error-text', id: 'err-' + control.id }); control.parentElement.append(holder); }
            markControl(control, holder, error.message);
            placed = true;
          }
        }
        if (!placed) generalErrors.append(h('li', {}, `${error.path || '/'}: ${error.message}`));
      }
      saveButton.dataset.errors = String(errors.length);
    }

    let validation = 0;
    const validateSoon = debounce(async () => {
      const mine = ++validation;
      const r = await api('POST', 'validate', definition());
      if (mine !== validation || !r.ok) return;
      showErrors(r.data.errors);
    }, 300);

    // --- dry run ---
    const sample = () => {
      const ev = state.eventsByName.get(eventSelect.value);
      const data = {};
      const set = (path, value) => {
        const parts = path.split('.');
        let target = data;
        for (const part of parts.slice(0, -1)) { target[part] = isPlainObject(target[part]) ? target[part] : {}; target = target[part]; }
        target[parts[parts.length - 1]] = value;
      };
      for (const f of ev.fields) set(f.path, f.type === 'Number' ? 1 : f.type === 'Boolean' ? false : f.type === 'StringArray' ? [] : 'example');
      const walk = (node) => {
        if (node.kind === 'group') { if (node.op !== '$not') node.children.forEach(walk); return; }
        if (node.operator === '$eq') set(node.field, clauseLiteral(node, b.eventName));
        if (node.operator === '$in') { const v = clauseLiteral(node, b.eventName); if (v.length) set(node.field, v[0]); }
      };
      walk(b.root);
      return JSON.stringify(data, null, 2);
    };
    const testData = h('textarea', { id: 'test-data', rows: 10, spellcheck: 'false', 'aria-label': 'Sample event data' });
    const previous = h('textarea', { id: 'test-previous', rows: 4, spellcheck: 'false', 'aria-label': 'Previous values', placeholder: '{"status":"in_progress"}' });
    const testTask = h('input', { id: 'test-task', type: 'number', value: 1, 'aria-label': 'Task id' });
    const testType = h('input', { id: 'test-task-type', type: 'number', 'aria-label': 'Task type id' });
    const previousLabel = h('label', { id: 'previous-label', hidden: !state.eventsByName.get(b.eventName).supportsPreviousValues }, 'Previous values (for $changed)', previous);
    const result = h('div', { id: 'dry-run-result', 'aria-live': 'polite' });
    let sampleEdited = false;
    testData.addEventListener('input', () => { sampleEdited = true; });

    async function dryRun() {
      let data; let prev = null;
      try { data = JSON.parse(testData.value); } catch (e) { put(result, h('p', { class: 'fail' }, 'Sample data is not valid JSON: ' + e.message)); return; }
      if (!previousLabel.hidden && previous.value.trim()) { try { prev = JSON.parse(previous.value); } catch (e) { put(result, h('p', { class: 'fail' }, 'Previous values are not valid JSON: ' + e.message)); return; } }
      const r = await api('POST', 'test', { definition: definition(), testData: data, previousValues: prev, taskId: Number(testTask.value || 0), taskTypeId: testType.value ? Number(testType.value) : null });
      if (!r.ok) { put(result, h('p', { class: 'fail' }, 'Dry run failed: ' + ((r.data && (r.data.detail || r.data.error)) || r.status))); return; }
      const t = r.data;
      put(result, 
        h('p', {}, h('span', { class: 'verdict ' + (t.wouldExecute ? 'yes' : 'no'), id: 'verdict' }, t.wouldExecute ? `Would fire: runs ${t.actionType}` : 'Would not fire')),
        t.errors.length ? h('ul', { class: 'errors' }, t.errors.map((e) => h('li', {}, `${e.path}: ${e.message}`))) : null,
        h('h3', {}, 'Clause by clause'),
        t.condition ? h('ol', { class: 'trace', id: 'trace' }, t.condition.trace.map((c) =>
          h('li', { class: c.passed ? 'pass' : 'fail' }, `${c.passed ? '✔ PASS' : '✘ FAIL'}  ${c.clause}  (actual ${c.actual})  `, h('span', { class: 'muted' }, c.path)))) : null,
        h('ul', { class: 'muted' }, t.explanation.filter((l) => !/^(PASS|FAIL) /.test(l)).map((l) => h('li', {}, l))),
        h('h3', {}, 'Chained triggers it could set off'),
        t.chainedTriggers.length === 0 ? h('p', { class: 'muted', id: 'chain-none' }, t.wouldExecute ? 'None: no active trigger listens to the events this action raises.' : 'None: the action would not run.')
          : h('ul', { class: 'tree', id: 'dry-chain' }, t.chainedTriggers.map((c) => h('li', {},
            h('span', { class: 'node' }, `depth ${c.depth}`, h('a', { href: `#/builder/${c.triggerId}` }, `${c.triggerName} (#${c.triggerId})`), `on ${c.eventType}`, `→ ${c.actionType}`, `priority ${c.priority}`)))));
    }

    // --- save / delete ---
    saveButton.addEventListener('click', async () => {
      const r = id === null ? await api('POST', 'triggers', definition()) : await api('PUT', `triggers/${id}`, definition());
      if (r.status === 422) { showErrors(r.data.errors); toast(`Not saved: ${r.data.errors.length} problem(s).`, true); return; }
      if (!r.ok) { toast('Not saved: ' + ((r.data && (r.data.detail || r.data.error)) || r.status), true); return; }
      toast(`Saved trigger #${r.data.id} (version ${r.data.version}).`);
      if (id === null) location.hash = `#/builder/${r.data.id}`; else route();
    });
    if (deleteButton) {
      deleteButton.addEventListener('click', async () => {
        if (!window.confirm('Delete this trigger? (It can be restored from its history.)')) return;
        const r = await api('DELETE', `triggers/${id}`);
        if (!r.ok) { toast('Not deleted: ' + ((r.data && (r.data.detail || r.data.error)) || r.status), true); return; }
        toast('Deleted.');
        location.hash = '#/triggers';
      });
    }

    eventSelect.addEventListener('change', () => {
      b.eventName = eventSelect.value;
      previousLabel.hidden = !state.eventsByName.get(b.eventName).supportsPreviousValues;
      if (previousLabel.hidden) previous.value = '';
      renderTree(null);
      changed(true);
    });
    actionSelect.addEventListener('change', () => { b.config = {}; renderConfig(); changed(false); });
    for (const input of [name, description, priority, sourceType, targetType]) input.addEventListener('input', () => changed(false));
    active.addEventListener('change', () => changed(false));

    put(main, 
      h('h2', {}, id === null ? 'New trigger' : `Trigger #${id}: ${loaded.name}`, readOnly ? h('span', { class: 'badge readonly' }, ' read-only') : null),
      h('ul', { class: 'errors', id: 'general-errors-holder' }, generalErrors),
      h('div', { class: 'grid' },
        h('div', {},
          h('section', { class: 'card', 'aria-labelledby': 'sec-basics' },
            h('h3', { id: 'sec-basics' }, 'Trigger'),
            h('div', { class: 'form-row' },
              h('label', { class: 'grow' }, 'Name *', name),
              h('label', { class: 'grow' }, 'Description', description)),
            h('div', { class: 'form-row' },
              h('label', {}, 'Event', eventSelect),
              h('label', {}, 'Priority (higher runs first)', priority),
              h('label', {}, 'Only task type', sourceType),
              h('label', {}, 'Target task type', targetType),
              h('label', { class: 'switch' }, active, 'Active'))),
          h('section', { class: 'card', 'aria-labelledby': 'sec-condition' },
            h('h3', { id: 'sec-condition' }, 'Condition'),
            tree, words),
          h('section', { class: 'card', 'aria-labelledby': 'sec-action' },
            h('h3', { id: 'sec-action' }, 'Action'),
            h('div', { class: 'form-row' }, h('label', {}, 'Action', actionSelect)), actionHelp, configForm),
          h('div', { class: 'toolbar' }, saveButton, deleteButton, id !== null ? h('a', { href: '#/runs', onclick: () => { runsState.triggerId = String(id); runsState.offset = 0; } }, 'Runs of this trigger') : null)),
        h('div', {},
          h('section', { class: 'card', 'aria-labelledby': 'sec-json' },
            h('h3', { id: 'sec-json' }, 'Condition JSON (edit either side)'), jsonBox, jsonError),
          h('section', { class: 'card', 'aria-labelledby': 'sec-dry' },
            h('h3', { id: 'sec-dry' }, 'Dry run'),
            h('p', { class: 'muted' }, 'Nothing is executed or logged. The sample is prefilled from the event\u2019s fields and the condition\u2019s values.'),
            h('label', {}, 'Event data', testData),
            previousLabel,
            h('div', { class: 'form-row' }, h('label', {}, 'Task id', testTask), h('label', {}, 'Task type id', testType),
              h('button', { type: 'button', id: 'reset-sample', onclick: () => { sampleEdited = false; testData.value = sample(); } }, 'Refill sample'),
              h('button', { type: 'button', id: 'dry-run', class: 'primary', onclick: dryRun }, 'Dry run')),
            result))));
    renderConfig();
    renderTree(null);
    changed(true);
  }

  // ---------- Runs ----------
  const runsState = { triggerId: '', taskId: '', outcome: '', from: '', to: '', offset: 0, limit: 50 };

  function runsTable(items, id) {
    return h('table', { id },
      h('thead', {}, h('tr', {}, ['When', 'Trigger', 'Task', 'Outcome', 'Duration', 'Depth', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.length === 0 ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No runs.')) : items.map((r) => {
        const open = () => { if (r.correlationId) location.hash = `#/runs/${r.correlationId}`; };
        return h('tr', { class: 'clickable', tabindex: 0, dataset: { id: r.id }, onclick: open, onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } } },
          h('td', {}, fmtTime(r.executedAt)),
          h('td', {}, `${r.triggerName || 'trigger'} (#${r.triggerId})`),
          h('td', {}, r.taskId ?? '—'),
          h('td', { class: 'outcome-' + r.outcome }, r.outcome),
          h('td', {}, r.durationMs != null ? `${r.durationMs.toFixed(1)} ms` : '—'),
          h('td', {}, r.depth),
          h('td', {}, r.errorMessage || ''));
      })));
  }

  async function runsView() {
    const main = document.getElementById('main');
    const failures = await getOrFail('runs/failures?limit=10');
    const holder = h('div');
    const load = async () => {
      const from = runsState.from ? new Date(runsState.from).toISOString() : '';
      const to = runsState.to ? new Date(runsState.to).toISOString() : '';
      const page = await getOrFail('runs' + query({ ...runsState, from, to }));
      put(holder, runsTable(page.items, 'runs-table'), pager(page, (offset) => { runsState.offset = offset; load(); }));
    };
    const field = (key, props) => h('input', { ...props, value: runsState[key], onchange: (e) => { runsState[key] = e.target.value; runsState.offset = 0; load(); } });
    put(main, 
      h('h2', {}, 'Runs'),
      h('section', { class: 'card', 'aria-labelledby': 'sec-failures' },
        h('h3', { id: 'sec-failures' }, 'Recent failures first'),
        failures.items.length ? runsTable(failures.items, 'failures-table') : h('p', { class: 'muted' }, 'No failed or suppressed runs.')),
      h('h3', {}, 'Execution history'),
      h('div', { class: 'toolbar' },
        h('label', {}, 'Trigger id', field('triggerId', { id: 'runs-trigger', type: 'number', min: 1 })),
        h('label', {}, 'Task id', field('taskId', { id: 'runs-task', type: 'number' })),
        h('label', {}, 'Outcome', h('select', { id: 'runs-outcome', onchange: (e) => { runsState.outcome = e.target.value; runsState.offset = 0; load(); } },
          option('', 'any'), ['Executed', 'Failed', 'SuppressedLoop'].map((o) => option(o, o, runsState.outcome === o)))),
        h('label', {}, 'From', field('from', { id: 'runs-from', type: 'datetime-local' })),
        h('label', {}, 'To', field('to', { id: 'runs-to', type: 'datetime-local' })),
        h('button', { type: 'button', id: 'runs-clear', onclick: () => { Object.assign(runsState, { triggerId: '', taskId: '', outcome: '', from: '', to: '', offset: 0 }); runsView(); } }, 'Clear filters')),
      holder);
    await load();
  }

  async function chainView(correlationId) {
    const main = document.getElementById('main');
    const chain = await getOrFail('chains/' + correlationId);
    // Each run hangs under the run of the trigger whose action raised its event (causedByTriggerId, one level up); a run
    // whose parent is not logged (or a row written before the link existed) is a root.
    const children = new Map(chain.runs.map((r) => [r, []]));
    const roots = [];
    for (const r of chain.runs) {
      const parents = r.causedByTriggerId == null ? [] : chain.runs.filter((p) => p.triggerId === r.causedByTriggerId && p.depth === r.depth - 1);
      const parent = parents.find((p) => p.outcome === 'Executed') || parents[0];
      if (parent) children.get(parent).push(r); else roots.push(r);
    }
    const failedFirst = (a, b) => Number(a.success) - Number(b.success) || (a.outcome === 'Failed' ? -1 : 0) - (b.outcome === 'Failed' ? -1 : 0);
    const node = (r) => h('li', { class: 'run-node', dataset: { outcome: r.outcome, depth: r.depth, triggerId: r.triggerId } },
      h('span', { class: 'node' + (r.outcome === 'Failed' ? ' failed' : '') },
        h('strong', {}, `${r.triggerName || 'trigger'} (#${r.triggerId})`),
        h('span', { class: 'outcome-' + r.outcome }, r.outcome),
        h('span', {}, r.durationMs != null ? `${r.durationMs.toFixed(1)} ms` : ''),
        h('span', { class: 'muted' }, `task ${r.taskId ?? '—'} · ${fmtTime(r.executedAt)}${r.jobId ? ` · job ${r.jobId} attempt ${r.attempt}` : ''}`),
        r.errorMessage ? h('span', { class: 'fail' }, r.errorMessage) : null),
      h('details', {}, h('summary', {}, 'data'), h('pre', {}, 'input ' + JSON.stringify(r.inputData, null, 2)), h('pre', {}, 'result ' + JSON.stringify(r.resultData, null, 2))),
      level(children.get(r)));
    function level(runs) {
      return runs.length ? h('ul', { class: 'tree' }, runs.slice().sort(failedFirst).map(node)) : null;
    }
    const failed = chain.runs.filter((r) => r.outcome === 'Failed').length;
    put(main, 
      h('h2', {}, 'Run chain'),
      h('p', {}, 'Correlation id ', h('code', { id: 'correlation' }, correlationId), ` · ${chain.total} run(s)`, failed ? h('span', { class: 'fail' }, ` · ${failed} failed`) : null,
        ' · ', h('a', { href: '#/runs' }, 'back to runs')),
      h('div', { id: 'chain-tree' }, chain.runs.length ? level(roots) : h('p', { class: 'muted' }, 'No logged runs in this chain.')),
      chain.jobs.length ? [h('h3', {}, 'Jobs of this chain'), jobsTable(chain.jobs, () => chainView(correlationId))] : null);
  }

  // ---------- Queue ----------
  const queueState = { state: 'all', offset: 0, limit: 50 };

  function jobsTable(items, reload) {
    return h('table', { id: 'jobs-table' },
      h('thead', {}, h('tr', {}, ['Job', 'Trigger', 'Event', 'Task', 'State', 'Attempt', 'Due', 'Updated', 'Last error', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.length === 0 ? h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No jobs.')) : items.map((j) => h('tr', { dataset: { id: j.id } },
        h('td', {}, `#${j.id}`), h('td', {}, `${j.triggerName || 'trigger'} (#${j.triggerId})`), h('td', {}, j.eventType), h('td', {}, j.taskId),
        h('td', { class: 'state' }, j.state), h('td', {}, `${j.attempt}/${j.maxAttempts}`), h('td', {}, fmtTime(j.dueAt)), h('td', {}, fmtTime(j.updatedAt)),
        h('td', { class: 'fail' }, j.lastError || ''),
        h('td', {},
          canEdit() && j.canRetry ? h('button', { type: 'button', class: 'retry', onclick: async () => { const r = await api('POST', `jobs/${j.id}/retry`); toast(r.ok ? `Job #${j.id} is pending again.` : 'Retry refused: ' + ((r.data && (r.data.detail || r.data.error)) || r.status), !r.ok); reload(); } }, 'Retry') : null,
          canEdit() && j.canDiscard ? h('button', { type: 'button', class: 'discard danger', onclick: async () => { const r = await api('POST', `jobs/${j.id}/discard`); toast(r.ok ? `Job #${j.id} discarded.` : 'Discard refused: ' + ((r.data && (r.data.detail || r.data.error)) || r.status), !r.ok); reload(); } }, 'Discard') : null,
          h('a', { href: `#/runs/${j.correlationId}` }, 'chain'))))));
  }

  async function queueView() {
    const main = document.getElementById('main');
    const counts = h('p', { class: 'counts', id: 'queue-counts' });
    const holder = h('div');
    const load = async () => {
      const [c, page] = await Promise.all([getOrFail('jobs/counts'), getOrFail('jobs' + query(queueState))]);
      put(counts, 
        h('span', {}, `pending ${c.pending}`), h('span', {}, `retrying ${c.retrying}`), h('span', {}, `running ${c.running}`), h('span', { class: c.dead ? 'fail' : '' }, `dead-lettered ${c.dead}`));
      put(holder, jobsTable(page.items, load), pager(page, (offset) => { queueState.offset = offset; load(); }));
    };
    put(main, 
      h('h2', {}, 'Queue'), counts,
      h('div', { class: 'toolbar' }, h('label', {}, 'State', h('select', { id: 'queue-state', onchange: (e) => { queueState.state = e.target.value; queueState.offset = 0; load(); } },
        ['all', 'pending', 'retrying', 'running', 'dead', 'succeeded', 'skipped', 'discarded'].map((s) => option(s, s === 'dead' ? 'dead-lettered' : s, s === queueState.state))))),
      holder);
    await load();
  }

  // ---------- start ----------
  async function start() {
    const r = await fetch('api/meta', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!r.ok) { put(document.getElementById('main'), h('p', { class: 'fail' }, `The dashboard API answered ${r.status}.`)); return; }
    state.meta = await r.json();
    state.meta.events.forEach((e) => state.eventsByName.set(e.name, e));
    const order = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$contains', '$startsWith', '$endsWith', '$exists', '$changed'];
    const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
    state.operators = state.meta.operators.slice().sort((a, b) => rank(a.name) - rank(b.name));
    state.meta.actions.forEach((a) => state.actionsByType.set(a.actionType, a));
    const mode = document.getElementById('mode');
    mode.textContent = state.meta.canEdit ? 'can edit' : 'read-only';
    if (!state.meta.canEdit) { mode.classList.add('readonly'); document.getElementById('nav-builder').hidden = true; }
    document.getElementById('user').textContent = state.meta.user || '';
    if (state.meta.appUrl) { const link = document.getElementById('app-link'); link.href = state.meta.appUrl; link.hidden = false; }
    window.addEventListener('hashchange', route);
    await route();
  }

  start();
})();
