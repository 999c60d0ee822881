/* ckpt_attrs.c: the table of a checkpoint's attributes, the run's state as their values and
 * back, and the state checksum's encoding of them (nn_ckpt_attrs.h, docs/checkpoint.md). */
#include <stdio.h>
#include <string.h>

#include "nn_ckpt_attrs.h"

#define META_LEN(field) sizeof(((nn_ckpt_meta *)0)->field)
#define NAME_LEN 32 /* enough for every name and the version and time strings */

const nn_attr_spec nn_ckpt_attrs[NN_A_N] = {
    [NN_A_FORMAT_VERSION] = {"/", "format_version", NN_AT_I64, 0},
    [NN_A_EPOCH] = {"/", "epoch", NN_AT_I64, 0},
    [NN_A_EPOCH_STEP] = {"/", "epoch_step", NN_AT_I64, 0},
    [NN_A_STEP] = {"/", "step", NN_AT_I64, 0},
    [NN_A_EPOCH_LOSS_SUM] = {"/", "epoch_loss_sum", NN_AT_F64, 0},
    [NN_A_SEED] = {"/", "seed", NN_AT_U64, 0},
    [NN_A_BATCH] = {"/", "batch", NN_AT_I64, 0},
    [NN_A_EPOCHS] = {"/", "epochs", NN_AT_I64, 0},
    [NN_A_VAL_FRACTION] = {"/", "val_fraction", NN_AT_F64, 0},
    [NN_A_NO_SHUFFLE] = {"/", "no_shuffle", NN_AT_I64, 0},
    [NN_A_WORLD_SIZE] = {"/", "world_size", NN_AT_I64, 0},
    [NN_A_DATA] = {"/", "data", NN_AT_STR, META_LEN(data)},
    [NN_A_SETTINGS] = {"/", "settings", NN_AT_STR, META_LEN(settings)},
    [NN_A_CONFIG_HASH] = {"/", "config_hash", NN_AT_U64, 0},
    [NN_A_NORMALIZE] = {"/", "normalize", NN_AT_STR, META_LEN(normalize)},
    [NN_A_DROPOUT] = {"/", "dropout", NN_AT_F64, 0},
    [NN_A_LR_SCHEDULE] = {"/", "lr_schedule", NN_AT_STR, META_LEN(lr_schedule)},
    [NN_A_WARMUP_EPOCHS] = {"/", "warmup_epochs", NN_AT_F64, 0},
    [NN_A_LR_STEP_EPOCHS] = {"/", "lr_step_epochs", NN_AT_I64, 0},
    [NN_A_LR_GAMMA] = {"/", "lr_gamma", NN_AT_F64, 0},
    [NN_A_LR_MIN] = {"/", "lr_min", NN_AT_F64, 0},
    [NN_A_PATIENCE] = {"/", "patience", NN_AT_I64, 0},
    [NN_A_BEST_VAL_LOSS] = {"/", "best_val_loss", NN_AT_F64, 0},
    [NN_A_BEST_EPOCH] = {"/", "best_epoch", NN_AT_I64, 0},
    [NN_A_BAD_EPOCHS] = {"/", "bad_epochs", NN_AT_I64, 0},
    [NN_A_LAYERS] = {"/model", "layers", NN_AT_I32S, NN_MAX_LAYERS + 1},
    [NN_A_ACTIVATION] = {"/model", "activation", NN_AT_STR, NAME_LEN},
    [NN_A_OUTPUT] = {"/model", "output", NN_AT_STR, NAME_LEN},
    [NN_A_LOSS] = {"/model", "loss", NN_AT_STR, NAME_LEN},
    [NN_A_OPT_NAME] = {"/optimizer", "name", NN_AT_STR, NAME_LEN},
    [NN_A_OPT_STEP] = {"/optimizer", "step", NN_AT_I64, 0},
    [NN_A_LR] = {"/optimizer", "lr", NN_AT_F64, 0},
    [NN_A_MOMENTUM] = {"/optimizer", "momentum", NN_AT_F64, 0},
    [NN_A_BETA1] = {"/optimizer", "beta1", NN_AT_F64, 0},
    [NN_A_BETA2] = {"/optimizer", "beta2", NN_AT_F64, 0},
    [NN_A_EPS] = {"/optimizer", "eps", NN_AT_F64, 0},
    [NN_A_WEIGHT_DECAY] = {"/optimizer", "weight_decay", NN_AT_F64, 0},
    [NN_A_L1] = {"/optimizer", "l1", NN_AT_F64, 0},
    [NN_A_L2] = {"/optimizer", "l2", NN_AT_F64, 0},
    [NN_A_PROGRAM] = {"/", "program", NN_AT_STR, NAME_LEN},
    [NN_A_PROGRAM_VERSION] = {"/", "program_version", NN_AT_STR,
                              sizeof(((nn_ckpt_info *)0)->program_version)},
    [NN_A_CREATED] = {"/", "created", NN_AT_STR, sizeof(((nn_ckpt_info *)0)->created)},
    [NN_A_CONFIG] = {"/", "config", NN_AT_STR, META_LEN(config)},
};

void nn_ckpt_attrs_from(const nn_layout *lo, const nn_opt_hparams *hp, const nn_ckpt_meta *meta,
                        const char *created, uint64_t config_hash, nn_attr_val v[NN_A_N])
{
    memset(v, 0, NN_A_N * sizeof *v);
    v[NN_A_FORMAT_VERSION].i = NN_CKPT_FORMAT_VERSION;
    v[NN_A_EPOCH].i = meta->epoch;
    v[NN_A_EPOCH_STEP].i = meta->epoch_step;
    v[NN_A_STEP].i = meta->step;
    v[NN_A_EPOCH_LOSS_SUM].f = meta->epoch_loss_sum;
    v[NN_A_SEED].u = meta->seed;
    v[NN_A_BATCH].i = meta->batch;
    v[NN_A_EPOCHS].i = meta->epochs;
    v[NN_A_VAL_FRACTION].f = meta->val_fraction;
    v[NN_A_NO_SHUFFLE].i = meta->no_shuffle;
    v[NN_A_WORLD_SIZE].i = meta->world_size;
    v[NN_A_DATA].s = meta->data;
    v[NN_A_SETTINGS].s = meta->settings;
    v[NN_A_CONFIG_HASH].u = config_hash;
    v[NN_A_NORMALIZE].s = meta->normalize;
    v[NN_A_DROPOUT].f = meta->dropout;
    v[NN_A_LR_SCHEDULE].s = meta->lr_schedule;
    v[NN_A_WARMUP_EPOCHS].f = meta->warmup_epochs;
    v[NN_A_LR_STEP_EPOCHS].i = meta->lr_step_epochs;
    v[NN_A_LR_GAMMA].f = meta->lr_gamma;
    v[NN_A_LR_MIN].f = meta->lr_min;
    v[NN_A_PATIENCE].i = meta->patience;
    v[NN_A_BEST_VAL_LOSS].f = meta->best_val_loss;
    v[NN_A_BEST_EPOCH].i = meta->best_epoch;
    v[NN_A_BAD_EPOCHS].i = meta->bad_epochs;
    v[NN_A_LAYERS].a = lo->sizes;
    v[NN_A_LAYERS].n = lo->n_layers + 1;
    v[NN_A_ACTIVATION].s = nn_act_name(lo->act);
    v[NN_A_OUTPUT].s = lo->loss == NN_LOSS_XENT ? "softmax" : "linear";
    v[NN_A_LOSS].s = nn_loss_name(lo->loss);
    v[NN_A_OPT_NAME].s = nn_opt_name(hp->kind);
    v[NN_A_OPT_STEP].i = meta->step;
    v[NN_A_LR].f = meta->lr; /* the base rate as given; the others float32 values */
    v[NN_A_MOMENTUM].f = hp->momentum;
    v[NN_A_BETA1].f = hp->beta1;
    v[NN_A_BETA2].f = hp->beta2;
    v[NN_A_EPS].f = hp->eps;
    v[NN_A_WEIGHT_DECAY].f = hp->weight_decay;
    v[NN_A_L1].f = meta->l1;
    v[NN_A_L2].f = meta->l2;
    v[NN_A_PROGRAM].s = "nn-train";
    v[NN_A_PROGRAM_VERSION].s = NN_VERSION;
    v[NN_A_CREATED].s = created;
    v[NN_A_CONFIG].s = meta->config;
}

int nn_ckpt_attrs_to_info(const nn_attr_val v[NN_A_N], nn_ckpt_info *info, const char *path,
                          char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    nn_ckpt_meta *m = &info->meta;
    info->format_version = (int)v[NN_A_FORMAT_VERSION].i;
    m->epoch = (long)v[NN_A_EPOCH].i;
    m->epoch_step = (long)v[NN_A_EPOCH_STEP].i;
    m->step = (long)v[NN_A_STEP].i;
    m->epoch_loss_sum = v[NN_A_EPOCH_LOSS_SUM].f;
    m->seed = v[NN_A_SEED].u;
    m->batch = (long)v[NN_A_BATCH].i;
    m->epochs = (long)v[NN_A_EPOCHS].i;
    m->val_fraction = v[NN_A_VAL_FRACTION].f;
    m->no_shuffle = (int)v[NN_A_NO_SHUFFLE].i;
    m->world_size = (int)v[NN_A_WORLD_SIZE].i;
    snprintf(m->data, sizeof m->data, "%s", v[NN_A_DATA].s);
    snprintf(m->settings, sizeof m->settings, "%s", v[NN_A_SETTINGS].s);
    m->config_hash = v[NN_A_CONFIG_HASH].u;
    snprintf(m->normalize, sizeof m->normalize, "%s", v[NN_A_NORMALIZE].s);
    m->dropout = v[NN_A_DROPOUT].f;
    snprintf(m->lr_schedule, sizeof m->lr_schedule, "%s", v[NN_A_LR_SCHEDULE].s);
    m->warmup_epochs = v[NN_A_WARMUP_EPOCHS].f;
    m->lr_step_epochs = (long)v[NN_A_LR_STEP_EPOCHS].i;
    m->lr_gamma = v[NN_A_LR_GAMMA].f;
    m->lr_min = v[NN_A_LR_MIN].f;
    m->patience = (long)v[NN_A_PATIENCE].i;
    m->best_val_loss = v[NN_A_BEST_VAL_LOSS].f;
    m->best_epoch = (long)v[NN_A_BEST_EPOCH].i;
    m->bad_epochs = (long)v[NN_A_BAD_EPOCHS].i;
    m->lr = v[NN_A_LR].f;
    m->l1 = (float)v[NN_A_L1].f;
    m->l2 = (float)v[NN_A_L2].f;
    snprintf(m->config, sizeof m->config, "%s", v[NN_A_CONFIG].s);
    snprintf(info->program_version, sizeof info->program_version, "%s",
             v[NN_A_PROGRAM_VERSION].s);
    snprintf(info->created, sizeof info->created, "%s", v[NN_A_CREATED].s);

    const char *act = v[NN_A_ACTIVATION].s, *loss = v[NN_A_LOSS].s, *opt = v[NN_A_OPT_NAME].s;
    if (nn_act_from_name(act) < 0 || (strcmp(loss, "xent") != 0 && strcmp(loss, "mse") != 0)) {
        snprintf(err, errlen, "%s: /model or its attributes are missing or malformed: "
                 "activation '%.32s' and loss '%.32s', expected relu, tanh, sigmoid or linear "
                 "and xent or mse (damaged checkpoint)", path, act, loss);
        return -1;
    }
    if (nn_opt_from_name(opt) < 0) {
        snprintf(err, errlen, "%s: /optimizer or its attributes are missing or malformed: "
                 "name '%.32s', expected sgd, gd, adam or adamw (damaged checkpoint)", path, opt);
        return -1;
    }
    char why[256];
    if (nn_layout_init(&info->lo, v[NN_A_LAYERS].a, v[NN_A_LAYERS].n - 1,
                       (nn_act)nn_act_from_name(act),
                       strcmp(loss, "xent") == 0 ? NN_LOSS_XENT : NN_LOSS_MSE, why,
                       sizeof why) != 0) {
        snprintf(err, errlen, "%s: /model or its attributes are missing or malformed: layers: "
                 "%s (damaged checkpoint)", path, why);
        return -1;
    }
    nn_opt_hparams *hp = &info->hp;
    hp->kind = (nn_opt_kind)nn_opt_from_name(opt);
    hp->lr = (float)v[NN_A_LR].f;
    hp->momentum = (float)v[NN_A_MOMENTUM].f;
    hp->beta1 = (float)v[NN_A_BETA1].f;
    hp->beta2 = (float)v[NN_A_BETA2].f;
    hp->eps = (float)v[NN_A_EPS].f;
    hp->weight_decay = (float)v[NN_A_WEIGHT_DECAY].f;
    return 0;
}

int nn_ckpt_pre_present(const nn_preprocess *pre)
{
    return pre && pre->d > 0 && pre->x_shift && strcmp(pre->method, "none") != 0;
}

/* ---------------------------------------------------------------- the state checksum */

/* The encoding: fixed-width little-endian whatever the host. */
static uint64_t put_u64(uint64_t h, uint64_t x)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (8 * i));
    return nn_fnv1a(h, b, sizeof b);
}

static uint64_t put_u32(uint64_t h, uint32_t x)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(x >> (8 * i));
    return nn_fnv1a(h, b, sizeof b);
}

static uint64_t put_f64(uint64_t h, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return put_u64(h, u);
}

/* A string: its length in bytes as uint64, then the bytes (no terminator). */
static uint64_t put_str(uint64_t h, const char *s)
{
    size_t n = strlen(s);
    return nn_fnv1a(put_u64(h, n), s, n);
}

/* A float32 array: its length as uint64, then the values. */
static uint64_t put_f32s(uint64_t h, const float *x, size_t n)
{
    h = put_u64(h, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        h = put_u32(h, u);
    }
    return h;
}

uint64_t nn_ckpt_sum_finish(uint64_t h, int version, const nn_attr_val v[NN_A_N],
                            const nn_preprocess *pre)
{
    if (version == 1) { /* the position only */
        h = put_u64(h, (uint64_t)v[NN_A_EPOCH].i);
        h = put_u64(h, (uint64_t)v[NN_A_EPOCH_STEP].i);
        h = put_u64(h, (uint64_t)v[NN_A_STEP].i);
        h = put_u64(h, v[NN_A_SEED].u);
        return put_f64(h, v[NN_A_EPOCH_LOSS_SUM].f);
    }
    for (int k = 0; k < NN_A_N_COVERED; k++) {
        const nn_attr_val *x = &v[k];
        switch (nn_ckpt_attrs[k].type) {
        case NN_AT_I64: h = put_u64(h, (uint64_t)x->i); break;
        case NN_AT_U64: h = put_u64(h, x->u); break;
        case NN_AT_F64: h = put_f64(h, x->f); break;
        case NN_AT_STR: h = put_str(h, x->s); break;
        case NN_AT_I32S:
            h = put_u64(h, (uint64_t)x->n);
            for (int i = 0; i < x->n; i++)
                h = put_u32(h, (uint32_t)x->a[i]);
            break;
        }
    }
    /* /preprocess: its method ("none" without the group), then x_shift, x_scale, y_shift and
     * y_scale (length 0 when absent). */
    int on = nn_ckpt_pre_present(pre);
    h = put_str(h, on ? pre->method : "none");
    size_t d = on ? (size_t)pre->d : 0, k = on && pre->y_shift ? (size_t)pre->k : 0;
    h = put_f32s(h, on ? pre->x_shift : NULL, d);
    h = put_f32s(h, on ? pre->x_scale : NULL, d);
    h = put_f32s(h, k ? pre->y_shift : NULL, k);
    return put_f32s(h, k ? pre->y_scale : NULL, k);
}

void nn_ckpt_checksum_covers(int version, char *buf, size_t len)
{
    if (version == 1) {
        snprintf(buf, len, "format 1: the state checksum covers the tensors and the position "
                 "only");
        return;
    }
    snprintf(buf, len, "covers every tensor and every attribute a resume or nn-predict reads "
             "(provenance attributes ");
    for (int k = NN_A_N_COVERED; k < NN_A_N; k++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", k > NN_A_N_COVERED ? ", " : "",
                 nn_ckpt_attrs[k].name);
    snprintf(buf + strlen(buf), len - strlen(buf), " are not covered)");
}
