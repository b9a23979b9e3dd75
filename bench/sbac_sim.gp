# Plots bench/results/sbac_sim.csv (written by `folio bench sbac-sim`) as three panels, the axes of
# Chainspace's evaluation: throughput vs shards, throughput vs inputs per transaction (8 shards),
# client latency vs offered load (2 shards).
# Usage: gnuplot -e "csv='bench/results/sbac_sim.csv'; png='bench/results/sbac_sim.png'" bench/sbac_sim.gp
if (!exists("csv")) csv = 'bench/results/sbac_sim.csv'
if (!exists("png")) png = 'bench/results/sbac_sim.png'

set datafile separator ','
set terminal pngcairo size 1500,480 font ',10' noenhanced
set output png
set multiplot layout 1,3 title 'Folio S-BAC in simulation (CPU costs measured on this machine; 4 replicas per shard)'
set key top left
set grid

# Columns: series,x,offered_tps,tps,p50_ms,p99_ms,committed,aborted,refused,cross_shard
stats csv using (strcol(1) eq 'shards' && $2 == 1 ? $4 : NaN) nooutput name 'one'
set title 'Throughput vs shards (1-input transactions, random shard)'
set xlabel 'shards'
set ylabel 'committed tx/s'
set logscale x 2
set logscale y 10
plot csv using (strcol(1) eq 'shards' ? $2 : NaN):4 with linespoints pt 7 title 'simulated', \
     csv using (strcol(1) eq 'shards' ? $2 : NaN):($2 * one_max) with lines dt 2 title 'linear from 1 shard'
unset logscale x
unset logscale y

set title 'Throughput vs inputs per transaction (8 shards)'
set xlabel 'inputs per transaction (each on a random shard)'
set ylabel 'committed tx/s'
set xrange [0.5:10.5]
set logscale y 10
plot csv using (strcol(1) eq 'inputs' ? $2 : NaN):4 with linespoints pt 7 title 'simulated'
unset logscale y
set autoscale x
set autoscale y

set title 'Latency vs offered load (2 shards)'
set xlabel 'offered tx/s'
set ylabel 'client latency, ms'
set logscale y 10
plot csv using (strcol(1) eq 'latency' ? $3 : NaN):5 with linespoints pt 7 title 'single-shard p50', \
     csv using (strcol(1) eq 'latency' ? $3 : NaN):6 with linespoints pt 5 title 'single-shard p99', \
     csv using (strcol(1) eq 'latency_cross' ? $3 : NaN):5 with linespoints pt 9 title '2-shard p50', \
     csv using (strcol(1) eq 'latency_cross' ? $3 : NaN):6 with linespoints pt 11 title '2-shard p99'
unset multiplot
