/* fuzz_ckpt.c: libFuzzer harness for the checkpoint reader (src/io/checkpoint.c), as a resume,
 * nn-train --verify and nn-predict use it: nn_ckpt_load with every buffer, the same with the
 * buffers discarded (nn_ckpt_read_model's way, on the image opened again), what --verify prints from a loaded checkpoint,
 * and nn-predict's /preprocess reader (src/io/preprocess_h5.c) with its checks against the model.
 *
 * The input is an HDF5 file image opened in memory (fuzz_h5.h). Afterwards no HDF5 identifier
 * may be left open. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_HARNESS "fuzz_ckpt"
#include "fuzz_h5.h"
#include "nn_checkpoint.h"
#include "nn_preprocess.h"
#include "nn_preprocess_h5.h"

/* What src/nn-train/main.c's verify() prints, into a buffer: every string must be terminated and every
 * name known. */
static void verify_text(const nn_ckpt_info *info, const float *m, const float *v)
{
    static char out[16384];
    const nn_ckpt_meta *k = &info->meta;
    char layers[256] = "";
    for (int i = 0; i <= info->lo.n_layers; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "-" : "",
                 info->lo.sizes[i]);
    snprintf(out, sizeof out,
             "OK (format %d, checksum %016llx)\n model %s %s, %s (%zu parameters)\n"
             " optimizer %s lr %g, step %ld%s\n position epoch %ld, %ld steps, of %ld\n"
             " run seed %llu, batch %ld, %d ranks, data %s\n settings %s (hash %016llx)\n"
             " written %s by nn-train %s: %s\n",
             NN_CKPT_FORMAT_VERSION, (unsigned long long)info->checksum, layers,
             nn_act_name(info->lo.act),
             info->lo.loss == NN_LOSS_XENT ? "softmax + cross-entropy" : "linear + MSE",
             info->lo.n_params, nn_opt_name(info->hp.kind), info->hp.lr, (long)k->step,
             m ? (v ? ", moments m and v" : ", momentum buffer") : "", (long)k->epoch,
             (long)k->epoch_step, (long)k->epochs, (unsigned long long)k->seed, (long)k->batch,
             (int)k->world_size, k->data, k->settings, (unsigned long long)k->config_hash,
             k->created, k->program_version, k->config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hid_t f = fuzz_h5_open(data, size);
    if (f < 0)
        return 0;
    fuzz_h5_ids before = fuzz_h5_count();
    char err[1024] = "";
    nn_ckpt_info info;
    float *p = NULL, *m = NULL, *v = NULL;
    int rc = nn_ckpt_load_fid(f, FUZZ_H5_NAME, &info, &p, &m, &v, err, sizeof err);
    fuzz_h5_say("nn_ckpt_load", rc, err);
    need(rc == 0 || rc == -1, "nn_ckpt_load returned an unknown code");
    if (rc == 0) {
        need(p != NULL, "nn_ckpt_load succeeded without parameters");
        need((m != NULL) == (nn_ckpt_has_m(&info.hp) != 0), "m present iff the optimizer has m");
        need((v != NULL) == (nn_ckpt_has_v(&info.hp) != 0), "v present iff the optimizer has v");
        verify_text(&info, m, v);
    } else {
        need(err[0] && !strchr(err, '\n'), "nn_ckpt_load failed without one line");
        need(!p && !m && !v, "nn_ckpt_load failed but handed out buffers");
    }
    free(p);
    free(m);
    free(v);
    /* nn_ckpt_read_model: the same checks, the optimizer buffers discarded. On the image
     * opened afresh: HDF5 keeps what the first read of a damaged file left in its caches (and
     * its own overruns), and the same identifier read again could answer otherwise; the
     * question here is our decision, not HDF5's state. */
    hid_t f2 = fuzz_h5_open(data, size);
    need(f2 >= 0, "the image opened once but not a second time");
    fuzz_h5_ids before2 = fuzz_h5_count();
    nn_ckpt_info info2;
    float *p2 = NULL;
    int rc2 = nn_ckpt_load_fid(f2, FUZZ_H5_NAME, &info2, &p2, NULL, NULL, err, sizeof err);
    need(rc2 == rc, "nn_ckpt_load decided differently without the optimizer buffers");
    free(p2);
    fuzz_h5_close(f2, before2, "nn_ckpt_load without the optimizer buffers");
    /* nn-predict: /preprocess, then its checks against the model's shape. */
    nn_preprocess pre;
    int rp = nn_preprocess_read_fid(f, FUZZ_H5_NAME, &pre, err, sizeof err);
    fuzz_h5_say("nn_preprocess_read", rp, err);
    if (rp == 0) {
        if (rc == 0)
            nn_preprocess_check(&pre, info.lo.sizes[0], info.lo.sizes[info.lo.n_layers], err,
                                sizeof err);
        nn_preprocess_free(&pre);
    } else {
        need(err[0] && !strchr(err, '\n'), "nn_preprocess_read failed without one line");
    }
    fuzz_h5_close(f, before, "the checkpoint readers");
    return 0;
}
