# plot-metrics.gp: the layout behind scripts/plot-metrics.sh, which extracts the columns.
#   gnuplot -c scripts/plot-metrics.gp DATA OUT.png TITLE TERMINAL MODE LOGY PANEL2_TITLE ROWS LR
# DATA: whitespace-separated rows "epoch train_loss val_loss val_accuracy lr" (NaN = no value).
# TERMINAL: pngcairo or png. MODE: accuracy, mse (regression: val_loss is the validation MSE)
# or none (no validation values). LOGY: 1 puts the loss panel on a log scale. ROWS: the number
# of epochs (up to 12 get one tic each). LR: 1 adds the learning rate on the loss panel's y2.
data = ARG1
mode = ARG5
if (ARG4 eq "pngcairo") {
    set terminal pngcairo size 1100,440 enhanced font "sans,10" linewidth 1.5
} else {
    set terminal png size 1100,440 enhanced
}
set output ARG2
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set border lc rgb "#555555"
set key top right box opaque
set xlabel "epoch"
if (ARG8 + 0 <= 12) { set xtics 1; unset mxtics } else { set mxtics }

set multiplot layout 1,2 title ARG3 noenhanced font ",12"

# Left: the training loss (data loss, without the L1/L2 penalty) and the validation loss.
set title "loss"
set ylabel "loss"
if (ARG6 eq "1") { set logscale y; set format y "10^{%L}" }
lrplot = ""
if (ARG9 eq "1") {
    set y2label "learning rate"
    set y2tics nomirror
    set ytics nomirror
    set y2range [0:*]
    set format y2 "%.1e"
    lrplot = sprintf(", '%s' using 1:5 axes x1y2 with lines dt 2 lc rgb '#777777' title 'learning rate'", data)
}
if (mode eq "none") {
    eval "plot data using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' title 'train'" . lrplot
} else {
    eval "plot data using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' title 'train', " . \
         "data using 1:3 with linespoints pt 5 ps 0.5 lc rgb '#d62728' title 'validation'" . lrplot
}
unset logscale y
set format y "%g"
unset y2label
unset y2tics
set ytics mirror

# Right: validation accuracy, or the validation MSE for regression.
if (mode eq "accuracy") {
    set title ARG7 noenhanced
    set ylabel "accuracy"
    set key bottom right
    plot data using 1:4 with linespoints pt 7 ps 0.5 lc rgb "#2ca02c" title "validation accuracy"
} else {
    if (mode eq "mse") {
        set title ARG7 noenhanced
        set ylabel "MSE"
        if (ARG6 eq "1") { set logscale y; set format y "10^{%L}" }
        plot data using 1:3 with linespoints pt 5 ps 0.5 lc rgb "#d62728" title "validation MSE"
    } else {
        set title "validation"
        unset ylabel
        unset xlabel
        unset tics
        unset grid
        unset key
        set label 1 ARG7 at graph 0.5, 0.5 center noenhanced
        plot [0:1] [0:1] -1 notitle
    }
}
unset multiplot
