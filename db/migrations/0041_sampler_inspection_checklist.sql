-- 0041_sampler_inspection_checklist.sql - the inspection checklist (监督检查要点) a spot
-- check answers, and what an inspection keeps of it.
--
-- Checklists gain the kind "inspection": one per business type, version 1 seeded here
-- (the same 12 points for every type); a regulator publishes later versions through
-- POST /api/v1/checklists/{type} with kind "inspection".  In an inspection checklist an
-- item's `required` marks a key point (重点项): it must be answered and a failed key point
-- fails the inspection; the others are general points (一般项): answered when they apply,
-- a failed one gives remarks (services/sampler/README.md, "Outcome").
--
-- Sources: 《食品生产经营监督检查管理办法》 (SAMR Order No. 49, 2021) and its 检查要点表;
-- 《企业落实食品安全主体责任监督管理规定》 (SAMR Order No. 60, 2022: 日管控、周排查、
-- 月调度, 食品安全总监/安全员); 《地方党政领导干部食品安全责任制规定》 (包保督导).

ALTER TABLE checklists DROP CONSTRAINT IF EXISTS checklists_kind_check;
ALTER TABLE checklists ADD CONSTRAINT checklists_kind_check
    CHECK (kind IN ('daily', 'weekly', 'monthly', 'inspection'));

WITH t (type) AS (
    VALUES ('production'), ('sales'), ('catering'), ('canteen'), ('small_workshop')
), cl AS (
    INSERT INTO checklists (type, kind, version)
    SELECT type, 'inspection', 1 FROM t RETURNING id
)
INSERT INTO checklist_items (checklist_id, position, code, text, measure, category, required)
SELECT cl.id, substr(i.code, 2)::int, i.code, i.text, i.measure, i.category, i.required
FROM cl, (VALUES
    ('I01', '日管控记录按日填写', '查阅本季度《每日食品安全检查记录》：每个经营日均有记录（含零风险报告），内容与现场一致，不补记、不代填', '三本账', true),
    ('I02', '周排查报告按周形成', '查阅《每周食品安全排查治理报告》：每周至少一次，列明本周风险隐患、问题整改情况，由食品安全总监或安全员签字', '三本账', true),
    ('I03', '月调度会议按月召开', '查阅《每月食品安全调度会议纪要》：每月至少一次，主要负责人主持，总结当月工作、部署下月重点', '三本账', true),
    ('I04', '发现问题按期整改', '核对日管控、包保督导和以往检查发现的问题：已整改的有措施和销号记录，未整改的有整改期限和责任人，无超期未改', '问题整改', true),
    ('I05', '包保干部按频次督导', '核对包保干部督导记录：督导次数达到规定频次，有督导内容和发现问题的处理记录（四不两直核实）', '包保督导', true),
    ('I06', '食品安全总监/安全员在岗', '按规定配备食品安全总监、食品安全员，人员在岗、熟悉职责，能说明本单位风险管控清单', '人员管理', true),
    ('I07', '从业人员健康证明', '接触直接入口食品的从业人员持有效健康证明，每日晨检有记录', '人员管理', true),
    ('I08', '进货查验与记录', '查验供货者资质和产品合格证明，进货查验记录完整、可追溯，无采购使用不合格或来源不明的食品及原料', '原料管理', true),
    ('I09', '贮存条件', '食品与非食品分开存放，离地离墙，冷藏冷冻温度符合要求并记录，无过期变质食品', '过程控制', false),
    ('I10', '加工制作与环境卫生', '加工场所整洁，生熟分开，设施设备正常运转并清洗消毒，防蝇防鼠防虫设施有效', '过程控制', false),
    ('I11', '许可证照与公示', '许可证或备案凭证在有效期内并公示，经营项目与许可范围一致，公示食品安全承诺书', '证照管理', false),
    ('I12', '食品安全责任保险', '已投保食品安全责任保险（食责险）且在保险期内（适用时）', '制度保障', false)
) AS i (code, text, measure, category, required);

-- What an inspection answered and what the inspector was shown.
ALTER TABLE inspections ADD COLUMN checklist_id bigint REFERENCES checklists (id);
ALTER TABLE inspections ADD COLUMN answers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE inspections ADD COLUMN record_check jsonb;

-- The plan list route pages by id within a region range.
CREATE INDEX sampling_plans_region ON sampling_plans (region_code, id);
