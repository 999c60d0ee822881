/* export.c: nn-predict --export FILE.nnq (docs/export.md): the checkpoint named by --model,
 * read by the prolog like any other mode, quantised to int8 per output channel (each layer
 * stored dense or as CSC, --export-storage) and written by rank 0 with its /preprocess; then
 * one line per layer and the sizes against the float32 weights. nn-predict --model FILE.nnq
 * and nn-serve run the file directly (nn_model_read). */
#include <stdio.h>
#include <string.h>

#include "nn_fileio.h"
#include "nn_qfile.h"
#include "nn_qmodel.h"
#include "nn_report.h"
#include "predictor.h"

/* What one layer holds: "784x256 csc  13635 of 200704 codes nonzero (6.79%), 46093
 * bytes". */
static void say_layer(const predictor *p, const nn_qmodel *q, int i)
{
    const nn_qlayer *l = &q->layer[i];
    const int8_t *c = nn_qlayer_codes(q, i);
    uint64_t nz = 0, full = (uint64_t)l->in * (uint64_t)l->out;
    for (uint64_t k = 0; k < l->nnz; k++)
        nz += c[k] != 0;
    uint64_t bytes = l->nnz + 8 * (uint64_t)l->out +
                     (l->storage == NN_QSTORE_CSC ? 2 * l->nnz + 4 * ((uint64_t)l->out + 1) : 0);
    nn_say(p->comm, p->cfg.quiet, "layer  %d: %dx%d %-4s %llu of %llu codes nonzero (%.2f%%), "
           "%llu bytes\n", i, l->in, l->out, nn_qstore_name(l->storage),
           (unsigned long long)nz, (unsigned long long)full,
           full ? 100.0 * (double)nz / (double)full : 0.0, (unsigned long long)bytes);
}

/* Rank 0 quantises and writes; 0, or -1 with err. Fills *q (freed by the caller) and *size. */
static int write_export(predictor *p, nn_qmodel *q, long long *size, char *err, size_t errlen)
{
    nn_qpick pick = strcmp(p->cfg.export_storage, "int8") == 0  ? NN_QPICK_INT8
                    : strcmp(p->cfg.export_storage, "csc") == 0 ? NN_QPICK_CSC
                                                                : NN_QPICK_AUTO;
    char why[400];
    if (nn_qmodel_quantize(q, &p->lo, p->params, pick, why, sizeof why) != 0) {
        snprintf(err, errlen, "--export %s: %s", p->cfg.export, why);
        return -1;
    }
    if (nn_qfile_write(p->cfg.export, q, &p->pre, &p->origin, err, errlen) != 0)
        return -1;
    FILE *f = fopen(p->cfg.export, "rb");
    *size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        *size = ftell(f);
    if (f)
        fclose(f);
    return 0;
}

int export_run(predictor *p)
{
    const nn_comm *c = p->comm;
    char err[ERRLEN] = "";
    int fail = 0;
    if (c->rank == 0 && nn_same_file(p->cfg.export, p->cfg.model)) {
        snprintf(err, sizeof err, "--export %s is the same file as --model; refusing to "
                 "overwrite an input", p->cfg.export);
        fail = NN_EXIT_USAGE;
    }
    if ((fail = nn_fail(c, fail, err)) != 0)
        return fail;
    if (load_model(p) != 0)
        return 1;
    if (c->rank == 0 && p->q.blob) {
        snprintf(err, sizeof err, "--model %s is an exported model already; export from the "
                 "checkpoint it came from (%.300s)", p->cfg.model, p->origin.source);
        fail = 1;
    }
    if (nn_fail(c, fail, err))
        return 1;
    nn_qmodel q;
    memset(&q, 0, sizeof q);
    long long size = 0;
    if (c->rank == 0)
        fail = write_export(p, &q, &size, err, sizeof err) != 0;
    if (nn_fail(c, fail, err)) {
        nn_qmodel_free(&q);
        return 1;
    }
    if (c->rank == 0) {
        char layers[256] = "";
        for (int i = 0; i <= p->lo.n_layers; i++)
            snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d",
                     i ? "-" : "", p->lo.sizes[i]);
        nn_say(c, p->cfg.quiet, "export %s: %s %s from %s (step %lld), preprocess %s\n",
               p->cfg.export, layers, nn_act_name(p->lo.act), p->cfg.model,
               (long long)p->origin.source_step, p->pre.method);
        for (int i = 0; i < p->lo.n_layers; i++)
            say_layer(p, &q, i);
        unsigned long long fw = (unsigned long long)p->lo.n_params * sizeof(float);
        unsigned long long ab = (unsigned long long)nn_qmodel_array_bytes(&q);
        nn_say(c, p->cfg.quiet, "size   file %lld bytes, arrays %llu bytes; float32 weights "
               "%llu bytes: %.2fx smaller (file), %.2fx (arrays)\n", size, ab, fw,
               size > 0 ? (double)fw / (double)size : 0.0, ab ? (double)fw / (double)ab : 0.0);
    }
    nn_qmodel_free(&q);
    return 0;
}
