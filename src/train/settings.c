/* settings.c: the run's resolved settings as one canonical string, "name=value;...", stored in
 * checkpoints and hashed for the banner. */
#include <stdio.h>

#include "nn_trainer.h"

void nn_trainer_settings(const nn_trainer *t, char *buf, size_t len)
{
    const nn_opt_hparams *hp = &t->hp;
    snprintf(buf, len,
             "layers=%s;activation=%s;loss=%s;optimizer=%s;lr=%.9g;momentum=%.9g;beta1=%.9g;"
             "beta2=%.9g;eps=%.9g;weight_decay=%.9g;l1=%.9g;l2=%.9g;batch=%zu;epochs=%ld;"
             "seed=%ld;val_fraction=%.9g;no_shuffle=%d;normalize=%s;dropout=%.9g;"
             "lr_schedule=%s;warmup_epochs=%.9g;lr_step_epochs=%ld;lr_gamma=%.9g;lr_min=%.9g;"
             "patience=%ld;data=%s",
             t->cfg.layers, nn_act_name(t->lo.act), nn_loss_name(t->lo.loss),
             nn_opt_name(hp->kind), t->lr.base, hp->momentum, hp->beta1, hp->beta2, hp->eps,
             hp->weight_decay, t->l1, t->l2, t->sched.batch, t->cfg.epochs, t->cfg.seed,
             t->cfg.val_fraction, t->cfg.no_shuffle, t->pre.method, t->cfg.dropout,
             t->cfg.lr_schedule, t->cfg.warmup_epochs, t->cfg.lr_step_epochs, t->cfg.lr_gamma,
             t->cfg.lr_min, t->cfg.patience, t->example ? "(built-in example)" : t->cfg.data);
}
