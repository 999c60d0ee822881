/* settings.c: the run settings, as rows of the checkpoint table (include/io/nn_ckpt_fields.def):
 * each row's flag names its nn_config field (through the option table), and from the rows come
 * the run's resolved settings as one canonical string, "name=value;..." (stored in checkpoints
 * and hashed for the banner), and the values a checkpoint stores. */
#include <stdio.h>
#include <string.h>

#include "nn_ckpt_attrs.h"
#include "train_internal.h"

const nn_setting nn_settings[NN_A_N] = {
#define NN_CKPT_FIELD(field, group, name, type, len, flag, src, rule, key, order, err, log) \
    [NN_A_##field] = {flag, NN_SRC_##src, NN_RULE_##rule, key, order, err, log},
#include "nn_ckpt_fields.def"
#undef NN_CKPT_FIELD
};

/* Without --data the run trains the built-in example; the files and the string say so. */
static const char example_data[] = "(built-in example)";

int nn_settings_sorted(int by_rule, int *ids)
{
    int n = 0;
    for (int place = 1; place <= 99; place++) /* few rows: a scan per place */
        for (int k = 0; k < NN_A_N; k++)
            if ((by_rule ? nn_settings[k].order : nn_settings[k].key) == place)
                ids[n++] = k;
    return n;
}

void *nn_setting_field(nn_config *cfg, int id, nn_arg_type *type)
{
    const nn_arg *a = nn_settings[id].flag ? nn_config_arg(nn_settings[id].flag) : NULL;
    if (!a)
        return NULL;
    *type = a->type;
    return (char *)cfg + a->offset;
}

const char *nn_setting_text(const nn_config *cfg, int id, int exact, char *buf, size_t len)
{
    nn_arg_type type = NN_ARG_FLAG;
    const void *f = nn_setting_field((nn_config *)cfg, id, &type);
    switch (type) {
    case NN_ARG_STR: {
        const char *s = *(const char *const *)f;
        return s ? s : example_data; /* --data is the only setting without a default */
    }
    case NN_ARG_LONG: snprintf(buf, len, "%ld", *(const long *)f); break;
    case NN_ARG_DOUBLE: snprintf(buf, len, exact ? "%.9g" : "%g", *(const double *)f); break;
    case NN_ARG_FLAG: snprintf(buf, len, "%d", *(const int *)f); break;
    }
    return buf;
}

void nn_trainer_settings(const nn_trainer *t, char *buf, size_t len)
{
    int ids[NN_A_N], n = nn_settings_sorted(0, ids);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char key[64], num[64];
        snprintf(key, sizeof key, "%s", nn_settings[ids[i]].flag);
        for (char *p = key; *p; p++)
            *p = *p == '-' ? '_' : *p;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s=%s", i ? ";" : "", key,
                 nn_setting_text(&t->cfg, ids[i], 1, num, sizeof num));
    }
}

void nn_settings_resolve(nn_trainer *t)
{
    nn_config *c = &t->cfg;
    c->activation = nn_act_name(t->lo.act);
    c->loss = nn_loss_name(t->lo.loss); /* auto: as the data decided */
    c->optimizer = nn_opt_name(t->hp.kind);
    c->lr = t->lr.base;                 /* exactly: the schedule computes every step's rate */
    c->momentum = t->hp.momentum;       /* the float32 values the optimizer uses */
    c->beta1 = t->hp.beta1;
    c->beta2 = t->hp.beta2;
    c->eps = t->hp.eps;
    c->weight_decay = t->hp.weight_decay; /* 0 but with adamw */
    c->l1 = t->l1;
    c->l2 = t->l2;
    c->batch = (long)t->sched.batch;    /* global; --batch 0 and gd: the whole training set */
    /* what was applied (the checkpoint's on resume); "identity" carries only the targets'
     * scaling or the class weights of a run whose inputs were not scaled */
    c->normalize = strcmp(t->pre.method, "identity") == 0 ? "none" : t->pre.method;
    c->normalize_targets = t->pre.y_shift ? "zscore" : "none";
}

void nn_settings_store(const nn_trainer *t, nn_ckpt_meta *meta)
{
    for (int k = 0; k < NN_A_N; k++) {
        if (nn_settings[k].src != NN_SRC_FLAG)
            continue;
        nn_arg_type type = NN_ARG_FLAG;
        const void *f = nn_setting_field((nn_config *)&t->cfg, k, &type);
        void *x = nn_ckpt_attr_at(meta, k);
        long n = type == NN_ARG_LONG ? *(const long *)f : type == NN_ARG_FLAG ? *(const int *)f : 0;
        char num[64];
        switch (nn_ckpt_attrs[k].type) {
        case NN_AT_I64: *(int64_t *)x = n; break;
        case NN_AT_U64: *(uint64_t *)x = (uint64_t)n; break;
        case NN_AT_F64: *(double *)x = *(const double *)f; break;
        case NN_AT_STR:
            snprintf(x, nn_ckpt_attrs[k].len, "%s", nn_setting_text(&t->cfg, k, 1, num, sizeof num));
            break;
        case NN_AT_I32S: break; /* the layer sizes are the model's (src FILE) */
        }
    }
}
