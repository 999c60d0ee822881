/* ckpt_attrs.c: the table of a checkpoint's attributes (nn_ckpt_fields.def), the rows the
 * writer fills itself, the model and optimizer a reader builds from them, and the state
 * checksum's encoding of them (nn_ckpt_attrs.h, docs/checkpoint.md). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nn_ckpt_attrs.h"

const nn_attr_spec nn_ckpt_attrs[NN_A_N] = {
#define NN_CKPT_FIELD(field, group, name, type, len, ...) \
    [NN_A_##field] = {group, name, NN_AT_##type, len, offsetof(nn_ckpt_meta, field)},
#include "nn_ckpt_fields.def"
#undef NN_CKPT_FIELD
};

/* An I32S value is an nn_ckpt_sizes: its row may not promise the reader more entries. */
#define NN_CKPT_FIELD(field, group, name, type, len, ...)                                      \
    _Static_assert(NN_AT_##type != NN_AT_I32S || (len) <= NN_MAX_LAYERS + 1,                  \
                   #field ": an int32 array holds at most NN_MAX_LAYERS + 1 entries");
#include "nn_ckpt_fields.def"
#undef NN_CKPT_FIELD

void nn_ckpt_meta_finish(nn_ckpt_meta *meta, const nn_layout *lo, const nn_opt_hparams *hp,
                         const char *created)
{
    meta->format_version = NN_CKPT_FORMAT_VERSION;
    meta->layers.n = lo->n_layers + 1;
    memcpy(meta->layers.a, lo->sizes, (size_t)meta->layers.n * sizeof *lo->sizes);
    snprintf(meta->activation, sizeof meta->activation, "%s", nn_act_name(lo->act));
    snprintf(meta->output, sizeof meta->output, "%s",
             lo->loss == NN_LOSS_XENT ? "softmax" : "linear");
    snprintf(meta->loss, sizeof meta->loss, "%s", nn_loss_name(lo->loss));
    snprintf(meta->optimizer, sizeof meta->optimizer, "%s", nn_opt_name(hp->kind));
    meta->opt_step = meta->step;
    meta->config_hash = nn_ckpt_config_hash(meta->settings);
    snprintf(meta->program, sizeof meta->program, "nn-train");
    snprintf(meta->program_version, sizeof meta->program_version, "%s", NN_VERSION);
    snprintf(meta->created, sizeof meta->created, "%s", created);
}

int nn_ckpt_meta_model(nn_ckpt_info *info, const char *path, char *err, size_t errlen)
{
    const nn_ckpt_meta *m = &info->meta;
    info->format_version = (int)m->format_version;
    const char *act = m->activation, *loss = m->loss, *opt = m->optimizer;
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
    if (nn_layout_init(&info->lo, m->layers.a, m->layers.n - 1, (nn_act)nn_act_from_name(act),
                       strcmp(loss, "xent") == 0 ? NN_LOSS_XENT : NN_LOSS_MSE, why,
                       sizeof why) != 0) {
        snprintf(err, errlen, "%s: /model or its attributes are missing or malformed: layers: "
                 "%s (damaged checkpoint)", path, why);
        return -1;
    }
    nn_opt_hparams *hp = &info->hp;
    hp->kind = (nn_opt_kind)nn_opt_from_name(opt);
    hp->lr = (float)m->lr;
    hp->momentum = (float)m->momentum;
    hp->beta1 = (float)m->beta1;
    hp->beta2 = (float)m->beta2;
    hp->eps = (float)m->eps;
    hp->weight_decay = (float)m->weight_decay;
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

uint64_t nn_ckpt_sum_finish(uint64_t h, int version, const nn_ckpt_meta *meta,
                            const nn_preprocess *pre)
{
    if (version == 1) { /* the position only */
        h = put_u64(h, (uint64_t)meta->epoch);
        h = put_u64(h, (uint64_t)meta->epoch_step);
        h = put_u64(h, (uint64_t)meta->step);
        h = put_u64(h, meta->seed);
        return put_f64(h, meta->epoch_loss_sum);
    }
    for (int k = 0; k < NN_A_N_COVERED; k++) {
        if (nn_ckpt_attr_since(k) > version)
            continue;
        const void *x = nn_ckpt_attr_in(meta, k);
        switch (nn_ckpt_attrs[k].type) {
        case NN_AT_I64: h = put_u64(h, (uint64_t)*(const int64_t *)x); break;
        case NN_AT_U64: h = put_u64(h, *(const uint64_t *)x); break;
        case NN_AT_F64: h = put_f64(h, *(const double *)x); break;
        case NN_AT_STR: h = put_str(h, x); break;
        case NN_AT_I32S: {
            const nn_ckpt_sizes *a = x;
            h = put_u64(h, (uint64_t)a->n);
            for (int i = 0; i < a->n; i++)
                h = put_u32(h, (uint32_t)a->a[i]);
            break;
        }
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
    h = put_f32s(h, k ? pre->y_scale : NULL, k);
    if (version < 3)
        return h;
    size_t nc = on && pre->class_weight ? (size_t)pre->nc : 0; /* format 3: class weights */
    h = put_f32s(h, nc ? pre->class_weight : NULL, nc);
    if (version < 4)
        return h;
    size_t r = on && pre->x_min && pre->x_max ? d : 0; /* format 4: the training range */
    h = put_f32s(h, r ? pre->x_min : NULL, r);
    return put_f32s(h, r ? pre->x_max : NULL, r);
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
