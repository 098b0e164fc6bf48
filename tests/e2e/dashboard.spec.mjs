// dashboard.spec.mjs - the dashboard end to end in Debian's headless Chromium (playwright-core).
//
// Run by tests/integration/it_dashboard.sh, which starts the stack, seeds the demo city and
// passes: LZ_API (gateway base URL), LZ_TOK_DISTRICT, LZ_TOK_TOWN (regulator tokens),
// LZ_DISTRICT, LZ_TOWN, LZ_OTHER_TOWN (region codes), LZ_OTHER_BIZ (a business outside
// LZ_TOWN), LZ_OUT (folder for screenshots), LZ_CHROMIUM (the browser).
// Prints one line per check: "RESULT ok <desc>" or "RESULT not_ok <desc> | <why>";
// the shell turns them into TAP.  Exit 0 unless the browser could not run at all.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';

// playwright-core is web/'s dev dependency (web/package.json)
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const E = process.env;
const API = E.LZ_API;
const OUT = E.LZ_OUT;
const results = [];
const ok = (desc) => console.log('RESULT ok ' + desc);
const bad = (desc, why) => console.log('RESULT not_ok ' + desc + ' | ' + String(why).replace(/\s+/g, ' ').slice(0, 400));
async function check(desc, fn) {
  try {
    const r = await fn();
    if (r === false) bad(desc, 'check returned false');
    else ok(desc);
  } catch (e) {
    bad(desc, e && e.message ? e.message : e);
  }
}
function eq(a, b, what) {
  if (String(a) !== String(b)) throw new Error(`${what}: page shows '${a}', API says '${b}'`);
}

async function get(path, token) {
  const r = await fetch(API + '/api/v1' + path, { headers: { Authorization: 'Bearer ' + token } });
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  return { status: r.status, body, absent: r.status === 404 && body && body.error && body.error.message === 'no such route' };
}

function todayCN() { return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); }
const pct = (v) => (typeof v === 'number' ? (v * 100).toFixed(1) + '%' : '—');

const profile = mkdtempSync(join(tmpdir(), 'lz-chromium-'));
// a fresh profile folder (--user-data-dir, which playwright sets from its first argument)
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: E.LZ_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    locale: 'zh-CN',
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
} catch (e) {
  console.log('LAUNCH_FAILED ' + String(e.message || e).split('\n')[0]);
  rmSync(profile, { recursive: true, force: true });
  process.exit(3);
}

const pageErrors = [];
async function newPage(viewport) {
  const page = await ctx.newPage(); // a tab of its own: its own sessionStorage
  if (viewport) await page.setViewportSize(viewport);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}
async function ready(page) {
  await page.waitForFunction(() => document.querySelector('#main') && document.querySelector('#main').dataset.ready === '1', null, { timeout: 15000 });
}
async function go(page, hash) {
  await page.evaluate((h) => { document.querySelector('#main').dataset.ready = '0'; location.hash = h; }, hash);
  await ready(page);
  await statsReady(page);
}
// the today view draws its ledger statistics when they come, after the rest
async function statsReady(page) {
  if (await page.locator('#stats').count()) await page.waitForSelector('#stats[data-ready="1"]', { timeout: 15000 });
}
async function signIn(page, token) {
  await page.goto(API + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])', { timeout: 10000 });
  await ready(page);
  await statsReady(page);
}
const kpiText = (page, box, key) => page.textContent(`${box} [data-k="${key}"] .v`);

const D = E.LZ_DISTRICT, T = E.LZ_TOWN, OT = E.LZ_OTHER_TOWN;
const tokD = E.LZ_TOK_DISTRICT, tokT = E.LZ_TOK_TOWN;
const day = todayCN();

const page = await newPage();

// --- sign in as the district regulator ---
await check('the page loads and asks for a token', async () => {
  await page.goto(API + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#signin:not([hidden])', { timeout: 10000 });
});
await check('a bad token is refused on the page', async () => {
  await page.fill('#token', 'lz_not_a_real_token');
  await page.click('#signin button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#signin-msg').textContent.includes('无效'), null, { timeout: 5000 });
  if (await page.evaluate(() => sessionStorage.getItem('lz.token'))) throw new Error('a refused token was kept');
});
let loadMs = 0;
await check('a district regulator signs in; the token sits in sessionStorage only', async () => {
  const t0 = Date.now();
  await signIn(page, tokD);
  loadMs = Date.now() - t0;
  const who = await page.textContent('#who');
  if (!who.includes('铜官区')) throw new Error('who shows ' + who);
  const st = await page.evaluate(() => [sessionStorage.getItem('lz.token'), localStorage.length, document.cookie]);
  if (st[0] !== tokD || st[1] !== 0 || st[2] !== '') throw new Error('storage: ' + JSON.stringify([!!st[0], st[1], st[2]]));
});
console.log('# typing the token to the district view ready: ' + loadMs + ' ms (browser automation included)');
let readyMs = -1;
const busy = loadavg()[0] > cpus().length;
await check('a reload keeps the session; the district view is ready in under a second' +
  (busy ? ` # SKIP timing only: the machine is busy (load ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs)` : ''), async () => {
  await page.reload({ waitUntil: 'domcontentloaded' });
  await ready(page);
  readyMs = +(await page.getAttribute('#main', 'data-ready-ms'));
  await statsReady(page);
  console.log('# page load to the district numbers on screen: ' + readyMs + ' ms; ledger statistics drawn at ' + (await page.getAttribute('#stats', 'data-ready-ms')) + ' ms');
  if (!(readyMs > 0 && (busy || readyMs < 1000))) throw new Error(readyMs + ' ms');
});

// --- today: the district's totals equal the API ---
const stD = await get(`/stats/ledgers?region=${D}&kind=daily&period=${day}`, tokD);
const statsLive = stD.status === 200;
console.log('# /api/v1/stats/ledgers ' + (statsLive ? 'exists: the ledger totals are compared' : `answers ${stD.status}: coverage numbers compared instead`));
if (statsLive) {
  await check('today: the district daily totals equal /api/v1/stats/ledgers', async () => {
    for (const f of ['required', 'submitted', 'on_time', 'late', 'missing', 'problems']) eq(await kpiText(page, '#today-kpis', f), stD.body[f], f);
    const total = '#today-table tr[data-row="total"]';
    for (const f of ['required', 'on_time', 'late', 'missing']) eq(await page.textContent(`${total} [data-k="${f}"]`), stD.body[f], 'total row ' + f);
  });
  await check('today: one table row per child region, each equal to the API', async () => {
    const kids = stD.body.children || [];
    const n = await page.locator('#today-table tbody tr').count();
    eq(n, kids.length + 1, 'rows');
    for (const c of kids) for (const f of ['required', 'on_time', 'late', 'missing']) eq(await page.textContent(`#today-table tr[data-row="${c.region}"] [data-k="${f}"]`), c[f], c.region + ' ' + f);
  });
  await check('today: the bar chart per child region and the 30-day trend are drawn', async () => {
    await page.waitForSelector('#chart-children canvas', { timeout: 10000 });
    await page.waitForSelector('#chart-trend canvas', { timeout: 15000 });
  });
  for (const kind of ['weekly', 'monthly']) {
    await check(`today: the ${kind} totals equal the API`, async () => {
      const period = kind === 'monthly' ? day.slice(0, 7) : await page.evaluate(() => document.querySelector('#kind option[value="weekly"]').textContent.match(/\d{4}-W\d\d/)[0]);
      const s = await get(`/stats/ledgers?region=${D}&kind=${kind}&period=${period}`, tokD);
      await page.selectOption('#kind', kind);
      for (const f of ['required', 'on_time', 'late', 'missing']) eq(await kpiText(page, '#today-kpis', f), s.body[f], f);
      await page.selectOption('#kind', 'daily');
    });
  }
} else {
  await check('today: without ledger statistics the panel says so and the page still works', async () => {
    const t = await page.textContent('#stats');
    if (!t.includes('暂无数据/服务不可用')) throw new Error('stats panel shows: ' + t);
  });
  // until the scheduler's route is live: the drawing code with a stand-in answer of API.md's
  // shape, given to this tab only (page.route), so a real answer later has been drawn before
  await check('today (stand-in stats answer in the browser only): figures, table rows, bars and trend drawn; names escaped', async () => {
    const kids = [E.LZ_TOWN, E.LZ_OTHER_TOWN];
    const fake = (region, i) => ({ region, required: 100 + i, submitted: 90 + i, on_time: 80 + i, late: 10, missing: 10, problems: i });
    await page.route('**/api/v1/stats/ledgers?**', (r) => r.fulfill({ status: 200, contentType: 'application/json',
      body: JSON.stringify(Object.assign(fake(new URL(r.request().url()).searchParams.get('region'), 5), { children: kids.map((c, i) => fake(c, i)) })) }));
    // a region name with markup in it must come out as text, never as HTML
    const evil = '<img src=x onerror="window.__lzXss=1">天井湖';
    await page.route('**/api/v1/regions/' + E.LZ_OTHER_TOWN, (r) => r.fulfill({ status: 200, contentType: 'application/json',
      body: JSON.stringify({ code: E.LZ_OTHER_TOWN, name: evil, level: 'township', parent_code: D }) }));
    await go(page, '#/today/' + D + '?day=' + day);
    eq(await page.textContent(`#today-table tr[data-row="${E.LZ_OTHER_TOWN}"] [data-k="region"]`), evil, 'escaped region name');
    if (await page.evaluate(() => window.__lzXss || document.querySelectorAll('#main img').length)) throw new Error('markup from the API ran');
    await page.unroute('**/api/v1/regions/' + E.LZ_OTHER_TOWN);
    eq(await kpiText(page, '#today-kpis', 'required'), 105, 'required');
    eq(await page.locator('#today-table tbody tr').count(), 3, 'rows');
    eq(await page.textContent(`#today-table tr[data-row="${E.LZ_TOWN}"] [data-k="on_time"]`), 80, 'child on_time');
    await page.waitForSelector('#chart-children canvas', { timeout: 10000 });
    await page.waitForSelector('#chart-trend canvas', { timeout: 15000 });
    await page.screenshot({ path: join(OUT, 'dashboard-standin-stats.png'), fullPage: true });
    await page.unroute('**/api/v1/stats/ledgers?**');
    await go(page, '#/today/' + D);
  });
}
const covD = await get(`/coverage?region=${D}`, tokD);
await check('today: the district coverage numbers equal /api/v1/coverage', async () => {
  eq(await kpiText(page, '#today-coverage', 'businesses'), covD.body.businesses, 'businesses');
  eq(await kpiText(page, '#today-coverage', 'covered'), covD.body.covered, 'covered');
  eq(await kpiText(page, '#today-coverage', 'uncovered_count'), covD.body.uncovered_count, 'uncovered');
  eq(await kpiText(page, '#today-coverage', 'rate'), pct(covD.body.rate), 'rate');
});
await check('a screenshot of the main view is written', async () => {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'dashboard-district.png'), fullPage: true });
});

// --- drill into a township ---
await check('drill down: the township view opens from the district', async () => {
  if (statsLive && (await page.locator(`#today-table tr[data-row="${T}"] a`).count())) {
    await page.evaluate(() => { document.querySelector('#main').dataset.ready = '0'; });
    await page.click(`#today-table tr[data-row="${T}"] a`);
  } else {
    await page.evaluate(() => { document.querySelector('#main').dataset.ready = '0'; });
    await page.fill('#goto-code', T);
    await page.click('#goto button');
  }
  await ready(page);
  await statsReady(page);
  if (!page.url().includes('#/today/' + T)) throw new Error('url ' + page.url());
  const crumbs = await page.textContent('#crumbs');
  if (!crumbs.includes('铜官区') || !crumbs.includes(E.LZ_TOWN_NAME)) throw new Error('crumbs: ' + crumbs);
  const covT = await get(`/coverage?region=${T}`, tokD);
  eq(await kpiText(page, '#today-coverage', 'businesses'), covT.body.businesses, 'township businesses');
  if (statsLive) {
    const s = await get(`/stats/ledgers?region=${T}&kind=daily&period=${day}`, tokD);
    eq(await kpiText(page, '#today-kpis', 'required'), s.body.required, 'township required');
  }
});
await check('the breadcrumb leads back up to the district', async () => {
  await page.evaluate(() => { document.querySelector('#main').dataset.ready = '0'; });
  await page.click(`#crumbs a[href="#/today/${D}"]`);
  await ready(page);
  await statsReady(page);
  return page.url().includes('#/today/' + D);
});

// --- coverage ---
await check('coverage: rate, by cadre level and the uncovered list equal /api/v1/coverage', async () => {
  await go(page, '#/coverage/' + D);
  eq(await kpiText(page, '#cov-kpis', 'businesses'), covD.body.businesses, 'businesses');
  eq(await kpiText(page, '#cov-kpis', 'covered'), covD.body.covered, 'covered');
  eq(await kpiText(page, '#cov-kpis', 'rate'), pct(covD.body.rate), 'rate');
  const lv = ['city', 'county', 'township', 'village'];
  for (let i = 0; i < lv.length; i++) eq(await page.textContent(`#cov-levels tbody tr:nth-child(${i + 1}) [data-k="n"]`), covD.body.by_level[lv[i]] || 0, lv[i]);
  const shown = await page.locator('#uncovered tbody tr').count();
  eq(shown, Math.min(50, (covD.body.uncovered || []).length), 'uncovered rows');
  await page.waitForSelector('#chart-levels canvas');
});

// --- the other views: each loads, shows data or says the service is not there ---
const views = [
  ['overdue', '/tasks?region=' + D + '&status=open', '#tasks'],
  ['cadres', '/rankings?region=' + D + '&level=township', '#rank-township'],
  ['businesses', '/businesses?region=' + D + '&limit=50', '#biz-list'],
  ['spot', null, null],
  ['deliveries', '/notifications?status=dead', '#dead'],
];
const live = {};
for (const [v, path, sel] of views) {
  await check(`view ${v}: loads and shows the API's answer or a clear unavailable state`, async () => {
    await go(page, `#/${v}/${D}`);
    const txt = await page.textContent('#main');
    if (txt.includes('页面出错')) throw new Error(txt.slice(0, 200));
    if (!path) return;
    const r = await get(path, tokD);
    live[v] = r.status === 200;
    if (r.status === 200) {
      const items = r.body.items || [];
      const n = items.length ? await page.locator(`${sel} tbody tr`).count() : 0;
      if (v === 'overdue') eq(n, Math.min(items.length, 200), 'task rows');
      else if (v !== 'cadres') eq(n, items.length, v + ' rows');
      else if (items.length) eq(n, items.length, 'ranking rows');
    } else if (r.absent || r.status === 503) {
      if (!txt.includes('暂无数据/服务不可用')) throw new Error('no unavailable state: ' + txt.slice(0, 200));
    }
  });
}
console.log('# routes live: stats ' + statsLive + ', ' + Object.entries(live).map(([k, v]) => k + ' ' + v).join(', '));

// --- a business page ---
let bizId = null;
const tasks = await get('/tasks?region=' + T + '&status=open&limit=5', tokD);
if (tasks.status === 200 && (tasks.body.items || []).length) {
  await check("overdue: a task's business link opens the business page", async () => {
    await go(page, '#/overdue/' + T);
    bizId = tasks.body.items[0].business_id;
    await page.evaluate(() => { document.querySelector('#main').dataset.ready = '0'; });
    await page.click(`#tasks tbody tr:first-child a[href="#/business/${bizId}"]`);
    await ready(page);
  });
} else {
  await check('businesses: a business link opens the business page', async () => {
    await go(page, '#/businesses/' + T);
    const href = await page.getAttribute('#biz-list tbody tr:first-child [data-k="name"] a', 'href');
    bizId = href.split('/').pop();
    await page.evaluate(() => { document.querySelector('#main').dataset.ready = '0'; });
    await page.click('#biz-list tbody tr:first-child [data-k="name"] a');
    await ready(page);
  });
}
await check('business page: name, cadres, open problems and ledger calendar equal the API', async () => {
  if (!page.url().includes('#/business/' + bizId)) throw new Error('url ' + page.url());
  const b = await get('/businesses/' + bizId, tokD);
  eq(await page.textContent('#biz-name'), b.body.name, 'name');
  eq(await page.locator('#biz-cadres tbody tr').count(), (b.body.cadres || []).length, 'cadres');
  const p = await get('/businesses/' + bizId + '/problems?status=open', tokD);
  eq(await page.locator('#problems tbody tr').count(), (p.body.items || []).length, 'open problems');
  eq(await page.locator('#cal-daily .day').count(), 30, 'calendar days');
  const from = new Date(Date.parse(day + 'T00:00:00Z') - 29 * 864e5).toISOString().slice(0, 10);
  const rec = await get(`/businesses/${bizId}/records?kind=daily&from=${from}&to=${day}`, tokD);
  for (const r of rec.body.items || []) eq(await page.getAttribute(`#cal-daily [data-period="${r.period}"]`, 'data-status'), r.status, 'day ' + r.period);
  const sc = await get('/scores/businesses/' + bizId, tokD);
  if (sc.status === 200) eq(await kpiText(page, '.kpis', 'score'), sc.body.score, 'score');
  await page.screenshot({ path: join(OUT, 'dashboard-business.png'), fullPage: true });
});

// --- a township regulator stays in its township ---
const tpage = await newPage();
await check('a township regulator signs in to its own township', async () => {
  await signIn(tpage, tokT);
  const who = await tpage.textContent('#who');
  if (!who.includes(E.LZ_TOWN_NAME)) throw new Error('who shows ' + who);
  if (!tpage.url().includes('#/today/' + T) && (await tpage.textContent('#crumbs')).indexOf(E.LZ_TOWN_NAME) < 0) throw new Error('not on its township');
});
await check("a township token cannot see another township: the API answers 404 and the page says so", async () => {
  const r = await get('/coverage?region=' + OT, tokT);
  eq(r.status, 404, 'API status');
  await go(tpage, '#/today/' + OT);
  const t = await tpage.textContent('#main');
  if (!t.includes('不在您的辖区内')) throw new Error('page shows: ' + t.slice(0, 200));
  if (await tpage.locator('#today-coverage').count()) throw new Error('numbers of another township are on the page');
});
await check("a township token cannot open another township's business: API 404, the page says so", async () => {
  const r = await get('/businesses/' + E.LZ_OTHER_BIZ, tokT);
  eq(r.status, 404, 'API status');
  await go(tpage, '#/business/' + E.LZ_OTHER_BIZ);
  const t = await tpage.textContent('#main');
  if (!t.includes('不在您的辖区内')) throw new Error('page shows: ' + t.slice(0, 200));
});
await check('signing out forgets the token', async () => {
  await tpage.click('#signout');
  const t = await tpage.evaluate(() => sessionStorage.getItem('lz.token'));
  if (t) throw new Error('token still kept');
  await tpage.waitForSelector('#signin:not([hidden])');
});

// --- a phone screen ---
const phone = await newPage({ width: 390, height: 844 });
await check('on a phone screen the view fits the width (no sideways scrolling of the page)', async () => {
  await signIn(phone, tokD);
  const [sw, w] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  await phone.screenshot({ path: join(OUT, 'dashboard-phone.png'), fullPage: true });
  if (sw > w + 1) throw new Error(`page is ${sw}px wide on a ${w}px screen`);
});

await check('no script error on any page', async () => {
  if (pageErrors.length) throw new Error(pageErrors.slice(0, 3).join(' / '));
});

await ctx.close();
rmSync(profile, { recursive: true, force: true });
