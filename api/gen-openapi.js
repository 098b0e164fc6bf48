#!/usr/bin/env node
// gen-openapi.js - writes api/openapi.json (OpenAPI 3.0.3) from the route list below and the
// message definitions in proto/*.proto.
//
// The route list is kept by hand (method, path, roles, summary, request/reply message); the
// schemas are derived from the .proto files: every message a route names, and every message
// those name, becomes a component with the proto field names and types (int64 -> integer
// int64, bool -> boolean, repeated -> array, message -> $ref), the field's trailing comment
// as its description.  tests/unit/test_gateway_openapi.c checks the output against the
// gateway's real route table and the compiled message descriptors.
//
// Usage (from anywhere): node api/gen-openapi.js          writes api/openapi.json
//                        node api/gen-openapi.js --check  exits 1 if api/openapi.json is stale
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'api', 'openapi.json');

// ---- proto parsing -------------------------------------------------------------------------

// Returns {messages: {Name: {name, file, description, fields: [...]}}, enums: {Name: [values]}}.
function parseProtos(dir) {
    const messages = {};
    const enums = {};
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort()) {
        const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
        let pending = []; // comment lines just above a declaration
        let cur = null; // message being read
        let curEnum = null;
        let lastField = null; // for continuation comments
        let lastCol = -1;
        for (const raw of lines) {
            const line = raw.replace(/\s+$/, '');
            const t = line.trim();
            if (cur || curEnum) {
                if (t === '}') {
                    if (cur) messages[cur.name] = cur;
                    cur = curEnum = null;
                    lastField = null;
                    pending = [];
                    continue;
                }
                if (curEnum) {
                    const m = /^(\w+)\s*=\s*\d+;/.exec(t);
                    if (m) enums[curEnum].push(m[1]);
                    continue;
                }
                const m = /^(optional|required|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;\s*(?:\/\/\s?(.*))?$/.exec(t);
                if (m) {
                    lastField = {
                        label: m[1],
                        type: m[2].replace(/^lz\./, ''),
                        name: m[3],
                        number: Number(m[4]),
                        comment: (m[5] || '').trim(),
                    };
                    lastCol = m[5] !== undefined ? line.indexOf('//') : -1;
                    cur.fields.push(lastField);
                    continue;
                }
                if (t.startsWith('//') && lastField && lastCol >= 0 && line.indexOf('//') === lastCol) {
                    lastField.comment += ' ' + t.replace(/^\/\/\s?/, '').trim();
                    continue;
                }
                lastField = null;
                continue;
            }
            if (t.startsWith('//')) {
                pending.push(t.replace(/^\/\/\s?/, ''));
                continue;
            }
            let m = /^message\s+(\w+)\s*\{\s*(\}|(?:\/\/\s?(.*))?)$/.exec(t);
            if (m) {
                const trailing = m[3] ? [m[3].trim()] : [];
                cur = {name: m[1], file, description: pending.concat(trailing).join(' ').trim(), fields: []};
                if (m[2] === '}') {
                    messages[cur.name] = cur;
                    cur = null;
                }
                pending = [];
                continue;
            }
            m = /^enum\s+(\w+)\s*\{/.exec(t);
            if (m) {
                curEnum = m[1];
                enums[curEnum] = [];
                pending = [];
                continue;
            }
            if (t === '') pending = [];
        }
    }
    return {messages, enums};
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint32', 'fixed32', 'uint64', 'fixed64']);

// Returns the JSON schema of one value of proto type t (not repeated).
function scalarSchema(t, protos, used) {
    if (t === 'string') return {type: 'string'};
    if (t === 'bool') return {type: 'boolean'};
    if (INT32.has(t)) return {type: 'integer', format: 'int32'};
    if (INT64.has(t)) return {type: 'integer', format: 'int64'};
    if (t === 'double') return {type: 'number', format: 'double'};
    if (t === 'float') return {type: 'number', format: 'float'};
    if (t === 'bytes') return {type: 'string', format: 'byte'};
    if (protos.enums[t]) return {type: 'string', enum: protos.enums[t]};
    if (protos.messages[t]) {
        used.add(t);
        return {$ref: '#/components/schemas/' + t};
    }
    throw new Error('unknown proto type ' + t);
}

function fieldSchema(f, protos, used) {
    let s = scalarSchema(f.type, protos, used);
    if (f.label === 'repeated') s = {type: 'array', items: s};
    if (f.name === 'next_cursor') s = Object.assign({}, s, {nullable: true});
    if (f.comment) {
        if (s.$ref) s = {allOf: [s], description: f.comment};
        else s = Object.assign({}, s, {description: f.comment});
    }
    return s;
}

// The component schema of message name (fields in proto order).
function messageSchema(name, protos, used) {
    const m = protos.messages[name];
    if (!m) throw new Error('no message ' + name);
    const s = {type: 'object'};
    if (m.description) s.description = m.description;
    s.properties = {};
    for (const f of m.fields) s.properties[f.name] = fieldSchema(f, protos, used);
    s.additionalProperties = false;
    s['x-proto'] = 'lz.' + name;
    return s;
}

// ---- the routes ----------------------------------------------------------------------------

const ALL = ['admin', 'regulator', 'cadre', 'inspector', 'business'];
const ARCB = ['admin', 'regulator', 'cadre', 'business'];
const AR = ['admin', 'regulator'];

const IMPORT_CSV = {
    regions: 'code,name,level,parent_code; level ∈ city, district, township, community',
    businesses:
        'license_no,credit_code,name,type,risk_grade,region_code,address,head_name,head_phone,officer_name,officer_phone',
    cadres: 'phone,name,level,region_code,title; level ∈ county, township, village',
    assignments: 'cadre_phone,license_no; the cadre\'s region must contain the business',
    inspectors: 'phone,name,region_code,badge_no (law-enforcement inspectors of a district)',
};

// kind: rpc (request/reply messages), local (hand-described).  ignore: request fields the
// route takes but does not document (meaningless there).  errors: statuses beyond the
// defaults (see errorsFor).  status: the success status.
const ROUTES = [
    // operations
    {m: 'GET', p: '/healthz', roles: [], tag: 'operations', id: 'healthz', kind: 'local',
     summary: 'Health: broker, PostgreSQL and Redis reachable',
     description: '200 when the gateway reaches the broker, PostgreSQL and Redis; 503 naming each one down.',
     status: 200, reply: {$ref: '#/components/schemas/Health'}, errors: [503], errorSchema503: 'Health'},
    {m: 'GET', p: '/metrics', roles: [], tag: 'operations', id: 'metrics', kind: 'local',
     summary: 'Prometheus metrics (text format)',
     description: 'lz_http_requests_total{route,method,status} and lz_http_request_duration_seconds{route,method}.',
     status: 200, text: 'text/plain; version=0.0.4; charset=utf-8', errors: []},
    {m: 'GET', p: '/api/v1/ping/{service}', roles: ['admin'], tag: 'operations', id: 'ping', kind: 'rpc',
     summary: 'Ping a service\'s worker through the broker', req: 'Empty', rep: 'PingReply',
     pathTypes: {service: {type: 'string', pattern: '^[a-z][a-z0-9_]{0,31}$'}},
     description: 'Any service name; 404 for a name that is not a-z0-9_, 503 when no worker answers.'},

    // tokens
    {m: 'POST', p: '/api/v1/tokens', roles: ['admin'], tag: 'tokens', id: 'token_create', kind: 'local',
     summary: 'Create an API token (shown once)',
     description: 'The same request_id again answers 201 with the same id and "token": null: only the token\'s SHA-256 is stored. A regulator needs region, a business/cadre/inspector token its id.',
     status: 201, body: {$ref: '#/components/schemas/TokenCreateRequest'},
     reply: {$ref: '#/components/schemas/TokenCreated'}, errors: [409]},
    {m: 'DELETE', p: '/api/v1/tokens/{id}', roles: ['admin'], tag: 'tokens', id: 'token_revoke', kind: 'local',
     summary: 'Revoke a token',
     description: 'request_id in the body {"request_id"} or the query string. An unknown or already revoked id: 404.',
     status: 200, pathTypes: {id: {type: 'integer', format: 'int64', minimum: 1}},
     query: {request_id: {schema: {$ref: '#/components/schemas/RequestId'}, description: 'when the DELETE has no body'}},
     body: {$ref: '#/components/schemas/RequestIdOnly'}, bodyOptional: true,
     reply: {$ref: '#/components/schemas/TokenRevoked'}, errors: [404, 409]},

    // ledgers (intake)
    {m: 'POST', p: '/api/v1/records', roles: ['admin', 'regulator', 'business'], tag: 'ledgers', id: 'intake_submit_record',
     summary: 'Submit a ledger record (三本账: 日管控、周排查、月调度)', req: 'SubmitRecordRequest', rep: 'SubmitRecordReply', status: 201,
     description: 'kind daily, weekly or monthly; period of that kind, not in the future, inside the back-fill window; items answer every required checklist item, failed ones with a note. 409: a record for the same business, kind and period under another request_id.',
     errors: [404, 409]},
    {m: 'POST', p: '/api/v1/problems/{id}/fix', roles: ['admin', 'regulator', 'business'], tag: 'ledgers', id: 'intake_fix_problem',
     summary: 'Mark a problem fixed (整改完成)', req: 'FixProblemRequest', rep: 'Problem', status: 200, errors: [404, 409]},
    {m: 'GET', p: '/api/v1/businesses/{business_id}/problems', roles: ARCB, tag: 'ledgers', id: 'intake_list_problems',
     summary: 'A business\'s problems (open, fixed)', req: 'ListProblemsRequest', rep: 'ProblemList', errors: [404]},
    {m: 'GET', p: '/api/v1/businesses/{business_id}/records', roles: ARCB, tag: 'ledgers', id: 'intake_list_records',
     summary: 'A business\'s ledger records', req: 'ListRecordsRequest', rep: 'RecordList', errors: [404],
     description: 'A weekly record also carries the problems opened in its ISO week.'},
    {m: 'GET', p: '/api/v1/checklists/{type}', roles: ALL, tag: 'ledgers', id: 'intake_get_checklist',
     summary: 'The current checklist of a business type and kind', req: 'GetChecklistRequest', rep: 'Checklist', errors: [404],
     description: 'With business_id (daily), that business\'s open problems too.'},
    {m: 'POST', p: '/api/v1/checklists/{type}', roles: AR, tag: 'ledgers', id: 'intake_publish_checklist',
     summary: 'Publish a new checklist version', req: 'PublishChecklistRequest', rep: 'Checklist', status: 201,
     description: 'Version = latest + 1; item codes ^[A-Z][0-9A-Z]{1,7}$, each once; required defaults to true.', errors: [409]},
    {m: 'POST', p: '/api/v1/businesses/{business_id}/rest_days', roles: ['admin', 'regulator', 'business'], tag: 'ledgers',
     id: 'intake_add_rest_days', summary: 'Declare rest days (no daily ledger owed)', req: 'RestDaysRequest', rep: 'RestDays',
     status: 201, ignore: ['from'], errors: [404, 409, 422],
     description: 'Today or later (Asia/Shanghai), at most 62 per request and 366 days ahead; a day before today or too far ahead: 422.'},
    {m: 'GET', p: '/api/v1/businesses/{business_id}/rest_days', roles: ['admin', 'regulator', 'business'], tag: 'ledgers',
     id: 'intake_list_rest_days', summary: 'A business\'s declared rest days', req: 'RestDaysRequest', rep: 'RestDays',
     ignore: ['days'], errors: [404], description: 'From `from` (YYYY-MM-DD, default today) on.'},

    // registry (intake)
    {m: 'GET', p: '/api/v1/regions/{code}', roles: ALL, tag: 'registry', id: 'intake_get_region',
     summary: 'A region by its 12-digit code', req: 'GetRegionRequest', rep: 'Region', errors: [404]},
    {m: 'GET', p: '/api/v1/businesses/{id}', roles: ARCB, tag: 'registry', id: 'intake_get_business',
     summary: 'A business, with its current cadres (包保干部)', req: 'GetBusinessRequest', rep: 'Business', errors: [404],
     description: '404 outside the caller\'s scope (regulator: region; cadre: current assignment; business: itself).'},
    {m: 'GET', p: '/api/v1/businesses', roles: ARCB, tag: 'registry', id: 'intake_list_businesses',
     summary: 'List businesses (region means that region and everything under it)', req: 'ListBusinessesRequest',
     rep: 'BusinessList', errors: [404]},
    {m: 'GET', p: '/api/v1/coverage', roles: AR, tag: 'registry', id: 'intake_coverage',
     summary: 'Coverage (应包尽包): businesses with a current cadre, and the uncovered ones', req: 'CoverageRequest',
     rep: 'Coverage', errors: [404]},
    ...['regions', 'businesses', 'cadres', 'assignments', 'inspectors'].map((k) => ({
        m: 'POST', p: '/api/v1/import/' + k, roles: AR, tag: 'registry', id: 'intake_import_' + k, kind: 'rpc', csv: true,
        summary: 'Import ' + k + ' (text/csv)', req: 'ImportRequest', rep: 'ImportReply', status: 200,
        csvColumns: IMPORT_CSV[k], errors: [409, 413, 422],
        description: 'CSV (UTF-8, header row, RFC 4180): ' + IMPORT_CSV[k] + '. A file with any bad row is refused whole: 422 invalid_rows (at most 100 rows listed). Importing the same file twice changes nothing the second time. Bodies over the broker\'s frame limit: 413 (use the CLI).',
    })),

    // visits (intake)
    {m: 'POST', p: '/api/v1/visits', roles: ['admin', 'cadre'], tag: 'visits', id: 'intake_record_visit',
     summary: 'Record a cadre\'s visit (督导) to an assigned business', req: 'RecordVisitRequest', rep: 'RecordVisitReply',
     status: 201, errors: [404, 409],
     description: '404: the business is not assigned to the cadre; 403: another cadre_id; 400 mode: a risk-D business needs an on-site visit.'},
    {m: 'GET', p: '/api/v1/cadres/{id}/visits', roles: ['admin', 'regulator', 'cadre'], tag: 'visits', id: 'intake_list_cadre_visits',
     summary: 'A cadre\'s visits', req: 'ListCadreVisitsRequest', rep: 'VisitList', errors: [404]},

    // scheduler
    {m: 'POST', p: '/api/v1/admin/sweep', roles: ['admin'], tag: 'tasks', id: 'scheduler_sweep',
     summary: 'Run every deadline and escalation step due by as_of', req: 'SweepRequest', rep: 'SweepReply', status: 200,
     description: 'Running it twice for the same as_of does nothing more.', errors: [409]},
    {m: 'GET', p: '/api/v1/tasks', roles: ARCB, tag: 'tasks', id: 'scheduler_list_tasks',
     summary: 'Overdue and escalation tasks', req: 'ListTasksRequest', rep: 'TaskList', errors: [404]},
    {m: 'GET', p: '/api/v1/stats/ledgers', roles: AR, tag: 'tasks', id: 'scheduler_ledger_stats',
     summary: 'Ledger statistics of a region and its children (required, submitted, on time, late, missing)',
     req: 'LedgerStatsRequest', rep: 'LedgerStats', errors: [404]},
    {m: 'GET', p: '/api/v1/ladders/{name}', roles: AR, tag: 'tasks', id: 'scheduler_get_ladder',
     summary: 'An escalation ladder', req: 'GetLadderRequest', rep: 'Ladder', errors: [404]},
    {m: 'PUT', p: '/api/v1/ladders/{name}', roles: AR, tag: 'tasks', id: 'scheduler_put_ladder',
     summary: 'Replace an escalation ladder\'s steps', req: 'Ladder', rep: 'Ladder', status: 200,
     ignore: ['updated_at', 'updated_by'], errors: [404, 409]},
    {m: 'GET', p: '/api/v1/letters', roles: ARCB, tag: 'tasks', id: 'scheduler_list_letters',
     summary: 'Letters about tasks in the caller\'s jurisdiction (region = the task\'s region), without bodies',
     req: 'ListLettersRequest', rep: 'LetterList', errors: [404]},
    {m: 'GET', p: '/api/v1/letters/{id}', roles: ARCB, tag: 'tasks', id: 'scheduler_get_letter', kind: 'rpc',
     summary: 'A letter (提醒书, 督办书, 约谈函, 整改通知书): JSON, or a printable page with ?format=html',
     req: 'GetLetterRequest', rep: 'Letter', alt: 'text/html; charset=utf-8', errors: [404],
     formatEnum: ['json', 'html']},

    // notifier
    {m: 'POST', p: '/api/v1/warnings', roles: AR, tag: 'notifications', id: 'notifier_issue_warning',
     summary: 'Warn a business (an SMS to its head)', req: 'IssueWarningRequest', rep: 'IssueWarningReply', status: 201,
     description: '404 outside the region; 400 rectify_by not in the future.', errors: [404, 409]},
    {m: 'POST', p: '/api/v1/warnings/{id}/reply', roles: ['admin', 'business'], tag: 'notifications', id: 'notifier_reply_warning',
     summary: 'A business answers a warning with its rectification', req: 'ReplyWarningRequest', rep: 'ReplyWarningReply',
     status: 200, errors: [404, 409], description: '409: answered already.'},
    {m: 'GET', p: '/api/v1/notifications', roles: ARCB, tag: 'notifications', id: 'notifier_list_notifications',
     summary: 'Notifications and their delivery', req: 'ListNotificationsRequest', rep: 'NotificationList', errors: [404]},
    {m: 'GET', p: '/api/v1/templates/{name}', roles: AR, tag: 'notifications', id: 'notifier_get_template',
     summary: 'A message template', req: 'TemplateRequest', rep: 'Template', ignore: ['title', 'body'], errors: [404]},
    {m: 'PUT', p: '/api/v1/templates/{name}', roles: ['admin'], tag: 'notifications', id: 'notifier_put_template',
     summary: 'Replace a message template\'s title and body', req: 'TemplateRequest', rep: 'Template', status: 200,
     errors: [404, 409]},
    {m: 'POST', p: '/api/v1/callbacks/sms', roles: [], tag: 'notifications', id: 'notifier_sms_receipt', kind: 'rpc', csv: true,
     summary: 'SMS delivery receipts from the provider (public; checked by ?secret=)', req: 'SmsReceiptRequest',
     rep: 'SmsReceiptReply', status: 200, rawJson: true, errors: [401, 413],
     description: 'The provider cannot hold a bearer token: ?secret= must equal LZ_SMS_CALLBACK_SECRET (401 otherwise). The raw body (Tencent\'s receipt array) is passed to the notifier as is.'},

    // sampler
    {m: 'POST', p: '/api/v1/sampling/plans', roles: AR, tag: 'sampling', id: 'sampler_create_plan',
     summary: 'Draw a quarter\'s spot-check plan (双随机一公开)', req: 'CreatePlanRequest', rep: 'Plan', status: 201,
     description: 'The answer leaves the drawn list out (strata: []). 409: the region already has a plan that quarter.',
     errors: [404, 409]},
    {m: 'GET', p: '/api/v1/sampling/plans', roles: ['admin', 'regulator', 'inspector'], tag: 'sampling',
     id: 'sampler_list_plans', summary: 'Spot-check plans, by id (without their lists)', req: 'ListPlansRequest',
     rep: 'ListPlansReply', errors: [403, 404],
     description: 'Regulators: plans of their region and below (region= narrows it; outside the jurisdiction 404); inspectors: the plans they are assigned in; business and cadre tokens 403. Paged by cursor.'},
    {m: 'GET', p: '/api/v1/sampling/plans/{plan_id}/businesses/{business_id}/brief', roles: ALL, tag: 'sampling',
     id: 'sampler_inspection_brief', summary: 'What to check at a drawn business: ledgers, problems, cadre visits, the checklist',
     req: 'InspectionBriefRequest', rep: 'InspectionBrief', errors: [404],
     description: 'The plan\'s regulators and the business\'s assigned inspectors; everyone else (business and cadre tokens included) 404. Ledgers are counted over the plan\'s quarter up to now.'},
    {m: 'GET', p: '/api/v1/sampling/plans/{id}', roles: ALL, tag: 'sampling', id: 'sampler_get_plan',
     summary: 'A spot-check plan with its drawn businesses and inspectors', req: 'GetPlanRequest', rep: 'Plan', errors: [404],
     description: 'An inspector sees its own businesses only; business and cadre tokens get 404.'},
    {m: 'GET', p: '/api/v1/sampling/plans/{id}/verify', roles: ALL, tag: 'sampling', id: 'sampler_verify_plan',
     summary: 'Re-run a plan\'s draw from its stored inputs and compare the hashes', req: 'VerifyPlanRequest',
     rep: 'VerifyPlanReply', errors: [404]},
    {m: 'GET', p: '/api/v1/sampling/plans/{id}/public', roles: [], tag: 'sampling', id: 'sampler_public_plan', kind: 'local',
     summary: 'Published spot-check results (公开; no token)', req: null, rep: 'PublicPlan', alt: 'text/csv; charset=utf-8',
     pathTypes: {id: {type: 'integer', format: 'int64', minimum: 1}}, formatEnum: ['json', 'csv'], errors: [401, 404],
     description: 'JSON, or text/csv with ?format=csv or Accept: text/csv. 401 when the sampler refuses anonymous callers (LZ_SAMPLER_PUBLIC_ANONYMOUS=0); a token is passed on when given.'},
    {m: 'GET', p: '/api/v1/sampling/plans/{id}/results', roles: ALL, tag: 'sampling', id: 'sampler_plan_results', kind: 'local',
     summary: 'The published results, for token holders', req: null, rep: 'PublicPlan', alt: 'text/csv; charset=utf-8',
     pathTypes: {id: {type: 'integer', format: 'int64', minimum: 1}}, formatEnum: ['json', 'csv'], errors: [404],
     description: 'As /public; business and cadre tokens get 404.'},
    {m: 'POST', p: '/api/v1/inspections', roles: ALL, tag: 'sampling', id: 'sampler_record_inspection',
     summary: 'Record an inspection of a drawn business (四不两直)', req: 'RecordInspectionRequest',
     rep: 'RecordInspectionReply', status: 201, errors: [404, 409, 422],
     description: 'Assigned inspectors only (403 otherwise); 409: inspected already. answers: the inspection checklist of the business\'s type (every key item answered, a failed item with a note); the outcome is derived from them (a failed key item or LZ_SAMPLER_FAIL_GENERAL failed general items: fail; other failures or findings: pass_with_remarks; else pass) and a given outcome that disagrees is 422, as are bad answers.'},
    {m: 'POST', p: '/api/v1/sampling/conflicts', roles: ['admin', 'regulator', 'inspector'], tag: 'sampling',
     id: 'sampler_declare_conflict', summary: 'Declare an inspector\'s conflict of interest with a business (回避)',
     req: 'DeclareConflictRequest', rep: null, status: 201, errors: [404, 409]},

    // scorer
    {m: 'GET', p: '/api/v1/scores/businesses/{id}', roles: ARCB, tag: 'scores', id: 'scorer_business_score',
     summary: 'A business\'s compliance score and risk grade, with their components', req: 'BusinessScoreRequest',
     rep: 'BusinessScore', errors: [404]},
    {m: 'GET', p: '/api/v1/scores/cadres/{id}', roles: ['admin', 'regulator', 'cadre'], tag: 'scores', id: 'scorer_cadre_score',
     summary: 'A cadre\'s evaluation score and rank in its district', req: 'CadreScoreRequest', rep: 'CadreScore', errors: [404]},
    {m: 'GET', p: '/api/v1/rankings', roles: AR, tag: 'scores', id: 'scorer_rankings',
     summary: 'Township or district rankings (ledger on-time rate, visit completion)', req: 'RankingsRequest', rep: 'Rankings',
     errors: [404]},
    {m: 'POST', p: '/api/v1/admin/rankings', roles: ['admin'], tag: 'scores', id: 'scorer_compute_rankings',
     summary: 'Queue the day\'s and the quarter\'s rankings for computation', req: 'ComputeRankingsRequest',
     rep: 'ComputeRankingsReply', status: 200, errors: [409]},
    {m: 'POST', p: '/api/v1/lists/red/rewards', roles: AR, tag: 'scores', id: 'scorer_record_reward',
     summary: 'Record a reward against a business on a closed red list (红榜)', req: 'RecordRewardRequest',
     rep: 'RecordRewardReply', status: 201, errors: [404, 409],
     description: '409: not on the closed red list, or rewarded already.'},
    {m: 'GET', p: '/api/v1/lists/{kind}', roles: AR, tag: 'scores', id: 'scorer_list', kind: 'rpc',
     summary: 'The red list (红榜) or notice list (通报) of a quarter: JSON, or text/csv', req: 'ListRequest', rep: 'ScoreList',
     alt: 'text/csv; charset=utf-8', formatEnum: ['json', 'csv'], errors: [404],
     pathTypes: {kind: {type: 'string', enum: ['red', 'notice']}},
     description: 'text/csv with ?format=csv or Accept: text/csv. A kind other than red or notice: 404.'},
    {m: 'POST', p: '/api/v1/lists/{kind}/close', roles: AR, tag: 'scores', id: 'scorer_close_list',
     summary: 'Close a quarter\'s red or notice list', req: 'CloseListRequest', rep: 'CloseListReply', status: 201,
     pathTypes: {kind: {type: 'string', enum: ['red', 'notice']}}, errors: [404, 409],
     description: 'The same request_id again answers the same; another request for a closed list: 409.'},
];

// ---- building the document -----------------------------------------------------------------

const ERROR_TEXT = {
    400: 'bad_json, invalid_field or missing_field (field names the member at fault)',
    401: 'unauthorized: missing, unknown or revoked token',
    403: 'forbidden: the token\'s role may not use this route, or the service refuses the caller',
    404: 'not_found (also: outside the caller\'s jurisdiction)',
    409: 'conflict (a request_id used before for another request, or the state forbids it)',
    413: 'too_large: the body is over the limit',
    422: 'invalid_rows / invalid_field',
    503: 'unavailable: the service, PostgreSQL or Redis did not answer',
};

function errorsFor(r) {
    const set = new Set();
    const write = r.m !== 'GET';
    if (r.p !== '/healthz' && r.p !== '/metrics') set.add(400);
    if (r.roles.length) {
        set.add(401);
        set.add(403);
    }
    if (write) set.add(413);
    if (r.kind === 'rpc' || r.p.startsWith('/api/')) set.add(503);
    for (const e of r.errors || []) set.add(e);
    return [...set].sort();
}

function pathParams(p) {
    return [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
}

function build() {
    const protos = parseProtos(path.join(ROOT, 'proto'));
    const used = new Set();
    const paths = {};

    for (const r0 of ROUTES) {
        const r = Object.assign({kind: 'rpc'}, r0);
        const msg = r.req ? protos.messages[r.req] : null;
        if (r.req && !msg) throw new Error(r.p + ': no message ' + r.req);
        const fieldOf = (n) => (msg ? msg.fields.find((f) => f.name === n) : null);
        const pnames = pathParams(r.p);
        const write = r.m !== 'GET';
        const op = {operationId: r.id, summary: r.summary, tags: [r.tag]};
        if (r.description) op.description = r.description;
        if (!r.roles.length) op.security = [];
        op['x-roles'] = r.roles;
        if (r.req) op['x-rpc'] = {
            service: r.id === 'ping' ? '{service}' : r.id.split('_')[0],
            method: r.id === 'ping' ? 'ping' : r.id.replace('_', '.'),
            request: 'lz.' + r.req,
            reply: r.rep ? 'lz.' + r.rep : null,
        };
        if (r.ignore) op['x-ignored-fields'] = r.ignore;

        const params = [];
        for (const n of pnames) {
            const f = fieldOf(n);
            let schema = (r.pathTypes && r.pathTypes[n]) || (f ? scalarSchema(f.type, protos, used) : {type: 'string'});
            const p = {name: n, in: 'path', required: true, schema};
            if (f && f.comment) p.description = f.comment;
            params.push(p);
        }
        const ignore = new Set(r.ignore || []);
        if (msg && !write) {
            for (const f of msg.fields) {
                if (pnames.includes(f.name) || ignore.has(f.name)) continue;
                let schema = fieldSchema(f, protos, used);
                delete schema.description;
                if (f.name === 'format' && r.formatEnum) schema = {type: 'string', enum: r.formatEnum};
                if (f.name === 'limit') schema = Object.assign({}, schema, {minimum: 1, maximum: 1000, default: 100});
                const p = {name: f.name, in: 'query', required: false, schema};
                if (f.label === 'repeated') Object.assign(p, {style: 'form', explode: true});
                if (f.comment) p.description = f.comment;
                params.push(p);
            }
        }
        if (!msg && r.formatEnum)
            params.push({name: 'format', in: 'query', required: false, schema: {type: 'string', enum: r.formatEnum},
                         description: 'csv: the answer is text/csv (so is Accept: text/csv)'});
        if (r.csv) {
            params.push({name: 'request_id', in: 'query', required: true, schema: {$ref: '#/components/schemas/RequestId'},
                         description: r.rawJson ? 'the write\'s idempotency key (the body is passed raw)' : 'the write\'s idempotency key (the body is not JSON)'});
            for (const f of msg.fields) {
                if (f.name === 'csv' || ignore.has(f.name)) continue;
                const p = {name: f.name, in: 'query', required: f.name === 'secret', schema: scalarSchema(f.type, protos, used)};
                if (f.comment) p.description = f.comment;
                params.push(p);
            }
        }
        for (const [n, q] of Object.entries(r.query || {}))
            params.push(Object.assign({name: n, in: 'query', required: false}, q));
        if (params.length) op.parameters = params;

        // request body
        if (r.csv && !r.rawJson) {
            op.requestBody = {required: true, description: 'header row: ' + r.csvColumns,
                              content: {'text/csv': {schema: {type: 'string'}}}};
        } else if (r.csv && r.rawJson) {
            op.requestBody = {required: true, description: 'the provider\'s receipts, passed raw to the notifier (field csv)',
                              content: {'application/json': {schema: {$ref: '#/components/schemas/SmsReceipts'}}}};
        } else if (msg && write) {
            const props = {};
            if (!fieldOf('request_id')) props.request_id = {$ref: '#/components/schemas/RequestId'};
            for (const f of msg.fields) {
                if (pnames.includes(f.name) || ignore.has(f.name)) continue;
                props[f.name] = fieldSchema(f, protos, used);
            }
            const schema = {type: 'object', required: ['request_id'], properties: props, additionalProperties: false};
            op.requestBody = {required: true, content: {'application/json': {schema}}};
        } else if (r.body) {
            op.requestBody = {required: !r.bodyOptional, content: {'application/json': {schema: r.body}}};
        }

        // responses
        const responses = {};
        const status = String(r.status || 200);
        let okSchema = null;
        if (r.rep) {
            const m = protos.messages[r.rep];
            if (!m) throw new Error(r.p + ': no message ' + r.rep);
            used.add(r.rep);
            const ref = {$ref: '#/components/schemas/' + r.rep};
            const always = m.fields.filter((f) => f.label === 'repeated' || f.name === 'next_cursor').map((f) => f.name);
            okSchema = always.length ? {allOf: [ref, {type: 'object', required: always}]} : ref;
        } else if (r.reply) {
            okSchema = r.reply;
        } else if (!r.text) {
            okSchema = {type: 'object', additionalProperties: false, description: 'an empty object'};
        }
        const content = {};
        if (okSchema) content['application/json'] = {schema: okSchema};
        if (r.text) content[r.text] = {schema: {type: 'string'}};
        if (r.alt) content[r.alt] = {schema: {type: 'string'}};
        const okDesc = status === '201' ? 'created' : 'ok';
        responses[status] = {description: okDesc, content};
        for (const e of errorsFor(r)) {
            if (e === 503 && r.errorSchema503) {
                responses['503'] = {description: 'one or more of broker, postgres, redis is down',
                                    content: {'application/json': {schema: {$ref: '#/components/schemas/' + r.errorSchema503}}}};
            } else if (e === 422 && r.csv) {
                responses['422'] = {$ref: '#/components/responses/InvalidRows'};
            } else {
                responses[String(e)] = {$ref: '#/components/responses/E' + e};
            }
        }
        if (r.p.startsWith('/api/')) responses.default = {$ref: '#/components/responses/Internal'};
        op.responses = responses;

        paths[r.p] = paths[r.p] || {};
        if (paths[r.p][r.m.toLowerCase()]) throw new Error('twice: ' + r.m + ' ' + r.p);
        paths[r.p][r.m.toLowerCase()] = op;
    }

    // components: every message reachable from the routes
    const schemas = {};
    const done = new Set();
    let again = true;
    while (again) {
        again = false;
        for (const n of [...used].sort()) {
            if (done.has(n)) continue;
            done.add(n);
            again = true;
            schemas[n] = messageSchema(n, protos, used);
        }
    }
    const sorted = {};
    for (const n of Object.keys(schemas).sort()) sorted[n] = schemas[n];
    Object.assign(sorted, handSchemas());

    const responses = {};
    for (const [code, text] of Object.entries(ERROR_TEXT))
        responses['E' + code] = {description: text, content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}};
    responses.InvalidRows = {description: 'invalid_rows: the file is refused whole; the rows at fault (at most 100)',
                             content: {'application/json': {schema: {$ref: '#/components/schemas/InvalidRowsError'}}}};
    responses.Internal = {description: 'internal: anything else', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}};

    const tags = [
        ['operations', 'health, metrics, service ping'],
        ['tokens', 'API tokens (admin)'],
        ['ledgers', '三本账: daily control, weekly investigation, monthly scheduling; problems and checklists'],
        ['registry', 'regions, businesses, cadres, coverage (应包尽包), bulk imports'],
        ['visits', 'cadres\' visits (督导)'],
        ['tasks', 'deadlines, tasks, escalation ladders, letters, ledger statistics (scheduler)'],
        ['notifications', 'warnings, notifications, templates, SMS receipts (notifier)'],
        ['sampling', 'quarterly spot checks (双随机一公开): plans, verification, inspections, published results'],
        ['scores', 'compliance scores, cadre evaluation, rankings, red and notice lists (scorer)'],
    ].map(([name, description]) => ({name, description}));

    return {
        openapi: '3.0.3',
        info: {
            title: 'liangze (两责) HTTP API',
            version: '1',
            description: 'The gateway\'s routes. JSON member names are the .proto field names; the gateway builds a request message from the JSON body, the path parameters and the query string by field name. A reply\'s repeated fields always appear; next_cursor is null on the last page. Writes need a request_id (1-64 visible ASCII); the same request_id again returns the first answer. Errors are {"error":{"code","message","field"}}. Generated by api/gen-openapi.js; checked against the route table by tests/unit/test_gateway_openapi.c.',
        },
        servers: [{url: 'http://127.0.0.1:8080'}],
        security: [{bearer: []}],
        tags,
        paths,
        components: {securitySchemes: {bearer: {type: 'http', scheme: 'bearer', description: 'lz_… token from `liangze token create` or POST /api/v1/tokens'}},
                     schemas: sorted, responses},
    };
}

function handSchemas() {
    const rid = {$ref: '#/components/schemas/RequestId'};
    const id = {type: 'integer', format: 'int64', minimum: 1};
    return {
        RequestId: {type: 'string', minLength: 1, maxLength: 64, pattern: '^[!-~]{1,64}$',
                    description: 'client-chosen idempotency key: the same one again returns the first answer'},
        RequestIdOnly: {type: 'object', required: ['request_id'], properties: {request_id: rid}, additionalProperties: false},
        Error: {
            type: 'object', required: ['error'], additionalProperties: false,
            properties: {error: {type: 'object', required: ['code', 'message'], additionalProperties: false, properties: {
                code: {type: 'string', enum: ['bad_json', 'invalid_field', 'missing_field', 'not_found', 'conflict', 'unauthorized',
                                              'forbidden', 'too_large', 'unavailable', 'method_not_allowed', 'internal']},
                message: {type: 'string'},
                field: {type: 'string', description: 'the member at fault, as a path (items[2].note)'},
            }}},
        },
        InvalidRowsError: {
            type: 'object', required: ['error'], additionalProperties: false,
            properties: {error: {type: 'object', required: ['code', 'message', 'rows'], additionalProperties: false, properties: {
                code: {type: 'string', enum: ['invalid_rows']},
                message: {type: 'string'},
                rows: {type: 'array', maxItems: 100, items: {$ref: '#/components/schemas/RowError'}},
            }}},
        },
        RowError: {type: 'object', additionalProperties: false, 'x-proto': 'lz.RowError',
                   properties: {line: {type: 'integer', format: 'int32'}, field: {type: 'string'}, message: {type: 'string'}}},
        Health: {type: 'object', required: ['status'], additionalProperties: false, properties: {
            status: {type: 'string', enum: ['ok', 'down']},
            down: {type: 'array', items: {type: 'string', enum: ['broker', 'postgres', 'redis']}},
        }},
        TokenCreateRequest: {
            type: 'object', required: ['request_id', 'role', 'name'], additionalProperties: false,
            description: 'regulator needs region; business, cadre, inspector their id',
            properties: {
                request_id: rid,
                role: {type: 'string', enum: ['admin', 'regulator', 'cadre', 'inspector', 'business']},
                name: {type: 'string', minLength: 1, maxLength: 200},
                region: {type: 'string', pattern: '^[0-9]{12}$'},
                business_id: id, cadre_id: id, inspector_id: id,
            },
        },
        TokenCreated: {type: 'object', required: ['id', 'token'], additionalProperties: false, properties: {
            id: {type: 'integer', format: 'int64'},
            token: {type: 'string', nullable: true, description: 'shown once; null when the same request_id is repeated'},
        }},
        TokenRevoked: {type: 'object', required: ['id', 'revoked'], additionalProperties: false, properties: {
            id: {type: 'integer', format: 'int64'}, revoked: {type: 'boolean', enum: [true]},
        }},
        SmsReceipts: {
            description: 'Tencent Cloud SMS status receipts (a single object is taken as an array of one)',
            oneOf: [{type: 'array', items: {$ref: '#/components/schemas/SmsReceipt'}}, {$ref: '#/components/schemas/SmsReceipt'}],
        },
        SmsReceipt: {type: 'object', additionalProperties: true, properties: {
            sid: {type: 'string', maxLength: 128, description: 'the provider\'s message id (SerialNo)'},
            report_status: {type: 'string', description: 'SUCCESS: delivered; anything else: failed'},
            errmsg: {type: 'string'},
        }},
    };
}

const text = JSON.stringify(build(), null, 2) + '\n';
if (process.argv.includes('--check')) {
    const old = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (old !== text) {
        console.error('api/openapi.json is stale: run node api/gen-openapi.js');
        process.exit(1);
    }
} else {
    fs.writeFileSync(OUT, text);
    console.log('wrote ' + path.relative(process.cwd(), OUT) + ': ' + ROUTES.length + ' operations');
}
