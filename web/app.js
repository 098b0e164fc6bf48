/*
 * app.js - the regulators' dashboard (两责监管看板).
 *
 * One page; the view is in location.hash (#/today/CODE, #/business/ID, ...).
 * Everything shown comes from the public API under /api/v1 with the token the
 * user typed, kept in sessionStorage only.  Every value from the API is
 * inserted with textContent (el() below), never as HTML.  A panel whose route
 * is missing or whose service is down says so ("暂无数据/服务不可用") and the
 * rest of the page still works.
 */
'use strict';

const TOKEN_KEY = 'lz.token';
const KINDS = { daily: '日管控', weekly: '周排查', monthly: '月调度' };
const LEVELS = { city: '市', district: '区县', township: '乡镇/街道', community: '社区/村', province: '省' };
const CADRE_LEVELS = { city: '市级', county: '县级', township: '乡镇级', village: '村级' };
const TYPES = { production: '食品生产', sales: '食品销售', catering: '餐饮服务', canteen: '单位食堂', small_workshop: '小作坊/小餐饮/摊贩' };
const STATUS = { on_time: '按时', late: '迟报', missing: '未报', pending: '未到期', open: '未整改', fixed: '已整改', active: '在营', suspended: '停业', closed: '注销' };
const STATS = ['required', 'submitted', 'on_time', 'late', 'missing', 'problems'];
const STAT_NAMES = { required: '应报', submitted: '已报', on_time: '按时', late: '迟报', missing: '未报', problems: '问题' };

const S = { token: null, role: null, home: null, regionNames: new Map(), charts: [] };

/* ---------- DOM, always by textContent ---------- */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (sel) => document.querySelector(sel);
const num = (v) => (v === undefined || v === null ? '—' : String(v));
const pct = (v) => (typeof v === 'number' ? (v * 100).toFixed(1) + '%' : '—');
const name = (code) => S.regionNames.get(code) || code;

function stateBox(text, err) {
  return el('div', { class: err ? 'state err' : 'state', 'data-state': err ? 'error' : 'empty', text });
}

/* ---------- time in Asia/Shanghai (+08:00, no DST) ---------- */

function cnDate(ms) { return new Date((ms === undefined ? Date.now() : ms) + 8 * 3600e3); }
function ymd(d) { return d.toISOString().slice(0, 10); }
function addDays(day, n) { return ymd(new Date(Date.parse(day + 'T00:00:00Z') + n * 864e5)); }
function isoWeek(day) {
  const t = new Date(Date.parse(day + 'T00:00:00Z'));
  const wd = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - wd);
  const y = t.getUTCFullYear();
  const w = Math.ceil(((t - Date.UTC(y, 0, 1)) / 864e5 + 1) / 7);
  return y + '-W' + String(w).padStart(2, '0');
}
function month(day) { return day.slice(0, 7); }
function quarter(day) { return day.slice(0, 4) + '-Q' + (Math.floor((+day.slice(5, 7) - 1) / 3) + 1); }
function today() { return ymd(cnDate()); }
function ageText(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return '—';
  const h = Math.max(0, Math.floor((Date.now() - t) / 3600e3));
  return h >= 24 ? Math.floor(h / 24) + ' 天 ' + (h % 24) + ' 小时' : h + ' 小时';
}
function timeText(iso) { return iso ? String(iso).replace('T', ' ').replace(/:\d\d(\.\d+)?\+08:00$/, '') : '—'; }

/* ---------- API ---------- */

/* api(path, query) -> {ok, status, data, kind}; kind: 'ok', 'absent' (route or service missing),
   'hidden' (404: outside the jurisdiction or no such row), 'denied' (403), 'auth' (401), 'bad' */
async function api(path, query) {
  let url = '/api/v1' + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  let r;
  try {
    r = await fetch(url, { headers: { Authorization: 'Bearer ' + S.token, Accept: 'application/json' } });
  } catch (e) {
    return { ok: false, status: 0, data: null, kind: 'absent', message: '网络错误' };
  }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  const err = data && data.error ? data.error : {};
  let kind = 'bad';
  if (r.ok) kind = 'ok';
  else if (r.status === 401) kind = 'auth';
  else if (r.status === 403) kind = 'denied';
  else if (r.status === 503 || r.status === 502 || r.status === 405 || r.status === 500) kind = 'absent';
  else if (r.status === 404) kind = (err.message === 'no such route' || err.message === 'no such service') ? 'absent' : 'hidden';
  if (kind === 'auth' && S.token) signOut('令牌已失效，请重新登录');
  return { ok: r.ok, status: r.status, data, kind, message: err.message || '' };
}

/* the state box for a failed answer */
function failBox(r, what) {
  if (r.kind === 'absent') return stateBox((what || '') + '暂无数据/服务不可用', true);
  if (r.kind === 'hidden') return stateBox('不在您的辖区内或不存在（404）', true);
  if (r.kind === 'denied') return stateBox('您的角色无权查看（403）', true);
  return stateBox('请求失败（' + r.status + '）' + (r.message ? '：' + r.message : ''), true);
}

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let i = 0;
  const run = async () => { while (i < items.length) { const k = i++; out[k] = await fn(items[k], k); } };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
  return out;
}

async function regionNames(codes) {
  const need = codes.filter((c) => c && !S.regionNames.has(c));
  await pool(need, 6, async (c) => {
    const r = await api('/regions/' + encodeURIComponent(c));
    if (r.ok && r.data) S.regionNames.set(c, r.data.name || c);
  });
}

/* ---------- small builders ---------- */

function card(title, ...kids) { return el('section', { class: 'card' }, el('h2', { text: title }), ...kids); }
function kpi(label, value, key, cls) {
  return el('div', { class: 'kpi' + (cls ? ' ' + cls : ''), 'data-k': key }, el('div', { class: 'l', text: label }), el('div', { class: 'v', text: value }));
}
function table(cols, rows, opts) {
  const head = el('tr', {}, cols.map((c) => el('th', { class: c.n ? 'n' : '', text: c.t })));
  const body = rows.map((r) => el('tr', { class: r._cls || '', 'data-row': r._key }, cols.map((c) => {
    const v = c.f ? c.f(r) : r[c.k];
    return el('td', { class: c.n ? 'n' : '', 'data-k': c.k }, v instanceof Node ? v : num(v));
  })));
  return el('div', { class: 'scroll' }, el('table', { id: opts && opts.id }, el('thead', {}, head), el('tbody', {}, body)));
}
function bizLink(id, label) { return el('a', { href: '#/business/' + id, text: label || ('企业 #' + id) }); }
function regionLink(view, code) { return el('a', { href: '#/' + view + '/' + code, text: name(code) }); }

/* a generic table for list answers whose exact columns may grow */
const COLS = [
  ['rank', '名次'], ['business_id', '企业'], ['cadre_id', '干部'], ['region', '地区'], ['name', '名称'],
  ['score', '得分'], ['grade', '等级'], ['reason', '原因'], ['reasons', '原因'], ['amount', '奖励金额'],
  ['ledger_on_time_rate', '台账按时率'], ['visit_completion', '督导完成率'], ['quarter', '季度'], ['status', '状态'],
  ['stratum', '抽取层'], ['outcome', '检查结果'], ['findings', '问题数'], ['inspected_at', '检查时间'],
];
function autoTable(items, id) {
  if (!items || !items.length) return stateBox('暂无数据');
  const cols = COLS.filter(([k]) => items.some((it) => it[k] !== undefined)).map(([k, t]) => ({
    k, t, n: ['rank', 'score', 'amount', 'ledger_on_time_rate', 'visit_completion'].includes(k),
    f: (r) => {
      const v = r[k];
      if (k === 'business_id' && v !== undefined) return bizLink(v, r.business_name || r.name ? (r.business_name || r.name) : undefined);
      if (k === 'region' && v) return regionLink('today', v);
      if (k === 'ledger_on_time_rate' || k === 'visit_completion') return pct(v);
      if (k === 'inspected_at') return timeText(v);
      if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : x)).join('；');
      if (v && typeof v === 'object') return JSON.stringify(v);
      return v;
    },
  }));
  return table(cols, items, { id });
}

/* ECharts is loaded after the first numbers are on the page (index.html only preloads it) */
let echartsP = null;
function echartsReady() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!echartsP) {
    echartsP = new Promise((resolve) => {
      const s = el('script', { src: 'vendor/echarts.min.js' });
      s.onload = () => resolve(window.echarts || null);
      s.onerror = () => resolve(null);
      document.head.append(s);
    });
  }
  return echartsP;
}

function chart(box, option, onClick) {
  return echartsReady().then((ec) => {
    if (!box.isConnected) return;
    if (!ec) { box.replaceWith(stateBox('图表库未加载（请先运行 make web）', true)); return; }
    const c = ec.init(box, null, { renderer: 'canvas' });
    c.setOption(Object.assign({ animation: false, tooltip: { trigger: 'axis' }, grid: { left: 48, right: 16, top: 36, bottom: 60 } }, option));
    if (onClick) c.on('click', onClick);
    S.charts.push(c);
  });
}

/* ---------- sign-in and identity ---------- */

function signOut(msg) {
  sessionStorage.removeItem(TOKEN_KEY);
  S.token = null; S.role = null; S.home = null;
  show(false);
  $('#signin-msg').textContent = msg || '';
}

function show(signedIn) {
  $('#signin').hidden = signedIn;
  $('#nav').hidden = !signedIn;
  $('#signout').hidden = !signedIn;
  if (!signedIn) { $('#main').replaceChildren(); $('#who').textContent = ''; }
}

/* who is this token: regulator (coverage answers with its region), admin (coverage wants a
   region), or a cadre/business (coverage is refused; their businesses list says what they see) */
async function identify() {
  const r = await api('/coverage');
  if (r.kind === 'auth') return false;
  if (r.ok) { S.role = 'regulator'; S.home = r.data.region; }
  else if (r.status === 400) { S.role = 'admin'; S.home = null; }
  else if (r.kind === 'denied') { S.role = 'other'; S.home = null; }
  else { S.role = 'unknown'; S.home = null; }
  if (S.home) await regionNames([S.home]);
  $('#who').textContent = S.role === 'regulator' ? '监管：' + name(S.home) : S.role === 'admin' ? '管理员' : '企业/干部';
  return true;
}

async function signIn(token) {
  S.token = token;
  const okay = await identify();
  if (!okay) { S.token = null; $('#signin-msg').textContent = '令牌无效或已撤销'; return; }
  sessionStorage.setItem(TOKEN_KEY, token);
  show(true);
  route();
}

/* ---------- routing ---------- */

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, qs] = h.split('?');
  const parts = path.split('/').filter(Boolean);
  return { view: parts[0] || '', arg: parts[1] || '', q: new URLSearchParams(qs || '') };
}

async function route() {
  if (!S.token) return;
  for (const c of S.charts) c.dispose();
  S.charts = [];
  const { view, arg, q } = parseHash();
  const main = $('#main');
  main.replaceChildren(stateBox('加载中…'));
  main.dataset.ready = '0';
  const views = { today: viewToday, overdue: viewOverdue, coverage: viewCoverage, cadres: viewCadres, businesses: viewBusinesses, spot: viewSpot, deliveries: viewDeliveries, business: viewBusiness, mine: viewMine };
  let fn = views[view];
  let a = arg;
  if (!fn) {
    if (S.role === 'other') { location.hash = '#/mine'; return; }
    fn = viewToday;
  }
  if (fn !== viewBusiness && fn !== viewMine) {
    a = /^\d{12}$/.test(arg) ? arg : (S.cur || S.home || '');
    if (!a) { main.replaceChildren(askRegion(view || 'today')); main.dataset.ready = '1'; return; }
    S.cur = a;
  }
  for (const n of document.querySelectorAll('.nav a')) {
    n.classList.toggle('on', n.dataset.view === (views[view] ? view : 'today'));
    n.setAttribute('href', '#/' + n.dataset.view + (S.cur ? '/' + S.cur : ''));
  }
  const token = Symbol('render');
  S.render = token;
  try {
    const nodes = await fn(a, q);
    if (S.render !== token) return;
    main.replaceChildren(...[].concat(nodes));
    for (const p of main.querySelectorAll('[data-draw]')) p._draw && p._draw();
  } catch (e) {
    main.replaceChildren(stateBox('页面出错：' + e.message, true));
  }
  main.dataset.ready = '1';
  if (!main.dataset.readyMs) main.dataset.readyMs = String(Math.round(performance.now()));
}

function askRegion(view) {
  const input = el('input', { placeholder: '12 位地区代码，如 340700000000', inputmode: 'numeric' });
  return card('选择地区', el('p', { text: '管理员令牌没有固定辖区，请输入要查看的地区代码。' }),
    el('form', { class: 'tools', onsubmit: (e) => { e.preventDefault(); location.hash = '#/' + view + '/' + input.value.trim(); } }, input, el('button', { type: 'submit', text: '查看' })));
}

/* breadcrumbs from the token's own region (or the top) down to code */
async function crumbs(view, code) {
  const chain = [];
  let c = code;
  for (let i = 0; i < 6 && c; i++) {
    const r = await api('/regions/' + c);
    if (!r.ok) break;
    S.regionNames.set(c, r.data.name || c);
    chain.unshift(r.data);
    if (c === S.home) break;
    c = r.data.parent_code;
  }
  const box = el('div', { class: 'crumbs', id: 'crumbs' });
  chain.forEach((reg, i) => {
    if (i) box.append(' › ');
    box.append(i === chain.length - 1 ? el('strong', { text: reg.name + '（' + (LEVELS[reg.level] || reg.level || '') + '）' }) : regionLink(view, reg.code));
  });
  return { box, region: chain[chain.length - 1] };
}

/* ---------- 今日台账 ---------- */

async function viewToday(code, q) {
  const day = /^\d{4}-\d\d-\d\d$/.test(q.get('day') || '') ? q.get('day') : today();
  const periods = { daily: day, weekly: isoWeek(day), monthly: month(day) };
  // the statistics are asked at once but drawn when they come: the figures of coverage do not wait
  const statsP = Promise.all(Object.keys(periods).map((k) => api('/stats/ledgers', { region: code, kind: k, period: periods[k] })));
  const [cr, cov] = await Promise.all([crumbs('today', code), api('/coverage', { region: code })]);
  if (cov.kind === 'hidden') return [cr.box, card('今日台账', failBox(cov))];
  const dayInput = el('input', { type: 'date', value: day, max: today(), id: 'day', onchange: (e) => { location.hash = '#/today/' + code + '?day=' + e.target.value; } });
  const out = [cr.box, el('div', { class: 'tools' }, el('label', {}, '日期 ', dayInput))];

  const kindSel = el('select', { id: 'kind' }, Object.entries(KINDS).map(([k, t]) => el('option', { value: k, text: t + '（' + periods[k] + '）' })));
  const statsBox = el('div', { id: 'stats', 'data-ready': '0' }, stateBox('加载中…'));
  let stats = null;

  const drawKind = () => {
    if (!stats) return;
    const k = kindSel.value;
    const s = stats[Object.keys(periods).indexOf(k)];
    if (!s.ok) { statsBox.replaceChildren(failBox(s, '台账统计')); return; }
    const d = s.data;
    const kids = d.children || [];
    const kp = el('div', { class: 'kpis', id: 'today-kpis' },
      STATS.map((f) => kpi(STAT_NAMES[f], num(d[f]), f, f === 'missing' && d[f] > 0 ? 'bad' : f === 'on_time' ? 'good' : '')));
    const bar = el('div', { class: 'chart', id: 'chart-children', 'data-draw': '1' });
    bar._draw = () => chart(bar, {
      title: { text: '各下级地区 ' + KINDS[k] + '（点击下钻）', textStyle: { fontSize: 13 } },
      legend: { top: 0, right: 0, data: ['按时', '迟报', '未报'] },
      xAxis: { type: 'category', data: kids.map((c) => name(c.region)), axisLabel: { rotate: kids.length > 6 ? 40 : 0, interval: 0 } },
      yAxis: { type: 'value' },
      series: ['on_time', 'late', 'missing'].map((f, i) => ({ name: STAT_NAMES[f], type: 'bar', stack: 'a', data: kids.map((c) => c[f] || 0), itemStyle: { color: ['#2e7d32', '#ef8f00', '#c62828'][i] } })),
    }, (p) => { const c = kids[p.dataIndex]; if (c) location.hash = '#/today/' + c.region + '?day=' + day; });
    const rows = kids.map((c) => Object.assign({ _key: c.region }, c));
    rows.push(Object.assign({ _key: 'total', _cls: 'total', total: true }, d));
    const cols = [{ k: 'region', t: '地区', f: (r) => (r.total ? '合计' : regionLink('today', r.region)) }]
      .concat(STATS.map((f) => ({ k: f, t: STAT_NAMES[f], n: true })))
      .concat([{ k: 'rate', t: '按时率', n: true, f: (r) => (r.required ? pct(r.on_time / r.required) : '—') }]);
    statsBox.replaceChildren(kp, kids.length ? bar : stateBox('没有下级地区'), table(cols, rows, { id: 'today-table' }));
    if (kids.length && bar.isConnected) bar._draw();
  };
  kindSel.addEventListener('change', drawKind);

  const trendBox = el('div', { class: 'chart', id: 'chart-trend' });
  const trendCard = card('近 30 天日管控趋势', trendBox);
  const trend = async () => {
    if (!stats[0].ok) { trendBox.replaceWith(failBox(stats[0], '台账统计')); return; }
    const days = Array.from({ length: 30 }, (_, i) => addDays(day, i - 29));
    const res = await pool(days, 6, (d) => api('/stats/ledgers', { region: code, kind: 'daily', period: d }));
    if (!trendBox.isConnected) return;
    chart(trendBox, {
      legend: { top: 0, right: 0 },
      xAxis: { type: 'category', data: days.map((d) => d.slice(5)) },
      yAxis: { type: 'value' },
      series: ['on_time', 'late', 'missing'].map((f, i) => ({ name: STAT_NAMES[f], type: 'line', data: res.map((r) => (r.ok ? r.data[f] || 0 : null)), itemStyle: { color: ['#2e7d32', '#ef8f00', '#c62828'][i] } })),
    });
  };
  statsP.then(async (res) => {
    const children = new Set();
    res.forEach((r) => r.ok && (r.data.children || []).forEach((c) => children.add(c.region)));
    await regionNames([...children]);
    stats = res;
    if (!statsBox.isConnected) return;
    drawKind();
    statsBox.dataset.ready = '1';
    statsBox.dataset.readyMs = String(Math.round(performance.now()));
    trend();
  });

  const covBox = cov.ok
    ? el('div', { class: 'kpis', id: 'today-coverage' }, kpi('在营主体', num(cov.data.businesses), 'businesses'), kpi('已包保', num(cov.data.covered), 'covered'),
      kpi('未包保', num(cov.data.uncovered_count), 'uncovered_count', cov.data.uncovered_count > 0 ? 'bad' : 'good'), kpi('覆盖率', pct(cov.data.rate), 'rate'))
    : failBox(cov, '包保覆盖');
  out.push(el('div', { class: 'grid' }, card('台账（' + name(code) + '）', el('div', { class: 'tools' }, kindSel), statsBox), el('div', {}, card('主体与包保', covBox), trendCard)));
  return out;
}

/* ---------- 逾期任务 ---------- */

const STEP_NAMES = ['', '提醒', '预警', '整改通知', '通报'];
const TASK_KINDS = { ledger_daily: '日管控未报', ledger_weekly: '周排查未报', ledger_monthly: '月调度未报', visit: '督导未完成', unassigned: '未包保', warning: '预警未回复' };
async function viewOverdue(code, q) {
  const kind = q.get('kind') || '';
  const sub = /^\d{12}$/.test(q.get('sub') || '') ? q.get('sub') : code;
  const [cr, tasks, st] = await Promise.all([
    crumbs('overdue', code),
    api('/tasks', { region: sub, status: 'open', kind, limit: 200 }),
    api('/stats/ledgers', { region: code, kind: 'daily', period: today() }),
  ]);
  const kids = st.ok ? (st.data.children || []).map((c) => c.region) : [];
  await regionNames(kids);
  const go = (k, s) => { location.hash = '#/overdue/' + code + '?kind=' + k + '&sub=' + s; };
  const kindSel = el('select', { id: 'f-kind', onchange: (e) => go(e.target.value, sub) }, el('option', { value: '', text: '全部类型' }),
    Object.keys(TASK_KINDS).map((k) => el('option', { value: k, text: TASK_KINDS[k], selected: k === kind })));
  const subSel = el('select', { id: 'f-sub', onchange: (e) => go(kind, e.target.value) }, el('option', { value: code, text: '全部下级地区' }),
    kids.map((c) => el('option', { value: c, text: name(c), selected: c === sub })));
  let body;
  if (!tasks.ok) body = failBox(tasks, '逾期任务');
  else {
    const items = tasks.data.items || [];
    body = [el('p', { text: '未关闭任务 ' + items.length + (tasks.data.next_cursor ? '+（仅显示前 200 条）' : '') + ' 条' }),
      items.length ? table([
        { k: 'id', t: '任务' }, { k: 'business_id', t: '企业', f: (r) => bizLink(r.business_id) },
        { k: 'kind', t: '类型', f: (r) => TASK_KINDS[r.kind] || r.kind }, { k: 'period', t: '期间' },
        { k: 'step', t: '升级步骤', n: true, f: (r) => (r.step !== undefined ? r.step + (STEP_NAMES[r.step] ? ' ' + STEP_NAMES[r.step] : '') : '—') },
        { k: 'opened_at', t: '开启', f: (r) => timeText(r.opened_at) }, { k: 'age', t: '已逾期', f: (r) => ageText(r.opened_at) },
        { k: 'letter_id', t: '文书', f: (r) => (r.letter_id ? el('a', { href: '#/overdue/' + code + '?letter=' + r.letter_id, text: '文书 #' + r.letter_id }) : '—') },
      ], items, { id: 'tasks' }) : stateBox('没有未关闭的逾期任务')];
  }
  const letterInput = el('input', { id: 'letter-id', placeholder: '文书编号', inputmode: 'numeric', value: q.get('letter') || '' });
  const letterBox = el('div', { id: 'letter' });
  const showLetter = async (id) => {
    if (!id) return;
    const r = await api('/letters/' + encodeURIComponent(id));
    if (!r.ok) { letterBox.replaceChildren(failBox(r, '文书')); return; }
    const L = r.data;
    const LN = { number: '文号', title: '标题', kind: '种类', issuer: '发文单位', created_at: '日期', recipient: '收件人', deadline: '期限', task_id: '任务', status: '状态', answered: '是否回复', answered_at: '回复时间' };
    letterBox.replaceChildren(el('dl', { class: 'kv', id: 'letter-fields' }, Object.keys(LN)
      .filter((k) => L[k] !== undefined).flatMap((k) => [el('dt', { text: LN[k] }), el('dd', { 'data-k': k, text: typeof L[k] === 'boolean' ? (L[k] ? '是' : '否') : /_at$|deadline/.test(k) ? timeText(L[k]) : L[k] })])),
    L.body ? el('pre', { text: L.body, style: 'white-space:pre-wrap' }) : null);
  };
  if (q.get('letter')) setTimeout(() => showLetter(q.get('letter')), 0);
  return [cr.box, card('逾期任务', el('div', { class: 'tools' }, kindSel, subSel), body),
    card('文书（提醒书、督办书、约谈函、整改通知书）', el('form', { class: 'tools', onsubmit: (e) => { e.preventDefault(); showLetter(letterInput.value.trim()); } }, letterInput, el('button', { type: 'submit', text: '查看' })), letterBox)];
}

/* ---------- 包保覆盖 ---------- */

async function viewCoverage(code) {
  const [cr, cov] = await Promise.all([crumbs('coverage', code), api('/coverage', { region: code })]);
  if (!cov.ok) return [cr.box, card('包保覆盖（应包尽包）', failBox(cov, '包保覆盖'))];
  const d = cov.data;
  const by = d.by_level || {};
  const lv = ['city', 'county', 'township', 'village'];
  const bar = el('div', { class: 'chart', id: 'chart-levels', 'data-draw': '1' });
  bar._draw = () => chart(bar, {
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: lv.map((l) => CADRE_LEVELS[l]) },
    yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    series: [{ type: 'bar', data: lv.map((l) => (d.businesses ? +(100 * (by[l] || 0) / d.businesses).toFixed(1) : 0)), itemStyle: { color: '#1565c0' }, label: { show: true, position: 'top', formatter: '{c}%' } }],
  });
  const ids = (d.uncovered || []).slice(0, 50);
  const names = await pool(ids, 6, (id) => api('/businesses/' + id));
  const rows = ids.map((id, i) => Object.assign({ id }, names[i].ok ? names[i].data : {}));
  return [cr.box, el('div', { class: 'grid' },
    card('包保覆盖（应包尽包）', el('div', { class: 'kpis', id: 'cov-kpis' }, kpi('在营主体', num(d.businesses), 'businesses'), kpi('已包保', num(d.covered), 'covered'),
      kpi('未包保', num(d.uncovered_count), 'uncovered_count', d.uncovered_count > 0 ? 'bad' : 'good'), kpi('覆盖率', pct(d.rate), 'rate', d.rate === 1 ? 'good' : 'bad')),
    table([{ k: 'level', t: '包保干部层级' }, { k: 'n', t: '覆盖主体数', n: true }, { k: 'r', t: '占比', n: true }],
      lv.map((l) => ({ level: CADRE_LEVELS[l], n: by[l] || 0, r: d.businesses ? pct((by[l] || 0) / d.businesses) : '—' })), { id: 'cov-levels' })),
    card('各层级覆盖率', bar)),
  card('未包保主体' + (d.uncovered_count > ids.length ? '（显示前 ' + ids.length + ' 家，共 ' + d.uncovered_count + ' 家）' : ''),
    ids.length ? table([{ k: 'id', t: '编号', f: (r) => bizLink(r.id, String(r.id)) }, { k: 'name', t: '名称' }, { k: 'type', t: '业态', f: (r) => TYPES[r.type] || r.type }, { k: 'risk_grade', t: '风险等级' }, { k: 'region_code', t: '社区', f: (r) => r.region_code || '—' }], rows, { id: 'uncovered' })
      : stateBox('全部在营主体均已包保'))];
}

/* ---------- 干部评价 ---------- */

async function viewCadres(code, q) {
  const period = q.get('period') || '';
  const [cr, town, dist, notice] = await Promise.all([
    crumbs('cadres', code),
    api('/rankings', { region: code, level: 'township', period }),
    api('/rankings', { region: code, level: 'district', period }),
    api('/lists/notice', { region: code, quarter: quarter(today()) }),
  ]);
  const rank = (r, title, id) => {
    if (!r.ok) return card(title, failBox(r, '排名'));
    const items = r.data.items || [];
    const bar = el('div', { class: 'chart', id: id + '-chart', 'data-draw': '1' });
    bar._draw = () => chart(bar, {
      legend: { top: 0, right: 0 }, xAxis: { type: 'category', data: items.map((i) => i.name || i.region), axisLabel: { rotate: items.length > 6 ? 40 : 0, interval: 0 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: [['ledger_on_time_rate', '台账按时率', '#2e7d32'], ['visit_completion', '督导完成率', '#1565c0']].map(([k, n, c]) => ({ name: n, type: 'bar', data: items.map((i) => (typeof i[k] === 'number' ? +(i[k] * 100).toFixed(1) : 0)), itemStyle: { color: c } })),
    });
    return card(title, items.length ? bar : null, autoTable(items, id));
  };
  const cadreInput = el('input', { id: 'cadre-id', placeholder: '干部编号', inputmode: 'numeric' });
  const cadreBox = el('div', { id: 'cadre-score' });
  const lookup = async (e) => {
    e.preventDefault();
    const id = cadreInput.value.trim();
    if (!id) return;
    const [s, v] = await Promise.all([api('/scores/cadres/' + encodeURIComponent(id), { quarter: quarter(today()) }), api('/cadres/' + encodeURIComponent(id) + '/visits', { limit: 20 })]);
    cadreBox.replaceChildren(
      s.ok ? el('div', {}, el('div', { class: 'kpis' }, kpi('得分', num(s.data.score), 'score'), kpi('区内排名', num(s.data.rank), 'rank')),
        table([{ k: 'name', t: '指标' }, { k: 'value', t: '数值', n: true }, { k: 'weight', t: '权重', n: true }, { k: 'points', t: '得分', n: true }], s.data.components || [])) : failBox(s, '干部评价'),
      el('h3', { text: '近期督导' }),
      v.ok ? ((v.data.items || []).length ? table([{ k: 'visited_at', t: '时间', f: (r) => timeText(r.visited_at) }, { k: 'business_id', t: '企业', f: (r) => bizLink(r.business_id, r.business_name) }, { k: 'mode', t: '方式' }], v.data.items) : stateBox('近 90 天没有督导记录')) : failBox(v, '督导记录'));
  };
  return [cr.box, el('div', { class: 'grid' }, rank(town, '乡镇排名（比学赶超）', 'rank-township'), rank(dist, '区县排名', 'rank-district')),
    card('干部通报名单（' + quarter(today()) + '）', notice.ok ? autoTable(notice.data.items, 'notice-cadres') : failBox(notice, '通报名单')),
    card('干部评价查询', el('form', { class: 'tools', onsubmit: lookup }, cadreInput, el('button', { type: 'submit', text: '查询' })), cadreBox)];
}

/* ---------- 企业评分 ---------- */

async function viewBusinesses(code, q) {
  const qtr = /^\d{4}-Q[1-4]$/.test(q.get('quarter') || '') ? q.get('quarter') : quarter(today());
  const [cr, red, notice, list] = await Promise.all([
    crumbs('businesses', code),
    api('/lists/red', { region: code, quarter: qtr }),
    api('/lists/notice', { region: code, quarter: qtr }),
    api('/businesses', { region: code, q: q.get('q') || '', limit: 50 }),
  ]);
  const search = el('input', { id: 'biz-q', placeholder: '名称或许可证号', value: q.get('q') || '' });
  const qsel = el('input', { id: 'biz-quarter', value: qtr, size: 8 });
  const form = el('form', { class: 'tools', onsubmit: (e) => { e.preventDefault(); location.hash = '#/businesses/' + code + '?quarter=' + encodeURIComponent(qsel.value) + '&q=' + encodeURIComponent(search.value); } },
    '季度 ', qsel, search, el('button', { type: 'submit', text: '查询' }));
  const items = list.ok ? list.data.items || [] : [];
  return [cr.box, form, el('div', { class: 'grid' },
    card('红榜（' + qtr + '）', red.ok ? autoTable(red.data.items, 'red') : failBox(red, '红榜')),
    card('反面通报（' + qtr + '）', notice.ok ? autoTable(notice.data.items, 'notice') : failBox(notice, '通报名单'))),
  card('主体（点击查看评分与台账）', !list.ok ? failBox(list, '主体列表') : items.length ? table([
    { k: 'id', t: '编号', f: (r) => bizLink(r.id, String(r.id)) }, { k: 'name', t: '名称', f: (r) => bizLink(r.id, r.name) },
    { k: 'type', t: '业态', f: (r) => TYPES[r.type] || r.type }, { k: 'risk_grade', t: '风险等级' }, { k: 'status', t: '状态', f: (r) => STATUS[r.status] || r.status },
  ], items, { id: 'biz-list' }) : stateBox('没有符合条件的主体'))];
}

/* ---------- 双随机抽查 ---------- */

async function viewSpot(code, q) {
  const cr = await crumbs('spot', code);
  const qtr = quarter(today());
  const idInput = el('input', { id: 'plan-id', placeholder: '抽查计划编号', inputmode: 'numeric', value: q.get('plan') || '' });
  const box = el('div', { id: 'plan' });
  const listR = await api('/sampling/plans', { region: code, quarter: qtr });
  const listBox = listR.ok && Array.isArray(listR.data.items)
    ? (listR.data.items.length ? table([{ k: 'id', t: '计划', f: (r) => el('a', { href: '#/spot/' + code + '?plan=' + r.id, text: '#' + r.id }) }, { k: 'quarter', t: '季度' }, { k: 'region', t: '地区', f: (r) => name(r.region) }], listR.data.items) : stateBox('本季度尚无抽查计划'))
    : el('p', { text: '输入计划编号查看（本季度 ' + qtr + '）。' });
  const load = async (id) => {
    if (!id) return;
    const [p, v, pub] = await Promise.all([api('/sampling/plans/' + encodeURIComponent(id)), api('/sampling/plans/' + encodeURIComponent(id) + '/verify'), api('/sampling/plans/' + encodeURIComponent(id) + '/public')]);
    if (!p.ok) { box.replaceChildren(failBox(p, '抽查计划')); return; }
    const P = p.data;
    const strata = P.strata || [];
    await regionNames(strata.map((s) => s.region));
    const rows = strata.map((s) => {
      const drawn = s.drawn || [];
      const done = typeof s.inspected === 'number' ? s.inspected : drawn.filter((d) => d.status === 'inspected').length;
      return { region: s.region, size: s.size, drawn: drawn.length, done, progress: drawn.length ? pct(done / drawn.length) : '—' };
    });
    box.replaceChildren(
      el('dl', { class: 'kv' }, el('dt', { text: '季度' }), el('dd', { text: P.quarter || '—' }), el('dt', { text: '随机种子' }), el('dd', { text: P.seed || '—' }),
        el('dt', { text: '算法' }), el('dd', { text: P.algorithm || '—' }), el('dt', { text: '名单哈希' }), el('dd', { text: P.list_hash || '—' }),
        el('dt', { text: '复核' }), el('dd', { id: 'verify', text: v.ok ? (v.data.match ? '一致 ✓' : '不一致 ✗（存储 ' + v.data.stored_hash + '，重算 ' + v.data.recomputed_hash + '）') : '复核服务不可用' })),
      el('h3', { text: '各层抽取进度' }),
      table([{ k: 'region', t: '地区', f: (r) => name(r.region) }, { k: 'size', t: '主体数', n: true }, { k: 'drawn', t: '抽中', n: true }, { k: 'done', t: '已检查', n: true }, { k: 'progress', t: '进度', n: true }], rows, { id: 'strata' }),
      el('h3', { text: '公开结果（一公开）' }),
      pub.ok ? autoTable(Array.isArray(pub.data) ? pub.data : pub.data.items || [], 'public') : failBox(pub, '公开结果'));
  };
  if (q.get('plan')) await load(q.get('plan'));
  return [cr.box, card('双随机抽查（四不两直）', listBox,
    el('form', { class: 'tools', onsubmit: (e) => { e.preventDefault(); location.hash = '#/spot/' + code + '?plan=' + encodeURIComponent(idInput.value.trim()); } }, idInput, el('button', { type: 'submit', text: '查看' })), box)];
}

/* ---------- 消息送达 ---------- */

async function viewDeliveries(code) {
  const [cr, dead, failing] = await Promise.all([crumbs('deliveries', code), api('/notifications', { status: 'dead', limit: 200 }), api('/notifications', { status: 'failed', limit: 200 })]);
  const cols = [{ k: 'id', t: '编号' }, { k: 'channel', t: '渠道' }, { k: 'recipient', t: '接收方' }, { k: 'template', t: '模板' }, { k: 'status', t: '状态' },
    { k: 'attempts', t: '尝试次数', n: true }, { k: 'created_at', t: '创建', f: (r) => timeText(r.created_at) }];
  const part = (r, id, empty) => (r.ok ? ((r.data.items || []).length ? table(cols, r.data.items, { id }) : stateBox(empty)) : failBox(r, '消息送达'));
  return [cr.box, card('投递失败、已转死信（需人工处理）', part(dead, 'dead', '没有死信消息')), card('正在重试的消息', part(failing, 'failing', '没有重试中的消息'))];
}

/* ---------- 我的企业 (cadre / business tokens) ---------- */

async function viewMine() {
  const r = await api('/businesses', { limit: 200 });
  if (!r.ok) return card('我的企业', failBox(r, '主体列表'));
  const items = r.data.items || [];
  if (items.length === 1) { location.hash = '#/business/' + items[0].id; return stateBox('加载中…'); }
  return card('我的企业', items.length ? table([{ k: 'id', t: '编号' }, { k: 'name', t: '名称', f: (x) => bizLink(x.id, x.name) }, { k: 'risk_grade', t: '风险等级' }], items, { id: 'mine' }) : stateBox('暂无数据'));
}

/* ---------- 企业页 ---------- */

async function viewBusiness(id) {
  if (!/^\d+$/.test(id)) return card('企业', stateBox('企业编号无效', true));
  const day = today();
  const from = addDays(day, -29);
  const [b, daily, weekly, monthly, probs, notes, score] = await Promise.all([
    api('/businesses/' + id),
    api('/businesses/' + id + '/records', { kind: 'daily', from, to: day }),
    api('/businesses/' + id + '/records', { kind: 'weekly', from: isoWeek(addDays(day, -7 * 7)), to: isoWeek(day) }),
    api('/businesses/' + id + '/records', { kind: 'monthly', from: month(addDays(day, -150)), to: month(day) }),
    api('/businesses/' + id + '/problems', { status: 'open' }),
    api('/notifications', { business_id: id, limit: 50 }),
    api('/scores/businesses/' + id, { quarter: quarter(day) }),
  ]);
  if (!b.ok) return card('企业 #' + id, failBox(b, '主体'));
  const B = b.data;
  const cr = await crumbs('today', B.region_code);
  const info = el('dl', { class: 'kv', id: 'biz-info' },
    [['名称', B.name], ['许可证号', B.license_no], ['统一社会信用代码', B.credit_code], ['业态', TYPES[B.type] || B.type], ['风险等级', B.risk_grade], ['规模', B.scale], ['状态', STATUS[B.status] || B.status],
      ['地址', B.address], ['主要负责人', B.head_name], ['食品安全员', B.officer_name], ['食品安全总监', B.director_missing ? '应配未配' : B.director_name || '—'], ['食责险', B.insured ? '已投保 ' + (B.insurance_to ? '至 ' + B.insurance_to : '') : '未投保']]
      .flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v === undefined || v === null || v === '' ? '—' : v })]));
  const cadres = (B.cadres || []).length ? table([{ k: 'name', t: '包保干部' }, { k: 'level', t: '层级', f: (r) => CADRE_LEVELS[r.level] || r.level }, { k: 'title', t: '职务' }], B.cadres, { id: 'biz-cadres' }) : stateBox('没有包保干部', true);

  const calendar = (r, periods, kind) => {
    if (!r.ok) return failBox(r, '台账');
    const by = new Map((r.data.items || []).map((x) => [x.period, x.status]));
    return el('div', { class: 'cal', id: 'cal-' + kind }, periods.map((p) => {
      const st = by.get(p) || (p >= (kind === 'daily' ? day : kind === 'weekly' ? isoWeek(day) : month(day)) ? 'pending' : 'missing');
      return el('div', { class: 'day ' + st, 'data-period': p, 'data-status': st, title: p + ' ' + STATUS[st] }, el('div', { text: kind === 'daily' ? p.slice(5) : p }), el('div', { text: STATUS[st] }));
    }));
  };
  const days = Array.from({ length: 30 }, (_, i) => addDays(day, i - 29));
  const weeks = [...new Set(Array.from({ length: 8 }, (_, i) => isoWeek(addDays(day, -7 * (7 - i)))))];
  const months = [...new Set(Array.from({ length: 6 }, (_, i) => month(addDays(day.slice(0, 8) + '15', -30 * (5 - i)))))];
  const legend = el('div', { class: 'legend' }, [['on_time', '#2e7d32'], ['late', '#ef8f00'], ['missing', '#c62828'], ['pending', '#9aa5b1']].map(([k, c]) => el('span', {}, el('i', { style: 'background:' + c }), STATUS[k])));
  const S2 = score.ok ? score.data : null;
  return [cr.box, el('h2', { id: 'biz-name', text: B.name || '企业 #' + id }), el('div', { class: 'grid' },
    card('基本信息', info, el('h3', { text: '包保干部' }), cadres),
    card('合规评分（' + quarter(day) + '）', S2 ? el('div', {}, el('div', { class: 'kpis' }, kpi('得分', num(S2.score), 'score'), kpi('等级', num(S2.grade), 'grade')),
      el('h3', { text: '评分依据' }), table([{ k: 'name', t: '指标' }, { k: 'value', t: '数值', n: true }, { k: 'weight', t: '权重', n: true }, { k: 'points', t: '得分', n: true }], S2.components || [], { id: 'score-components' }))
      : score.kind === 'hidden' ? stateBox('本季度暂无评分') : failBox(score, '评分'))),
  card('台账日历', legend, el('h3', { text: '日管控（近 30 天）' }), calendar(daily, days, 'daily'), el('h3', { text: '周排查' }), calendar(weekly, weeks, 'weekly'), el('h3', { text: '月调度' }), calendar(monthly, months, 'monthly')),
  el('div', { class: 'grid' },
    card('未整改问题', !probs.ok ? failBox(probs, '问题') : (probs.data.items || []).length ? table([{ k: 'id', t: '编号' }, { k: 'source', t: '来源', f: (r) => ({ ledger: '台账', visit: '督导', inspection: '抽查' }[r.source] || r.source) }, { k: 'item', t: '检查项' }, { k: 'description', t: '问题' }, { k: 'opened_at', t: '发现', f: (r) => timeText(r.opened_at) }], probs.data.items, { id: 'problems' }) : stateBox('没有未整改问题')),
    card('预警与通知', !notes.ok ? failBox(notes, '预警与通知') : (notes.data.items || []).length ? table([{ k: 'template', t: '内容' }, { k: 'channel', t: '渠道' }, { k: 'status', t: '状态' }, { k: 'created_at', t: '时间', f: (r) => timeText(r.created_at) }, { k: 'delivered_at', t: '送达', f: (r) => timeText(r.delivered_at) }], notes.data.items, { id: 'notifications' }) : stateBox('暂无数据')))];
}

/* ---------- start ---------- */

document.addEventListener('DOMContentLoaded', () => {
  $('#signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('#token').value.trim()); $('#token').value = ''; });
  $('#signout').addEventListener('click', () => signOut(''));
  $('#goto').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#goto-code').value.trim();
    if (/^\d{12}$/.test(v)) location.hash = '#/' + (parseHash().view === 'business' ? 'today' : parseHash().view || 'today') + '/' + v;
    else if (/^\d+$/.test(v)) location.hash = '#/business/' + v;
  });
  window.addEventListener('hashchange', route);
  let resize;
  window.addEventListener('resize', () => { clearTimeout(resize); resize = setTimeout(() => S.charts.forEach((c) => c.resize()), 150); });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else show(false);
});
