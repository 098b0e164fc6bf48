/*
 * cmd_seed.c - "liangze seed demo": load the demo city.
 *
 * The demo city is Tongling (铜陵市, 340700000000) with its four real
 * districts and counties and plausible townships and communities under
 * them.  Loading is idempotent: rows already present are left as they are.
 */
#include "buf.h"
#include "cli.h"
#include "pg.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *code;
    const char *name;
    const char *level;
    const char *parent;
} seed_region_t;

/* Townships carry 9 significant digits, communities 12. */
static const seed_region_t s_regions[] = {
    {"340000000000", "安徽省", "province", NULL},
    {"340700000000", "铜陵市", "city", "340000000000"},
    {"340705000000", "铜官区", "district", "340700000000"},
    {"340706000000", "义安区", "district", "340700000000"},
    {"340711000000", "郊区", "district", "340700000000"},
    {"340722000000", "枞阳县", "district", "340700000000"},
    {"340705001000", "官塘街道", "township", "340705000000"},
    {"340705002000", "天井湖街道", "township", "340705000000"},
    {"340705003000", "幸福街道", "township", "340705000000"},
    {"340705004000", "新城街道", "township", "340705000000"},
    {"340706100000", "五松镇", "township", "340706000000"},
    {"340706101000", "顺安镇", "township", "340706000000"},
    {"340706102000", "钟鸣镇", "township", "340706000000"},
    {"340711001000", "桥南街道", "township", "340711000000"},
    {"340711100000", "大通镇", "township", "340711000000"},
    {"340711101000", "铜山镇", "township", "340711000000"},
    {"340722100000", "枞阳镇", "township", "340722000000"},
    {"340722101000", "横埠镇", "township", "340722000000"},
    {"340722102000", "汤沟镇", "township", "340722000000"},
    {"340722103000", "钱桥镇", "township", "340722000000"},
};

static const char *s_community_names[] = {"东湖社区", "西苑社区", "南园社区", "北城社区",
                                          "长江社区", "红星社区", "光明社区", "新民社区"};

/* Append the regions as COPY text rows: code, name, level, parent. */
static void s_rows(buf_t *b)
{
    size_t n = sizeof s_regions / sizeof s_regions[0];
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s\t%s\t%s\t%s\n", s_regions[i].code, s_regions[i].name, s_regions[i].level,
                   s_regions[i].parent ? s_regions[i].parent : "\\N");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s_regions[i].level, "township") != 0)
            continue;
        for (int c = 1; c <= 8; c++)
            buf_printf(b, "%.9s%03d\t%s\tcommunity\t%s\n", s_regions[i].code, c,
                       s_community_names[c - 1], s_regions[i].code);
    }
}

static int s_demo(pg_t *pg)
{
    buf_t *b = buf_new(1 << 20);
    s_rows(b);
    int rc = -1;
    if (pg_begin(pg) == 0 &&
        pg_exec(pg,
                "CREATE TEMP TABLE seed_regions (code text, name text, level text, "
                "parent_code text) ON COMMIT DROP",
                0, NULL) == 0 &&
        pg_copy_in(pg, "COPY seed_regions FROM STDIN", buf_data(b), buf_len(b)) == 0 &&
        pg_exec(pg,
                "INSERT INTO regions (code, name, level, parent_code) "
                "SELECT code, name, level, parent_code FROM seed_regions "
                "ORDER BY length(rtrim(code, '0')), code ON CONFLICT (code) DO NOTHING",
                0, NULL) == 0 &&
        pg_commit(pg) == 0)
        rc = 0;
    if (rc != 0) {
        pg_rollback(pg);
        fprintf(stderr, "liangze: could not load the demo city: %s\n", pg_errmsg(pg));
    }
    buf_destroy(&b);
    return rc;
}

int cmd_seed(int argc, char **argv, const cfg_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "demo") != 0) {
        fprintf(stderr, "usage: liangze seed demo\n");
        return 2;
    }
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg)
        return 1;
    int rc = s_demo(pg);
    pg_destroy(&pg);
    if (rc == 0)
        printf("demo city loaded\n");
    return rc == 0 ? 0 : 1;
}
