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
 * Loaders of other data (ledger history, ...) hook in after the registry:
 * add a function to s_after_registry.
 */
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "ident.h"
#include "intake/intake_import.h"
#include "mem.h"
#include "pg.h"

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

/* A loader run after the registry is in; returns 0 or -1. */
typedef int(seed_after_fn)(pg_t *pg, const cfg_t *cfg, long businesses);

/* Other modules' loaders (ledger history, ...): add them here, NULL-terminated. */
static seed_after_fn *const s_after_registry[] = {NULL};

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
    buf_append_str(b, "code,name,level,parent_code\n"
                      "340000000000,安徽省,province,\n"
                      "340700000000,铜陵市,city,340000000000\n");
    for (size_t d = 0; d < S_NDISTRICTS; d++)
        buf_printf(b, "%s,%s,district,340700000000\n", s_districts[d].code, s_districts[d].name);
    for (size_t t = 0; t < S_NTOWNSHIPS; t++)
        buf_printf(b, "%s,%s,township,%s\n", s_townships[t].code, s_townships[t].name,
                   s_districts[s_townships[t].district].code);
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
        buf_printf(b, "%s,%s,community,%s\n", m->code, name, t->code);
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
                snprintf(lic, sizeof lic, "JY2%.6s%07ld", d->code, seq);
                prefix = s_below(3) ? "92" : "91";
                break;
            case 'm': /* small_workshop */
                snprintf(name, sizeof name, "%s%s%s记%s", d->short_name, t->name, sur,
                         S_PICK(s_workshops));
                snprintf(lic, sizeof lic, "XZ4%.6s%07ld", d->code, seq);
                break;
            case 'r': /* production */
                snprintf(name, sizeof name, "铜陵%s%s%s", S_PICK(s_place_words), S_PICK(s_brands),
                         S_PICK(s_products));
                snprintf(lic, sizeof lic, "SC1%.6s%07ld", d->code, seq);
                prefix = "91";
                break;
            case 'e': /* sales */
                snprintf(name, sizeof name, "%s%s%s", road, S_PICK(s_brands), S_PICK(s_shops));
                snprintf(lic, sizeof lic, "JY1%.6s%07ld", d->code, seq);
                prefix = s_below(2) ? "92" : "91";
                break;
            default: /* canteen */
                snprintf(name, sizeof name, "%s%s%s", d->short_name, S_PICK(s_place_words),
                         S_PICK(s_canteens));
                snprintf(lic, sizeof lic, "JY3%.6s%07ld", d->code, seq);
                prefix = "12";
                break;
            }
            s_credit_code(code, prefix, d->code, seq);
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
    char name[32], title[96];
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
            buf_printf(b, "1390%07ld,%s,county,%s,%s\n", idx, name, s_districts[d].code, title);
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
            buf_printf(b, "1390%07ld,%s,township,%s,%s\n", idx, name, s_townships[t].code, title);
        }
    }
    for (size_t i = 0; i < c->ncomm; i++) {
        long n = nvillage / (long)c->ncomm + ((long)i < nvillage % (long)c->ncomm);
        c->comm[i].village = n ? (int)idx : -1;
        c->comm[i].nvillage = (int)n;
        for (long k = 0; k < n; k++, idx++) {
            s_person(name, sizeof name);
            buf_printf(b, "1390%07ld,%s,village,%s,%s\n", idx, name, c->comm[i].code,
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
            for (int k = 0; k < 4; k++) /* to risk_grade */
                f = strchr(f + 1, ',');
            char grade = f[1];
            int cadre;
            if (grade == 'D' || (grade == 'C' && !c->town_n[t]) || (!m->nvillage && !c->town_n[t]))
                cadre = c->county_first[d] + j % c->county_n[d];
            else if (grade == 'C' || !m->nvillage)
                cadre = c->town_first[t] + j % c->town_n[t];
            else
                cadre = m->village + j % m->nvillage;
            buf_printf(b, "1390%07d,%s\n", cadre, lic);
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
            buf_printf(b, "1370%07ld,%s,%s,TL%.6s%03d\n", idx, name, s_districts[d].code,
                       s_districts[d].code, k);
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
        snprintf(m->code, sizeof m->code, "%.9s%03zu", s_townships[m->township].code,
                 i % (size_t)per + 1);
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

static int s_demo(pg_t *pg, const cfg_t *cfg, long nbiz, long ncadres)
{
    s_city_t c;
    memset(&c, 0, sizeof c);
    c.nbiz = nbiz;
    c.ncadres = ncadres;
    s_state = 0x746f6e676c696e67ULL; /* "tongling": the same city every run */
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
        s_import(pg, IMPORT_INSPECTORS, c.inspectors))
        rc = -1;
    for (size_t i = 0; rc == 0 && s_after_registry[i]; i++)
        rc = s_after_registry[i](pg, cfg, nbiz);
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
    static const char usage[] = "usage: liangze seed demo [--businesses N] [--cadres N]\n";
    if (argc < 2 || strcmp(argv[1], "demo") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    long nbiz = S_BUSINESSES_DEFAULT, ncadres = S_CADRES_DEFAULT;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--businesses") && i + 1 < argc) {
            if (s_count("--businesses", argv[++i], S_BUSINESSES_MAX, &nbiz))
                return 2;
        } else if (!strcmp(argv[i], "--cadres") && i + 1 < argc) {
            if (s_count("--cadres", argv[++i], S_CADRES_MAX, &ncadres))
                return 2;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg)
        return 1;
    int rc = s_demo(pg, cfg, nbiz, ncadres);
    pg_destroy(&pg);
    if (rc == 0)
        printf("demo city loaded\n");
    return rc == 0 ? 0 : 1;
}
