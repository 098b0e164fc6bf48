/*
 * cmd_seed.c - "liangze seed demo [--businesses N] [--cadres N]": load the demo city.
 *
 * The demo city is Tongling (铜陵市, 340700000000) with its four real
 * districts and counties (340705 铜官区, 340706 义安区, 340711 郊区,
 * 340722 枞阳县), plausible townships under them and generated communities
 * (20-60 businesses each); N businesses (default 18,018) with a realistic
 * type and risk-grade mix, valid credit codes and phones; cadres (default
 * 2,799) at county, township and village level; assignments so that every
 * business has a cadre (village cadres on A/B, township on C, county on D,
 * falling back a level up where a community or township has none); and an
 * inspector roster of 30 per district.
 *
 * Everything is generated from a fixed seed, so every run makes the same
 * files, and goes in through the same import functions as the HTTP routes
 * (services/intake/intake_import.h), called directly: no broker frame limit,
 * so --businesses 1000000 loads a province-sized registry.  Running it twice
 * changes nothing the second time.  Each import's rate is printed.
 *
 * Assignments follow DOMAIN.md's default: risk D → a county cadre, C → a
 * township cadre, A/B → a village cadre (scale is not generated: every
 * business is "small").  The import only adds assignments, so after it the
 * seed ends (until = now) any current assignment of its businesses that the
 * generator no longer makes: re-seeding a database seeded by an older
 * generator converges, the old rows staying as history.
 *
 * --region-root PPCC moves the whole city under another province/city code
 * (e.g. a fake 9607 for tests), with its own cadre and inspector phones
 * (1PPCCxxxxxx); the default 3407 is Tongling.  --no-history loads the
 * registry only (benchmarks).
 *
 * Loaders of other data hook in after the registry: add a function to
 * s_after_registry.  The first is the ledger history (three weeks of daily
 * records, weekly and monthly ones, problems; intake_history.h).
 */
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "audit.h"
#include "ident.h"
#include "intake/intake_history.h"
#include "intake/intake_import.h"
#include "mem.h"
#include "pg.h"
#include "rds.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUSINESSES_DEFAULT 18018
#define S_CADRES_DEFAULT     2799
#define S_BUSINESSES_MAX     5000000
#define S_CADRES_MAX         1000000
#define S_INSPECTORS_PER     30
#define S_PER_COMMUNITY      40 /* mean businesses per community: weights 20..60 */

/* A loader run after the registry is in, given the city's root ("3407");
 * returns 0 or -1. */
typedef int(seed_after_fn)(pg_t *pg, const cfg_t *cfg, long businesses, const char *root);

static seed_after_fn s_history;
static bool s_no_history; /* --no-history: the registry only (benchmarks) */

/* Other modules' loaders (ledger history, ...): add them here, NULL-terminated. */
static seed_after_fn *const s_after_registry[] = {s_history, NULL};

/* ---- a deterministic generator ------------------------------------------------- */

static uint64_t s_state;

static uint64_t s_rand(void)
{
    uint64_t z = (s_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned s_below(unsigned n)
{
    return (unsigned)(s_rand() % n);
}

#define S_PICK(list) (list[s_below(sizeof list / sizeof list[0])])

/* ---- the place ------------------------------------------------------------------ */

typedef struct {
    const char *code; /* 12 digits */
    const char *name;
    const char *short_name; /* for business names */
} s_district_t;

static const s_district_t s_districts[] = {
    {"340705000000", "铜官区", "铜官"},
    {"340706000000", "义安区", "义安"},
    {"340711000000", "郊区", "郊区"},
    {"340722000000", "枞阳县", "枞阳"},
};
#define S_NDISTRICTS (sizeof s_districts / sizeof s_districts[0])

typedef struct {
    const char *code;
    const char *name;
    int district;
} s_township_t;

static const s_township_t s_townships[] = {
    {"340705001000", "官塘街道", 0}, {"340705002000", "天井湖街道", 0},
    {"340705003000", "幸福街道", 0}, {"340705004000", "新城街道", 0},
    {"340705005000", "东郊街道", 0}, {"340705006000", "横港街道", 0},
    {"340705100000", "西湖镇", 0},   {"340706100000", "五松镇", 1},
    {"340706101000", "顺安镇", 1},   {"340706102000", "钟鸣镇", 1},
    {"340706103000", "天门镇", 1},   {"340706104000", "西联镇", 1},
    {"340706105000", "东联镇", 1},   {"340711001000", "桥南街道", 2},
    {"340711100000", "大通镇", 2},   {"340711101000", "铜山镇", 2},
    {"340711102000", "陈瑶湖镇", 2}, {"340711103000", "周潭镇", 2},
    {"340711200000", "灰河乡", 2},   {"340711201000", "老洲乡", 2},
    {"340722100000", "枞阳镇", 3},   {"340722101000", "横埠镇", 3},
    {"340722102000", "汤沟镇", 3},   {"340722103000", "钱桥镇", 3},
    {"340722104000", "会宫镇", 3},   {"340722105000", "官埠桥镇", 3},
    {"340722106000", "项铺镇", 3},   {"340722107000", "浮山镇", 3},
    {"340722108000", "白柳镇", 3},   {"340722109000", "义津镇", 3},
    {"340722110000", "老庄镇", 3},   {"340722200000", "铁铜乡", 3},
    {"340722201000", "雨坛乡", 3},   {"340722202000", "金社乡", 3},
};
#define S_NTOWNSHIPS (sizeof s_townships / sizeof s_townships[0])

/*
 * The place's root: "3407" (Tongling) unless --region-root PPCC moves the
 * whole city under another province and city code (a fake one for tests),
 * with its own cadre and inspector phones so two roots never collide.
 */
static char s_root[5] = "3407";
static char s_province_code[13], s_city_code[13];
static const char *s_province_name = "安徽省", *s_city_name = "铜陵市";
static char s_dcode[S_NDISTRICTS][13];
static char s_tcode[S_NTOWNSHIPS][13];

/* Put the city under root (4 digits); codes keep their last 8 digits. */
static void s_places_init(const char *root)
{
    snprintf(s_root, sizeof s_root, "%s", root);
    bool tongling = strcmp(root, "3407") == 0;
    s_province_name = tongling ? "安徽省" : "演示省";
    s_city_name = tongling ? "铜陵市" : "演示市";
    snprintf(s_province_code, sizeof s_province_code, "%.2s0000000000", root);
    snprintf(s_city_code, sizeof s_city_code, "%.4s00000000", root);
    for (size_t d = 0; d < S_NDISTRICTS; d++)
        snprintf(s_dcode[d], sizeof s_dcode[d], "%.4s%s", root, s_districts[d].code + 4);
    for (size_t t = 0; t < S_NTOWNSHIPS; t++)
        snprintf(s_tcode[t], sizeof s_tcode[t], "%.4s%s", root, s_townships[t].code + 4);
}

/* The phone of cadre idx: 1390xxxxxxx in Tongling, 1<root>xxxxxx elsewhere. */
static void s_cadre_phone(char out[32], long idx)
{
    if (strcmp(s_root, "3407") == 0)
        snprintf(out, 32, "1390%07ld", idx);
    else
        snprintf(out, 32, "1%s%06ld", s_root, idx);
}

/* The phone of inspector idx: 1370xxxxxxx in Tongling, 1<root>9xxxxx elsewhere. */
static void s_inspector_phone(char out[32], long idx)
{
    if (strcmp(s_root, "3407") == 0)
        snprintf(out, 32, "1370%07ld", idx);
    else
        snprintf(out, 32, "1%s9%05ld", s_root, idx);
}

static const char *s_place_words[] = {
    "东湖", "西苑", "南园", "北城", "长江", "红星", "光明", "新民", "幸福", "和平",
    "建设", "团结", "胜利", "人民", "文化", "金山", "银湖", "铜都", "翠湖", "五一",
    "石城", "凤凰", "桂花", "青山", "白鹭", "杨柳", "荷花", "黄山", "望江", "新桥",
};
static const char *s_roads[] = {"幸福路", "长江路",   "淮河路",   "人民路",  "北京路",   "义安大道",
                                "石城路", "翠湖路",   "建设路",   "友好路",  "铜都大道", "解放路",
                                "五松路", "笠帽山路", "天井湖路", "螺蛳山路"};
static const char *s_surnames[] = {"张", "王", "李", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                   "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "汪",
                                   "章", "方", "檀", "储", "吕", "程", "叶", "钱", "丁", "陶"};
static const char *s_given[] = {"伟",   "芳",   "娜",   "敏",   "静",   "丽",   "强",
                                "磊",   "军",   "洋",   "勇",   "艳",   "杰",   "娟",
                                "涛",   "明",   "超",   "秀英", "华",   "平",   "建国",
                                "红梅", "志强", "海燕", "文斌", "春燕", "国庆", "晓东"};
static const char *s_dishes[] = {"面馆",     "小吃店", "饭店",   "餐厅",   "火锅店",
                                 "烧烤店",   "快餐店", "包子铺", "土菜馆", "酒楼",
                                 "牛肉汤馆", "馄饨店", "大排档"};
static const char *s_shops[] = {"超市",   "便利店",   "食品店", "副食品商店", "粮油店",
                                "水果店", "生鲜超市", "烟酒店", "茶叶店",     "母婴用品店"};
static const char *s_brands[] = {"华联",   "万家福", "惠民", "百佳", "乐购", "联华", "佳佳",
                                 "好又多", "金鑫",   "永辉", "鑫隆", "恒丰", "顺发", "福源"};
static const char *s_workshops[] = {"豆腐坊",     "糕点坊", "酱菜作坊", "米酒坊",
                                    "面条加工坊", "卤菜摊", "炒货作坊", "麻糖坊"};
static const char *s_canteens[] = {"小学食堂",   "中学食堂", "幼儿园食堂",   "人民医院职工食堂",
                                   "敬老院食堂", "机关食堂", "建筑工地食堂", "职业学校食堂"};
static const char *s_products[] = {"食品有限公司",   "酒业有限公司", "粮油有限公司",
                                   "调味品有限公司", "乳业有限公司", "生物科技有限公司"};
static const char *s_mobile[] = {"138", "139", "135", "136", "137", "150", "151",
                                 "152", "158", "159", "182", "183", "187", "188",
                                 "177", "180", "189", "133", "153", "199"};

typedef struct {
    char code[13];
    int township;
    int nbiz;    /* businesses placed here */
    int village; /* first village cadre index, -1 none */
    int nvillage;
} s_community_t;

typedef struct {
    long nbiz, ncadres;
    s_community_t *comm;
    size_t ncomm;
    int per_township;
    /* cadres: index ranges per district / township / community */
    int *county_first, *county_n;
    int *town_first, *town_n;
    buf_t *regions, *businesses, *cadres, *assignments, *inspectors;
} s_city_t;

static void s_person(char *out, size_t len)
{
    snprintf(out, len, "%s%s", S_PICK(s_surnames), S_PICK(s_given));
}

static void s_phone(char *out, size_t len)
{
    snprintf(out, len, "%s%08u", S_PICK(s_mobile), (unsigned)(s_rand() % 100000000u));
}

/* A unified social credit code: dept/kind prefix, the region, an organisation code, the check. */
static void s_credit_code(char out[19], const char *prefix, const char *district, long seq)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    char first[18];
    memcpy(first, prefix, 2);
    memcpy(first + 2, district, 6);
    uint64_t v = (uint64_t)seq * 2654435761ULL + 12345;
    for (int i = 16; i >= 8; i--) {
        first[i] = alphabet[v % 31];
        v /= 31;
    }
    first[17] = '\0';
    memcpy(out, first, 17);
    out[17] = ident_credit_code_check(first);
    out[18] = '\0';
}

/* Regions: province, city, districts, townships, then the communities. */
static void s_make_regions(s_city_t *c)
{
    buf_t *b = c->regions;
    buf_printf(b, "code,name,level,parent_code\n%s,%s,province,\n%s,%s,city,%s\n", s_province_code,
               s_province_name, s_city_code, s_city_name, s_province_code);
    for (size_t d = 0; d < S_NDISTRICTS; d++)
        buf_printf(b, "%s,%s,district,%s\n", s_dcode[d], s_districts[d].name, s_city_code);
    for (size_t t = 0; t < S_NTOWNSHIPS; t++)
        buf_printf(b, "%s,%s,township,%s\n", s_tcode[t], s_townships[t].name,
                   s_dcode[s_townships[t].district]);
    size_t nwords = sizeof s_place_words / sizeof s_place_words[0];
    for (size_t i = 0; i < c->ncomm; i++) {
        s_community_t *m = &c->comm[i];
        const s_township_t *t = &s_townships[m->township];
        int k = (int)(i % (size_t)c->per_township);
        bool street = strstr(t->name, "街道") != NULL;
        char name[64];
        if ((size_t)k < nwords)
            snprintf(name, sizeof name, "%s%s", s_place_words[k], street ? "社区" : "村");
        else
            snprintf(name, sizeof name, "%s%zu%s", s_place_words[(size_t)k % nwords],
                     (size_t)k / nwords + 1, street ? "社区" : "村");
        buf_printf(b, "%s,%s,community,%s\n", m->code, name, s_tcode[m->township]);
    }
}

/* Businesses, placed community by community. */
static void s_make_businesses(s_city_t *c)
{
    buf_t *b = c->businesses;
    buf_append_str(b, "license_no,credit_code,name,type,risk_grade,region_code,address,"
                      "head_name,head_phone,officer_name,officer_phone\n");
    long seq = 0;
    for (size_t i = 0; i < c->ncomm; i++) {
        const s_community_t *m = &c->comm[i];
        const s_township_t *t = &s_townships[m->township];
        const s_district_t *d = &s_districts[t->district];
        const char *dcode = s_dcode[t->district];
        for (int j = 0; j < m->nbiz; j++, seq++) {
            unsigned r = s_below(100), g = s_below(100);
            const char *type = r < 45   ? "catering"
                               : r < 80 ? "sales"
                               : r < 90 ? "small_workshop"
                               : r < 96 ? "canteen"
                                        : "production";
            const char *grade = g < 40 ? "A" : g < 75 ? "B" : g < 95 ? "C" : "D";
            const char *road = S_PICK(s_roads);
            const char *sur = S_PICK(s_surnames);
            char name[160], lic[32], code[19], head[32], officer[32], hp[16], op[16];
            const char *prefix = "92";
            switch (type[1]) {
            case 'a': /* catering */
                snprintf(name, sizeof name, "%s%s%s记%s", d->name, road, sur, S_PICK(s_dishes));
                snprintf(lic, sizeof lic, "JY2%.6s%07ld", dcode, seq);
                prefix = s_below(3) ? "92" : "91";
                break;
            case 'm': /* small_workshop */
                snprintf(name, sizeof name, "%s%s%s记%s", d->short_name, t->name, sur,
                         S_PICK(s_workshops));
                snprintf(lic, sizeof lic, "XZ4%.6s%07ld", dcode, seq);
                break;
            case 'r': /* production */
                snprintf(name, sizeof name, "铜陵%s%s%s", S_PICK(s_place_words), S_PICK(s_brands),
                         S_PICK(s_products));
                snprintf(lic, sizeof lic, "SC1%.6s%07ld", dcode, seq);
                prefix = "91";
                break;
            case 'e': /* sales */
                snprintf(name, sizeof name, "%s%s%s", road, S_PICK(s_brands), S_PICK(s_shops));
                snprintf(lic, sizeof lic, "JY1%.6s%07ld", dcode, seq);
                prefix = s_below(2) ? "92" : "91";
                break;
            default: /* canteen */
                snprintf(name, sizeof name, "%s%s%s", d->short_name, S_PICK(s_place_words),
                         S_PICK(s_canteens));
                snprintf(lic, sizeof lic, "JY3%.6s%07ld", dcode, seq);
                prefix = "12";
                break;
            }
            s_credit_code(code, prefix, dcode, seq);
            s_person(head, sizeof head);
            s_person(officer, sizeof officer);
            s_phone(hp, sizeof hp);
            s_phone(op, sizeof op);
            buf_printf(b, "%s,%s,%s,%s,%s,%s,%s%s%s%u号,%s,%s,%s,%s\n", lic, code, name, type,
                       grade, m->code, d->name, t->name, road, 1 + s_below(300), head, hp, officer,
                       op);
        }
    }
}

/* Cadres: ~3 % county (per district), ~17 % township, the rest village, round-robin. */
static void s_make_cadres(s_city_t *c)
{
    buf_t *b = c->cadres;
    buf_append_str(b, "phone,name,level,region_code,title\n");
    long ncounty = c->ncadres * 3 / 100, ntown = c->ncadres * 17 / 100;
    if (ncounty < (long)S_NDISTRICTS)
        ncounty = S_NDISTRICTS;
    if (ntown < (long)S_NTOWNSHIPS)
        ntown = S_NTOWNSHIPS;
    long nvillage = c->ncadres - ncounty - ntown;
    if (nvillage < 0)
        nvillage = 0;
    static const char *county_titles[] = {"政府副职领导", "市场监管局局长", "委常委",
                                          "市场监管局副局长", "政府办主任"};
    static const char *town_titles[] = {"党委书记",   "镇长",           "副镇长",
                                        "党委副书记", "市场监管所所长", "人大主席"};
    static const char *street_titles[] = {"党工委书记", "办事处主任", "办事处副主任",
                                          "市场监管所所长"};
    static const char *village_titles[] = {"书记", "主任", "副主任", "网格员", "食品安全协管员"};
    long idx = 0;
    char name[32], title[96], phone[32];
    /* county: district i gets cadres i, i+4, ... */
    c->county_first = xcalloc(S_NDISTRICTS, sizeof *c->county_first);
    c->county_n = xcalloc(S_NDISTRICTS, sizeof *c->county_n);
    for (size_t d = 0; d < S_NDISTRICTS; d++) {
        long n = ncounty / (long)S_NDISTRICTS + ((long)d < ncounty % (long)S_NDISTRICTS);
        c->county_first[d] = (int)idx;
        c->county_n[d] = (int)n;
        for (long k = 0; k < n; k++, idx++) {
            s_person(name, sizeof name);
            snprintf(title, sizeof title, "%s%s", s_districts[d].name, county_titles[k % 5]);
            s_cadre_phone(phone, idx);
            buf_printf(b, "%s,%s,county,%s,%s\n", phone, name, s_dcode[d], title);
        }
    }
    c->town_first = xcalloc(S_NTOWNSHIPS, sizeof *c->town_first);
    c->town_n = xcalloc(S_NTOWNSHIPS, sizeof *c->town_n);
    for (size_t t = 0; t < S_NTOWNSHIPS; t++) {
        long n = ntown / (long)S_NTOWNSHIPS + ((long)t < ntown % (long)S_NTOWNSHIPS);
        bool street = strstr(s_townships[t].name, "街道") != NULL;
        c->town_first[t] = (int)idx;
        c->town_n[t] = (int)n;
        for (long k = 0; k < n; k++, idx++) {
            s_person(name, sizeof name);
            snprintf(title, sizeof title, "%s%s", s_townships[t].name,
                     street ? street_titles[k % 4] : town_titles[k % 6]);
            s_cadre_phone(phone, idx);
            buf_printf(b, "%s,%s,township,%s,%s\n", phone, name, s_tcode[t], title);
        }
    }
    for (size_t i = 0; i < c->ncomm; i++) {
        long n = nvillage / (long)c->ncomm + ((long)i < nvillage % (long)c->ncomm);
        c->comm[i].village = n ? (int)idx : -1;
        c->comm[i].nvillage = (int)n;
        for (long k = 0; k < n; k++, idx++) {
            s_person(name, sizeof name);
            s_cadre_phone(phone, idx);
            buf_printf(b, "%s,%s,village,%s,%s\n", phone, name, c->comm[i].code,
                       village_titles[k % 5]);
        }
    }
}

/* Assignments: every business gets one cadre of the level its grade asks for. */
static void s_make_assignments(s_city_t *c)
{
    buf_t *b = c->assignments;
    buf_append_str(b, "cadre_phone,license_no\n");
    /* re-read the businesses file: its licence and grade columns */
    const char *p = strchr(buf_data(c->businesses), '\n') + 1;
    for (size_t i = 0; i < c->ncomm; i++) {
        const s_community_t *m = &c->comm[i];
        int t = m->township, d = s_townships[t].district;
        for (int j = 0; j < m->nbiz; j++) {
            const char *comma = strchr(p, ',');
            char lic[32];
            snprintf(lic, sizeof lic, "%.*s", (int)(comma - p), p);
            const char *f = comma;
            for (int k = 0; k < 3; k++) /* past credit_code, name, type: to risk_grade */
                f = strchr(f + 1, ',');
            char grade = f[1];
            int cadre;
            if (grade == 'D' || (grade == 'C' && !c->town_n[t]) || (!m->nvillage && !c->town_n[t]))
                cadre = c->county_first[d] + j % c->county_n[d];
            else if (grade == 'C' || !m->nvillage)
                cadre = c->town_first[t] + j % c->town_n[t];
            else
                cadre = m->village + j % m->nvillage;
            char phone[32];
            s_cadre_phone(phone, cadre);
            buf_printf(b, "%s,%s\n", phone, lic);
            p = strchr(p, '\n') + 1;
        }
    }
}

static void s_make_inspectors(s_city_t *c)
{
    buf_t *b = c->inspectors;
    buf_append_str(b, "phone,name,region_code,badge_no\n");
    long idx = 0;
    char name[32];
    for (size_t d = 0; d < S_NDISTRICTS; d++)
        for (int k = 1; k <= S_INSPECTORS_PER; k++, idx++) {
            s_person(name, sizeof name);
            char phone[32];
            s_inspector_phone(phone, idx);
            buf_printf(b, "%s,%s,%s,TL%.6s%03d\n", phone, name, s_dcode[d], s_dcode[d], k);
        }
}

/* Lay out communities: per_township each, 20..60 businesses apiece, adding up to nbiz. */
static void s_layout(s_city_t *c)
{
    long want = (c->nbiz + S_PER_COMMUNITY - 1) / S_PER_COMMUNITY;
    long per = (want + (long)S_NTOWNSHIPS - 1) / (long)S_NTOWNSHIPS;
    if (per < 1)
        per = 1;
    if (per > 999)
        per = 999;
    c->per_township = (int)per;
    c->ncomm = (size_t)per * S_NTOWNSHIPS;
    c->comm = xcalloc(c->ncomm, sizeof *c->comm);
    long *w = xcalloc(c->ncomm, sizeof *w);
    long total = 0;
    for (size_t i = 0; i < c->ncomm; i++) {
        s_community_t *m = &c->comm[i];
        m->township = (int)(i / (size_t)per);
        snprintf(m->code, sizeof m->code, "%.9s%03zu", s_tcode[m->township], i % (size_t)per + 1);
        w[i] = 20 + s_below(41);
        total += w[i];
    }
    long placed = 0;
    for (size_t i = 0; i < c->ncomm; i++) {
        c->comm[i].nbiz = (int)(c->nbiz * w[i] / total);
        placed += c->comm[i].nbiz;
    }
    for (size_t i = 0; placed < c->nbiz; i = (i + 1) % c->ncomm, placed++)
        c->comm[i].nbiz++;
    free(w);
}

static void s_city_free(s_city_t *c)
{
    free(c->comm);
    free(c->county_first);
    free(c->county_n);
    free(c->town_first);
    free(c->town_n);
    buf_destroy(&c->regions);
    buf_destroy(&c->businesses);
    buf_destroy(&c->cadres);
    buf_destroy(&c->assignments);
    buf_destroy(&c->inspectors);
}

/* Import one file; prints its counts and rate.  0 or -1. */
static int s_import(pg_t *pg, import_kind_t kind, const buf_t *file)
{
    import_result_t res;
    int64_t t0 = clock_mono_us();
    int rc = import_run(pg, kind, buf_data(file), buf_len(file), NULL, NULL, &res);
    double s = (double)(clock_mono_us() - t0) / 1e6;
    const char *name = import_kind_name(kind);
    if (rc == 0) {
        long rows = 0;
        for (const char *p = buf_data(file); *p; p++)
            rows += *p == '\n';
        printf("%-12s %8ld rows  imported %8lld  updated %8lld  %7.2f s  %9.0f rows/s\n", name,
               rows - 1, (long long)res.imported, (long long)res.updated, s,
               s > 0 ? (double)(rows - 1) / s : 0.0);
    } else {
        fprintf(stderr, "liangze: the %s import was refused: %s\n", name, res.reason);
        for (size_t i = 0; i < res.nerrors && i < 10; i++)
            fprintf(stderr, "  line %d %s: %s\n", res.errors[i].line, res.errors[i].field,
                    res.errors[i].message);
    }
    import_result_clear(&res);
    return rc;
}

/*
 * The assignments import only adds: after it, end (until = now) every
 * current assignment of the file's businesses to a cadre other than the
 * file's one, so a re-seed after the generator changed converges on the
 * file (the old rows stay as history).  Prints how many; 0 or -1.
 */
static int s_reassign(pg_t *pg, const buf_t *file)
{
    buf_t *phones = buf_new((size_t)1 << 30), *lics = buf_new((size_t)1 << 30);
    buf_putc(phones, '{');
    buf_putc(lics, '{');
    const char *p = strchr(buf_data(file), '\n') + 1;
    for (bool first = true; *p; first = false) {
        const char *comma = strchr(p, ','), *nl = strchr(p, '\n');
        if (!comma || !nl)
            break;
        if (!first) {
            buf_putc(phones, ',');
            buf_putc(lics, ',');
        }
        buf_printf(phones, "\"%.*s\"", (int)(comma - p), p);
        buf_printf(lics, "\"%.*s\"", (int)(nl - comma - 1), comma + 1);
        p = nl + 1;
    }
    buf_putc(phones, '}');
    buf_putc(lics, '}');
    const char *params[] = {buf_data(phones), buf_data(lics)};
    int rc = -1;
    PGresult *res = NULL;
    if (pg_begin(pg) != 0)
        goto out;
    res = pg_query(pg,
                   "UPDATE assignments a SET until = now() "
                   "FROM unnest($1::text[], $2::text[]) AS f(phone, lic) "
                   "JOIN businesses b ON b.license_no = f.lic "
                   "JOIN cadres c ON c.phone = f.phone "
                   "WHERE a.business_id = b.id AND a.cadre_id <> c.id AND a.until IS NULL "
                   "RETURNING a.id",
                   2, params);
    if (!res) {
        pg_rollback(pg);
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "{\"ended\":%d}", PQntuples(res));
    if (PQntuples(res) > 0 &&
        audit_write(pg, NULL, "seed.reassign", "assignments", NULL, detail) != 0) {
        pg_rollback(pg);
        goto out;
    }
    if (pg_commit(pg) != 0)
        goto out;
    printf("%-12s ended %d assignments the generator no longer makes\n", "reassign",
           PQntuples(res));
    rc = 0;
out:
    pg_free(&res);
    buf_destroy(&phones);
    buf_destroy(&lics);
    return rc;
}

/* The ledger history loader (services/intake/intake_history.c). */
static int s_history(pg_t *pg, const cfg_t *cfg, long businesses, const char *root)
{
    (void)businesses;
    if (s_no_history)
        return 0;
    rds_t *rds =
        rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!rds)
        return -1;
    history_result_t hr;
    int rc = history_seed(pg, rds, root, HISTORY_DAYS, clock_now_s(), &hr);
    if (rc == 0)
        printf("%-12s daily %ld  weekly %ld  monthly %ld  problems %ld (open %ld)  %.2f s; "
               "%d periods recounted in redis\n",
               "history", hr.daily, hr.weekly, hr.monthly, hr.problems, hr.problems_open,
               hr.seconds, hr.periods);
    rds_destroy(&rds);
    return rc;
}

static int s_demo(pg_t *pg, const cfg_t *cfg, long nbiz, long ncadres, const char *root)
{
    s_city_t c;
    memset(&c, 0, sizeof c);
    c.nbiz = nbiz;
    c.ncadres = ncadres;
    s_state = 0x746f6e676c696e67ULL; /* "tongling": the same city every run */
    s_places_init(root);
    size_t big = (size_t)nbiz * 400 + (1 << 20);
    c.regions = buf_new((size_t)1 << 30);
    c.businesses = buf_new(big);
    c.cadres = buf_new((size_t)ncadres * 200 + (1 << 20));
    c.assignments = buf_new((size_t)nbiz * 64 + (1 << 20));
    c.inspectors = buf_new(1 << 20);
    int64_t t0 = clock_mono_us();
    s_layout(&c);
    s_make_regions(&c);
    s_make_businesses(&c);
    s_make_cadres(&c);
    s_make_assignments(&c);
    s_make_inspectors(&c);
    printf("generated %zu communities, %ld businesses, %ld cadres in %.2f s\n", c.ncomm, nbiz,
           ncadres, (double)(clock_mono_us() - t0) / 1e6);
    int rc = 0;
    if (s_import(pg, IMPORT_REGIONS, c.regions) || s_import(pg, IMPORT_BUSINESSES, c.businesses) ||
        s_import(pg, IMPORT_CADRES, c.cadres) || s_import(pg, IMPORT_ASSIGNMENTS, c.assignments) ||
        s_reassign(pg, c.assignments) || s_import(pg, IMPORT_INSPECTORS, c.inspectors))
        rc = -1;
    for (size_t i = 0; rc == 0 && s_after_registry[i]; i++)
        rc = s_after_registry[i](pg, cfg, nbiz, root);
    s_city_free(&c);
    return rc;
}

/* Parse a count option's value in 1..max; 0 or -1. */
static int s_count(const char *opt, const char *v, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || n < 1 || n > max) {
        fprintf(stderr, "liangze: %s needs a number from 1 to %ld\n", opt, max);
        return -1;
    }
    *out = n;
    return 0;
}

int cmd_seed(int argc, char **argv, const cfg_t *cfg)
{
    static const char usage[] =
        "usage: liangze seed demo [--businesses N] [--cadres N] [--region-root PPCC] "
        "[--no-history]\n";
    if (argc < 2 || strcmp(argv[1], "demo") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    long nbiz = S_BUSINESSES_DEFAULT, ncadres = S_CADRES_DEFAULT;
    const char *root = "3407";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--businesses") && i + 1 < argc) {
            if (s_count("--businesses", argv[++i], S_BUSINESSES_MAX, &nbiz))
                return 2;
        } else if (!strcmp(argv[i], "--cadres") && i + 1 < argc) {
            if (s_count("--cadres", argv[++i], S_CADRES_MAX, &ncadres))
                return 2;
        } else if (!strcmp(argv[i], "--no-history")) {
            s_no_history = true;
        } else if (!strcmp(argv[i], "--region-root") && i + 1 < argc) {
            root = argv[++i];
            if (strlen(root) != 4 || strspn(root, "0123456789") != 4 || root[0] < '3' ||
                strcmp(root + 2, "00") == 0) {
                fprintf(stderr, "liangze: --region-root needs 4 digits PPCC (province, city; "
                                "first digit 3-9, city not 00)\n");
                return 2;
            }
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg)
        return 1;
    if (strcmp(root, "3407") != 0 && ncadres > 899999) {
        fprintf(stderr, "liangze: at most 899999 cadres under --region-root\n");
        pg_destroy(&pg);
        return 2;
    }
    int rc = s_demo(pg, cfg, nbiz, ncadres, root);
    pg_destroy(&pg);
    if (rc == 0)
        printf("demo city loaded\n");
    return rc == 0 ? 0 : 1;
}
