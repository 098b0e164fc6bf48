/*
 * scheduler_ladder.c - escalation ladders and letters: pure logic (see scheduler_ladder.h).
 */
#include "scheduler_ladder.h"
#include "mem.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

static const char *const s_templates[] = {
    "ledger_reminder",      "overdue_warning",  "cadre_notice",
    "rectification_notice", "reminder_letter",  "supervision_notice",
    "interview_summons",    "regulator_notice", "warning",
};

static const struct {
    const char *kind;
    const char *title;
} s_letters[] = {
    {"reminder_letter", "提醒书"},
    {"supervision_notice", "督办书"},
    {"interview_summons", "约谈函"},
    {"rectification_notice", "整改通知书"},
};

static bool s_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

int ladder_role_parse(const char *s, ladder_role_t *out)
{
    static const char *const cadre_levels[] = {"city", "county", "township", "village"};
    static const char *const reg_levels[] = {"city", "district", "township"};
    ladder_role_t r;
    memset(&r, 0, sizeof r);
    if (!s)
        return -1;
    if (!strcmp(s, "officer"))
        r.kind = ROLE_OFFICER;
    else if (!strcmp(s, "head"))
        r.kind = ROLE_HEAD;
    else if (!strcmp(s, "business"))
        r.kind = ROLE_BUSINESS;
    else if (!strcmp(s, "cadre"))
        r.kind = ROLE_CADRE;
    else if (!strncmp(s, "cadre:", 6) && s_in(s + 6, cadre_levels, 4)) {
        r.kind = ROLE_CADRE_AT;
        snprintf(r.level, sizeof r.level, "%s", s + 6);
    } else if (!strncmp(s, "regulator:", 10) && s_in(s + 10, reg_levels, 3)) {
        r.kind = ROLE_REGULATOR;
        snprintf(r.level, sizeof r.level, "%s", s + 10);
    } else
        return -1;
    *out = r;
    return 0;
}

bool ladder_template_valid(const char *name)
{
    return name && s_in(name, s_templates, sizeof s_templates / sizeof s_templates[0]);
}

bool ladder_letter_valid(const char *kind)
{
    return ladder_letter_title(kind) != NULL;
}

const char *ladder_letter_title(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof s_letters / sizeof s_letters[0]; i++)
        if (!strcmp(kind, s_letters[i].kind))
            return s_letters[i].title;
    return NULL;
}

int ladder_validate(const ladder_t *l, char *field, size_t fieldlen, char *msg, size_t msglen)
{
#define FAIL(f, ...)                                                                               \
    do {                                                                                           \
        snprintf(field, fieldlen, "%s", f);                                                        \
        snprintf(msg, msglen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)
    if (l->nsteps < 1 || l->nsteps > LADDER_STEPS_MAX)
        FAIL("steps", "a ladder has 1 to %d steps", LADDER_STEPS_MAX);
    for (int i = 0; i < l->nsteps; i++) {
        const ladder_step_t *s = &l->steps[i];
        if (s->step != i + 1)
            FAIL("steps.step", "steps are numbered 1, 2, ... in order (step %d)", i + 1);
        if (s->delay_s < 0 || s->delay_s > LADDER_DELAY_MAX_S)
            FAIL("steps.delay_s", "step %d: delay_s is 0 to %d", s->step, LADDER_DELAY_MAX_S);
        if (i > 0 && s->delay_s < l->steps[i - 1].delay_s)
            FAIL("steps.delay_s", "step %d comes before step %d", s->step, i);
        if (s->letter[0] && !ladder_letter_valid(s->letter))
            FAIL("steps.letter", "step %d: unknown letter kind", s->step);
        if (s->nrecipients < 1 || s->nrecipients > LADDER_RECIPIENTS_MAX)
            FAIL("steps.recipients", "step %d has 1 to %d recipients", s->step,
                 LADDER_RECIPIENTS_MAX);
        for (int j = 0; j < s->nrecipients; j++) {
            ladder_role_t role;
            if (ladder_role_parse(s->r[j].role, &role) != 0)
                FAIL("steps.recipients.role", "step %d: unknown role", s->step);
            if (!ladder_template_valid(s->r[j].template_))
                FAIL("steps.recipients.template", "step %d: unknown template", s->step);
        }
    }
    return 0;
#undef FAIL
}

const ladder_step_t *ladder_step(const ladder_t *l, int step)
{
    if (step < 1 || step > l->nsteps)
        return NULL;
    return &l->steps[step - 1];
}

bool ladder_next_due(const ladder_t *l, int64_t deadline, int last_step, int64_t *due)
{
    const ladder_step_t *s = ladder_step(l, last_step + 1);
    if (!s)
        return false;
    *due = deadline + s->delay_s;
    return true;
}

int ladder_due_count(const ladder_t *l, int64_t deadline, int last_step, int64_t as_of)
{
    int n = 0;
    int64_t due;
    while (ladder_next_due(l, deadline, last_step + n, &due) && due <= as_of)
        n++;
    return n;
}

size_t ladder_letter_number(const char *issuer, int year, const char *kind, int64_t n, char *buf,
                            size_t len)
{
    const char *title = ladder_letter_title(kind);
    if (!title || !issuer || len == 0)
        return 0;
    int w = snprintf(buf, len, "%s〔%d〕%s第%lld号", issuer, year, title, (long long)n);
    if (w < 0 || (size_t)w >= len) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)w;
}

char *ladder_letter_body(const ladder_letter_t *l)
{
    const char *title = ladder_letter_title(l->kind);
    const char *what;
    if (!strcmp(l->kind, "rectification_notice"))
        what = "经查，你单位未按规定落实食品安全主体责任，%s逾期未报。根据《企业落实食品安全主体"
               "责任监督管理规定》，现责令你单位于%s前完成整改，补报相关记录，并将整改情况报送"
               "属地监管部门。";
    else if (!strcmp(l->kind, "reminder_letter"))
        what = "经查，%s未按期完成。请于%s前督促落实，并将落实情况报送。";
    else if (!strcmp(l->kind, "supervision_notice"))
        what = "经查，%s经提醒后仍未完成。现予督办，请于%s前整改到位并书面报告。";
    else
        what = "经查，%s经提醒、督办后仍未完成。请于%s前到本单位接受约谈，说明情况。";
    char *sentence = xasprintf(what, l->owed ? l->owed : "", l->deadline ? l->deadline : "");
    char *body = xasprintf("%s\n\n%s：\n\n    %s\n\n    对象：%s\n\n%s\n%s\n", title ? title : "",
                           l->recipient ? l->recipient : "", sentence, l->subject ? l->subject : "",
                           l->issuer ? l->issuer : "", l->date ? l->date : "");
    free(sentence);
    return body;
}

static void s_rcpt(ladder_step_t *s, const char *role, const char *tmpl)
{
    snprintf(s->r[s->nrecipients].role, sizeof s->r[0].role, "%s", role);
    snprintf(s->r[s->nrecipients].template_, sizeof s->r[0].template_, "%s", tmpl);
    s->nrecipients++;
}

static ladder_step_t *s_step(ladder_t *l, int64_t delay_s, const char *letter)
{
    ladder_step_t *s = &l->steps[l->nsteps++];
    memset(s, 0, sizeof *s);
    s->step = l->nsteps;
    s->delay_s = delay_s;
    snprintf(s->letter, sizeof s->letter, "%s", letter ? letter : "");
    return s;
}

bool ladder_default(const char *name, ladder_t *out)
{
    memset(out, 0, sizeof *out);
    ladder_step_t *s;
    if (!strcmp(name, "ledger")) {
        snprintf(out->name, sizeof out->name, "ledger");
        s_rcpt(s_step(out, 0, NULL), "officer", "ledger_reminder");
        s = s_step(out, 86400, NULL);
        s_rcpt(s, "head", "overdue_warning");
        s_rcpt(s, "cadre:village", "cadre_notice");
        s = s_step(out, 3 * 86400, "rectification_notice");
        s_rcpt(s, "head", "rectification_notice");
        s_rcpt(s, "cadre:township", "cadre_notice");
        s_rcpt(s_step(out, 7 * 86400, NULL), "regulator:district", "regulator_notice");
        return true;
    }
    if (!strcmp(name, "visit")) {
        snprintf(out->name, sizeof out->name, "visit");
        s_rcpt(s_step(out, 0, NULL), "cadre", "cadre_notice");
        s_rcpt(s_step(out, 7 * 86400, "reminder_letter"), "regulator:township", "reminder_letter");
        s_rcpt(s_step(out, 15 * 86400, "supervision_notice"), "regulator:district",
               "supervision_notice");
        s_rcpt(s_step(out, 30 * 86400, "interview_summons"), "cadre", "interview_summons");
        return true;
    }
    return false;
}
