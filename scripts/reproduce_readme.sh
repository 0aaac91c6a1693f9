#!/usr/bin/env bash
# Regenerates every number and figure of README.md: each README section's own command, in README
# order, one subfolder per section under ${OUT:-results/readme}.
#
#   bash scripts/reproduce_readme.sh --list                 # sections, commands, run times
#   bash scripts/reproduce_readme.sh                        # everything (~33 h on a 2-core CPU: --list totals it)
#   bash scripts/reproduce_readme.sh surrogates baselines   # only these sections
#   OUT=/data/readme bash scripts/reproduce_readme.sh
#
# Resumable: a section that finished has OUT/<section>/DONE (with its wall time) and is skipped;
# delete that file to run it again. An interrupted section is re-run, and its commands resume
# (training from its checkpoints, fig4_table / sweep skip finished runs, design reuses its state).
# Sections that read checkpoints of another (baselines, sensitivity, ... read surrogates) refuse
# to start before it is DONE. Run times are those README.md reports for each command on the
# shared 2-core CPU ("est." where README gives none: an estimate from its parts); compare them
# with the DONE files. Needs the venv of scripts/setup_env.sh (activated here if present).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-results/readme}"
S="$OUT/surrogates"    # the default run's checkpoints, read by later sections

SECTIONS=(surrogates fig4_table divergence_arms piml medium long_horizon physics_validation dataset_convergence pfhub3a
          physics_speed data baselines design sensitivity fidelity sweep train_speed reliability)

# README heading each section reproduces.
declare -A TITLE=(
  [surrogates]='Surrogates on dendrite_sim/small (Fig. 4, one seed; parity and morphology figures; README: 2.5.0)'
  [fig4_table]='The like-for-like Fig. 4 table (3 seeds)'
  [divergence_arms]='Fig. 4: the divergent CNN-2 rollouts and the loss / padding arms (docs/training.md)'
  [piml]='PIML against DDML: data only, the Faraday term and the derivative-informed term (3 seeds each); the FNO run; the moving average of the weights'
  [medium]='PIML against DDML on dendrite_sim/medium: 1000 training trajectories, 25 % and 100 %'
  [long_horizon]='Long horizons: rollouts to 420 s'
  [physics_validation]='Physics 2.0: validation table, Sand transition at the dataset width and at half of it'
  [dataset_convergence]='Physics 2.0: dt- and dx-convergence rows (Li and Zn)'
  [pfhub3a]='Physics 2.0: PFHub 3a and its speed-up'
  [physics_speed]='Physics 2.0: speed of the electroneutral model, FiPy peer'
  [data]='Data: dataset statistics, pipeline throughput'
  [baselines]='Baselines and speed-up'
  [design]='Design through the simulator'
  [sensitivity]='Sensitivities'
  [fidelity]='Sensitivity fidelity over a held-out panel'
  [sweep]='Ablation sweep, 2-fold nested CV'
  [train_speed]='Training and inference speed'
  [reliability]='Reliability (fault injection)'
)

# Run time in minutes (README's measurement, or an estimate where marked in TIME_NOTE).
declare -A MINUTES=(
  [surrogates]=35 [fig4_table]=100 [divergence_arms]=95 [piml]=475 [medium]=970 [long_horizon]=15 [physics_validation]=278 [dataset_convergence]=150
  [pfhub3a]=5 [physics_speed]=5 [data]=50 [baselines]=1 [design]=520 [sensitivity]=7
  [fidelity]=35 [sweep]=32 [train_speed]=5 [reliability]=32
)
declare -A TIME_NOTE=(
  [surrogates]='README: 2.5.0 on the AVX-512 host of sessions 26-27: the build 4.2 min and CNN-2 ~9.5 min (in the end-to-end run), CNN-1 8.4 min, evaluate 22 s, so ~23 min alone; 2.4.0 on an earlier host: 25 min with the build present, beside a nice-19 test run, + 8.6 min for its build'
  [fig4_table]='README: 64 min for the 6 CNN-1 and concat runs and the table, beside other jobs (the 3 CNN-2 runs reused from divergence_arms: ~40 min); est.: ~100 min for all 9'
  [divergence_arms]='README: 7 runs of ~10-17 min (3 dice_squared, 3 bce, 1 physical padding at 1.8x the step time) and three tables of ~1 min, 80 min on 2026-12-04, partly beside a test run; est.: + ~14 min for the unrolled run and two evaluations'
  [piml]='README: the small_tangents build 65 min beside two runs; 3 Faraday runs ~12 min each; 3 derivative runs 36-46 min each beside two others; 27 evaluations, fidelity runs reusing the simulator side, tangent_mismatch runs of ~1 min each (2026-12-04); FNO ~20 min and its fidelity run 6 min; weight 0.0003 (2026-12-05): 3 runs of 1000 steps ~20-30 min each, one of 2000 steps ~30 min alone, evaluations ~3 min each; data-only seed 1 at 2000 steps 23 min beside the test suite; the moving average (session 33, a host ~2x slower than the AVX-512 one): 3 CNN-2 runs of ~14-18 min, est. ~6 min per average_vs_iterate with the simulator side reused'
  [medium]='README: the 2.5.0 medium build 37.3 min alone and data only at 100 % 10.0-11.4 min per seed, fidelity ~1.5 min (session 28); on 2.5.0 the Faraday arm 11.1-11.6 min per run alone at 25 % or 100 % (session 30), the derivative arm (0.0001, share 0.25) at 25 % 20.1-20.6 min per seed alone (session 30); the 2.4.0 medium build 40.7 min on two Beam workers (53.8 min on the rebuild of 2026-12-05 evening), medium_tangents 29.6 min (its 8 tangent chunks; the rest read from the medium cache), data-only 100 % 17-19 min per seed, Faraday 20 min, derivative 28-40 min per run, 25 % 12-15 min per run (derivative ~28-30), twenty-one fidelity runs of ~4 min, two generation benchmarks ~11 min (2026-12-05); weight 0.0001 at 100 % ~42 min per seed, at 25 % ~55 min per seed (seed 0 59 min beside the test suite, seed 1 93 min beside a surrogates rerun and the test suite, seed 2 41 min alone), their fidelity runs ~3 min, two evaluations ~2 min each, the medium statistics ~1 min (2026-12-06); the moving average (session 34, a host ~2x slower than the AVX-512 one): the medium build 57.5 min with 20 of its 176 chunks already cached (~65 min projected for all), est. ~20 min per training run alone and ~12 min per average_vs_iterate with the simulator side reused'
  [long_horizon]='README: the small_long 2.4.0 build 4.5 min and 8 rollouts of ~15 s (2026-12-04); est.: 15 rollouts'
  [physics_validation]='README: the default command 112 min on 2.4.0 (Sand 92, transition 18, the rest 1.3); est.: half width ~150 (20 mA/cm^2 alone 59); the transition with the converged scheme 9 min (session 31), with its cheaper closure 6.7 min alone (session 32)'
  [dataset_convergence]='README: 8.5 min on 2.5.0 alone on the AVX-512 host (session 27); 14 min on 2.4.0 beside a training run (Li 5.4 + 2.5, Zn 3.8 + 2.2); the constant-current runs ~2.5 min (Li) and ~9 min (Zn) beside a training run (2026-12-06); the coupling, fine-step and half-width runs 3 / 5 / 13 min beside a training run (session 30); the converged scheme (session 31, beside a training run and the test suite): Li constant current 8.4 min, Li three stages 10.7, Li constant current at dx 0.5 12.3, Li 8 draws 12.7, Zn constant current 4.9, Zn 8 draws 14.0, Zn three stages 5.0, Li three stages at dx 0.5 2.6 for the dx variant alone (est.: ~5 with the half-width variant); the cheaper closure (session 32, alone): Li constant current 2.7 min, Li three stages 2.7, Zn constant current 2.6, Li 8 draws 10.0 (5.2 + 4.7 for the 12-iteration variants), Zn 8 draws 4.9, Li constant current at dx 0.5 1.7; python -m benchmarks.step_cost --variants sink, ~6 min, prints only (docs/physics.md)'
  [pfhub3a]='README: 44 s run + 44.5 s / 219.8 s speed paths'
  [physics_speed]='est.: not measured in README (compile 15 s + run 16 s + FiPy)'
  [data]='est.: not measured in README; benchmarks.step_cost 2 min 19 s; dataset_solver_iterations 27 + 10 + 3 + ~3 min alone (2026-12-06)'
  [baselines]='README: 1 min (38 s on 2.5.0, session 27)'
  [design]='README: 91 s + 20 min beside the test suite + 15 min + 37 min beside a training run (2.4.0); docs/design.md: 2 x ~5 min landscape scans and 2 x ~5 min with the diffuse share, beside a training run; past_sand_resolution ~7 min, partly beside a training run; its half-width dt check (--runs half_dt4 half_dt8) ~10 min alone, est. (12 min for dt/8 beside other jobs); the resolved landscape 24 min at nice 19 beside the test suite; pulse_resolved seeds 0-1 54 min and seed 2 37 min, partly beside the test suite, at 8 salt iterations; seed 0 at 24 salt iterations with L-BFGS-B, float32, 60 min alone; past_sand_dt_salt24 ~10 min; three_stage_resolved seed 0: L-BFGS-B alone ~33 min beside the test suite (float32), all four methods est. 1.5-2 h alone in float32 (docs/design.md) (2026-12-06); Adam with restarts on pulse_resolved seed 0 15 min alone, three_stage_resolved seed 0 22 min partly beside the test suite, pulse_resolved seed 1 (four methods) 27 min alone (session 27); three_stage_resolved BO with 30 calls 13 min alone, Adam on pulse_resolved seed 1 after the no-repeat change 14.5 min alone (session 28); multistep_resolved: seeds 0 and 1, each as a 10-call and a 40-call invocation run two at a time, 41-68 min each, the vertices ~5 min (session 35); from the baseline (session 36): see docs/design.md; three-stage BO from the baseline (session 37) 58 min beside the test suite'
  [sensitivity]='README: 4.7 min on 2.5.0 alone (session 27); 7 min on 2.4.0 beside a nice-19 test run (14 min the run before, beside a nice-19 job)'
  [fidelity]='README: 18 min on 2.5.0 alone (session 27); 35 min on 2.4.0 beside a training run and a nice-19 test run (56 min the run before)'
  [sweep]='README: 32 min on 2.5.0 beside the design checks and a test run (session 29); 69 min on 2.4.0 beside a test run (39 min on 2.3.0)'
  [train_speed]='est.: not measured in README'
  [reliability]='README: four invocations of at most ~8 min'
)

# Sections whose checkpoints a section reads.
declare -A NEEDS=(
  [piml]='surrogates fig4_table fidelity' [medium]='fidelity' [long_horizon]='surrogates fig4_table divergence_arms piml' [baselines]='surrogates' [design]='surrogates'
  [sensitivity]='surrogates' [fidelity]='surrogates'
)

# One command per line, as README gives it, with its outputs under OUT/<section>.
commands() {
  local d="$OUT/$1"
  case "$1" in
    surrogates) cat <<EOF
python launch.py --config configs/cnn2.py --workdir $S/cnn2
python launch.py --config configs/cnn1.py --workdir $S/cnn1
python -m experiments.evaluate --checkpoint $S/cnn2 --cnn1_checkpoint $S/cnn1 --out $d/eval
EOF
    ;;
    fig4_table) cat <<EOF
python -m experiments.fig4_table --config configs/fig4.py --config.workdir $d --config.common_overrides.train.num_steps=1000 --config.common_overrides.eval.every_steps=125
EOF
    ;;
    divergence_arms) cat <<EOF
python -m experiments.fig4_table --config configs/fig4.py --config.models='("cnn2",)' --config.workdir $d/dice_squared --config.common_overrides.train.num_steps=1000 --config.common_overrides.eval.every_steps=125 --config.common_overrides.loss.morph=dice_squared
python -m experiments.fig4_table --config configs/fig4.py --config.models='("cnn2",)' --config.workdir $d/bce --config.common_overrides.train.num_steps=1000 --config.common_overrides.eval.every_steps=125 --config.common_overrides.loss.morph=bce
python -m experiments.fig4_table --config configs/fig4.py --config.models='("cnn2",)' --config.seeds='(2,)' --config.workdir $d/physical_padding --config.common_overrides.train.num_steps=1000 --config.common_overrides.eval.every_steps=125 --config.common_overrides.model.padding=physical --config.common_overrides.loss.morph=dice_squared
python launch.py --config configs/default.py --workdir $d/unroll2_seed2 --config.loss.morph=dice_squared --config.seed=2 --config.train.num_steps=1000 --config.train.warmup_steps=100 --config.eval.every_steps=125 --config.eval.rollout_splits='("validation",)' --config.train.unroll_steps=2
python -m experiments.evaluate --checkpoint $d/unroll2_seed2 --out $d/eval_unroll2 --config.splits='("train","test","ood")' --config.figures.enabled=False
python -m experiments.evaluate --checkpoint $d/dice_squared/cnn2_seed2/all --out $d/eval_test123 --config.splits='("test",)' --config.figures.parity_splits='("test",)' --config.figures.trajectory_id=123 --config.figures.morphology_times_s='(120.0, 150.0, 180.0, 210.0)'
EOF
    ;;
    piml)
    local C="--config.train.num_steps=1000 --config.train.warmup_steps=100 --config.eval.every_steps=125"
    for seed in 0 1 2; do
      echo "python launch.py --config configs/arms/physics.py --workdir $d/physics_seed$seed --config.seed=$seed $C"
      echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w001_seed$seed --config.seed=$seed --config.train.derivative_weight=0.001 $C"
    done
    for seed in 0 1 2; do
      for arm in data_only physics derivative_w001; do
        local w="$d/${arm}_seed$seed"
        [[ $arm == data_only ]] && w="$OUT/fig4_table/cnn2_seed$seed/all"
        echo "python -m experiments.evaluate --checkpoint $w --out $d/eval_${arm}_seed$seed --config.splits=\"('test',)\" --config.figures.enabled=False"
        echo "python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $w --out $d/fidelity_${arm}_seed$seed --physics_from $OUT/fidelity"
        echo "python -m experiments.tangent_mismatch --checkpoint $w --out $d/tangents_${arm}_seed$seed"
      done
    done
    # Weight 0.0003 (2026-12-05): 3 seeds at 1000 steps, one at the default 2000, beside the default
    # data-only run (surrogates/cnn2, 2000 steps, seed 0); test and ood, the panel, the tangents.
    for seed in 0 1 2; do
      echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w0003_seed$seed --config.seed=$seed --config.train.derivative_weight=0.0003 $C"
    done
    echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w0003_2000steps_seed0 --config.seed=0 --config.train.derivative_weight=0.0003"
    for w in derivative_w0003_seed0 derivative_w0003_seed1 derivative_w0003_seed2 derivative_w0003_2000steps_seed0; do
      echo "python -m experiments.evaluate --checkpoint $d/$w --out $d/eval_$w --config.splits=\"('test','ood')\" --config.figures.enabled=False"
      echo "python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $d/$w --out $d/fidelity_$w --physics_from $OUT/fidelity"
      echo "python -m experiments.tangent_mismatch --checkpoint $d/$w --out $d/tangents_$w"
    done
    echo "python -m experiments.tangent_mismatch --checkpoint $S/cnn2 --out $d/tangents_data_only_2000steps_seed0"
    echo "python launch.py --config configs/cnn2.py --workdir $d/data_only_2000steps_seed1 --config.seed=1"
    echo "python -m experiments.evaluate --checkpoint $d/data_only_2000steps_seed1 --out $d/eval_data_only_2000steps_seed1 --config.splits=\"('test','ood')\" --config.figures.enabled=False"
    echo "python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $d/data_only_2000steps_seed1 --out $d/fidelity_data_only_2000steps_seed1 --physics_from $OUT/fidelity"
    echo "python -m experiments.tangent_mismatch --checkpoint $d/data_only_2000steps_seed1 --out $d/tangents_data_only_2000steps_seed1"
    for w in physics_seed0 physics_seed1 physics_seed2 derivative_w001_seed0 derivative_w001_seed1 derivative_w001_seed2; do
      echo "python -m experiments.evaluate --checkpoint $d/$w --out $d/ood_$w --config.splits=\"('ood',)\" --config.figures.enabled=False"
    done
    for seed in 0 1 2; do
      echo "python -m experiments.evaluate --checkpoint $OUT/fig4_table/cnn2_seed$seed/all --out $d/ood_data_only_seed$seed --config.splits=\"('ood',)\" --config.figures.enabled=False"
    done
    echo "python launch.py --config configs/fno.py --workdir $d/fno_seed0 --config.seed=0 $C"
    echo "python -m experiments.evaluate --checkpoint $d/fno_seed0 --out $d/eval_fno_seed0 --config.splits=\"('test','ood')\" --config.figures.enabled=False"
    echo "python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $d/fno_seed0 --out $d/fidelity_fno_seed0 --physics_from $OUT/fidelity"
    # The moving average of the weights (session 33): the default CNN-2 with train.ema_decay=0.995,
    # every validation checkpoint kept; the average against the same run's raw iterate.
    for seed in 0 1 2; do
      echo "python launch.py --config configs/cnn2.py --workdir $d/ema_seed$seed --config.seed=$seed --config.train.ema_decay=0.995 --config.checkpoint.max_to_keep=9"
      echo "python -m experiments.average_vs_iterate --checkpoint $d/ema_seed$seed --out $d/average_vs_iterate_seed$seed --fidelity --physics_from $OUT/fidelity"
    done
    ;;
    medium)
    # Built on two local Beam workers; medium_tangents then simulates only its 8 tangent chunks.
    local B="--data_dir=${DENDRAX_DATA_DIR:-$HOME/tensorflow_datasets} -- --runner=DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing"
    echo "python -m data_builders.dendrite_sim.fill_cache --config=medium $B > $d/build_medium.txt"
    echo "python -m data_builders.dendrite_sim.fill_cache --config=medium_tangents $B > $d/build_medium_tangents.txt"
    local R="--config.eval.rollout_splits=('validation','test','ood')"
    for seed in 0 1 2; do
      echo "python launch.py --config configs/cnn2.py --workdir $d/data_only_100_seed$seed --config.data.name=dendrite_sim/medium --config.seed=$seed \"$R\""
    done
    for seed in 0 1 2; do
      echo "python launch.py --config configs/arms/physics.py --workdir $d/physics_100_seed$seed --config.data.name=dendrite_sim/medium --config.seed=$seed \"$R\""
    done
    echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_100_seed0 --config.data.name=dendrite_sim/medium_tangents \"$R\""
    echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w00005_100_seed0 --config.data.name=dendrite_sim/medium_tangents --config.train.derivative_weight=0.00005 \"$R\""
    for seed in 0 1 2; do   # a fixed quarter of each batch from the trajectories with tangents
      echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_share25_100_seed$seed --config.data.name=dendrite_sim/medium_tangents --config.train.derivative_share=0.25 --config.seed=$seed \"$R\""
    done
    for seed in 0 1 2; do   # the same share at a third of the weight
      echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w0001_share25_100_seed$seed --config.data.name=dendrite_sim/medium_tangents --config.train.derivative_share=0.25 --config.train.derivative_weight=0.0001 --config.seed=$seed \"$R\""
    done
    for seed in 0 1 2; do   # 25 % of the training split
      echo "python launch.py --config configs/cnn2.py --workdir $d/data_only_25_seed$seed --config.data.name=dendrite_sim/medium --config.data.train_split='train[:25%]' --config.seed=$seed \"$R\""
      echo "python launch.py --config configs/arms/physics.py --workdir $d/physics_25_seed$seed --config.data.name=dendrite_sim/medium --config.data.train_split='train[:25%]' --config.seed=$seed \"$R\""
    done
    echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w00005_25_seed0 --config.data.name=dendrite_sim/medium_tangents --config.data.train_split='train[:25%]' --config.train.derivative_weight=0.00005 \"$R\""
    echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_share25_25_seed0 --config.data.name=dendrite_sim/medium_tangents --config.data.train_split='train[:25%]' --config.train.derivative_share=0.25 \"$R\""
    for seed in 0 1 2; do   # weight 0.0001, share 0.25 at 25 %
      echo "python launch.py --config configs/arms/derivative.py --workdir $d/derivative_w0001_share25_25_seed$seed --config.data.name=dendrite_sim/medium_tangents --config.data.train_split='train[:25%]' --config.train.derivative_share=0.25 --config.train.derivative_weight=0.0001 --config.seed=$seed \"$R\""
    done
    # The moving average of the weights (session 34): data only at 100 % with train.ema_decay=0.995,
    # every validation checkpoint kept; the average against the same run's raw iterate, with the panel.
    for seed in 0 1 2; do
      echo "python launch.py --config configs/cnn2.py --workdir $d/ema_100_seed$seed --config.data.name=dendrite_sim/medium --config.seed=$seed --config.train.ema_decay=0.995 --config.checkpoint.max_to_keep=9 \"$R\""
      echo "python -m experiments.average_vs_iterate --checkpoint $d/ema_100_seed$seed --out $d/average_vs_iterate_100_seed$seed --fidelity --physics_from $OUT/fidelity"
    done
    echo "python -m experiments.dataset_stats --config.dataset=dendrite_sim/medium --out $d/stats_medium"
    for seed in 0 1; do   # where ood's error comes from: per_trajectory.csv's true_diffuse_fraction
      echo "python -m experiments.evaluate --checkpoint $d/derivative_w0001_share25_100_seed$seed --out $d/eval_derivative_w0001_share25_100_seed$seed --config.splits=\"('test','ood')\" --config.figures.enabled=False"
    done
    for p in pulse constant_voltage; do   # docs/data.md: the build time against the chunk size
      echo "python -m benchmarks.dataset_throughput --what=generation --config=medium --chemistry=Li --protocol=$p --gen_batch=8,32 --gen_calls=1 > $d/generation_li_$p.txt"
    done
    for w in data_only_100_seed0 data_only_100_seed1 data_only_100_seed2 physics_100_seed0 physics_100_seed1 physics_100_seed2 \
        derivative_100_seed0 derivative_w00005_100_seed0 derivative_share25_100_seed0 derivative_share25_100_seed1 derivative_share25_100_seed2 \
        derivative_w0001_share25_100_seed0 derivative_w0001_share25_100_seed1 derivative_w0001_share25_100_seed2 data_only_25_seed0 data_only_25_seed1 data_only_25_seed2 physics_25_seed0 physics_25_seed1 \
        physics_25_seed2 derivative_w00005_25_seed0 derivative_share25_25_seed0 derivative_w0001_share25_25_seed0 derivative_w0001_share25_25_seed1 derivative_w0001_share25_25_seed2; do
      echo "python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $d/$w --out $d/fidelity_$w --physics_from $OUT/fidelity"
    done
    ;;
    long_horizon)
    echo "python -m experiments.long_horizon --checkpoint $S/cnn2 --out $d/default_cnn2"
    for w in cnn2_seed0 cnn2_seed1 cnn2_seed2 concat_seed0 cnn1_seed0; do
      echo "python -m experiments.long_horizon --checkpoint $OUT/fig4_table/$w/all --out $d/fig4_$w"
    done
    for seed in 0 1 2; do
      echo "python -m experiments.long_horizon --checkpoint $OUT/divergence_arms/dice_squared/cnn2_seed$seed/all --out $d/dice_squared_cnn2_seed$seed"
    done
    for w in physics_seed0 physics_seed1 physics_seed2 derivative_w001_seed0 derivative_w001_seed1 derivative_w001_seed2 fno_seed0 derivative_w0003_2000steps_seed0; do
      echo "python -m experiments.long_horizon --checkpoint $OUT/piml/$w --out $d/$w"
    done
    ;;
    physics_validation) cat <<EOF
python -m experiments.validate_physics --config configs/validate_physics.py --out $d/validation
python -m experiments.validate_physics --config configs/validate_physics.py --config.checks=sand_transition --config.sand_transition.dx_um=0.5 --config.sand_transition.interface_width_um=1.25 --out $d/sand_transition_half_width
python -m experiments.validate_physics --config configs/validate_physics.py --config.checks=sand_transition --config.sand_transition.reaction_xi_min=0.1 --config.sand_transition.salt_sink=implicit --config.sand_transition.solver_iterations=24 --config.sand_transition.steps_per_sand_time=1600 --out $d/sand_transition_converged_scheme
python -m experiments.validate_physics --config configs/validate_physics.py --config.checks=sand_transition --config.sand_transition.reaction_xi_min=0.1 --config.sand_transition.salt_sink=implicit --config.sand_transition.solver_iterations=24 --config.sand_transition.steps_per_sand_time=1600 --config.sand_transition.sink_final_solve=False --config.sand_transition.sink_derivative_iterations=6 --out $d/sand_transition_cheaper_closure
EOF
    ;;
    dataset_convergence) cat <<EOF
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Li --config.variants='("dt=0.1", "dt=0.05", "dt=0.025", "dx=0.5", "dx=0.5,dt=0.05", "dx=0.5,width=1.25")'
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Zn --config.variants='("dt=0.1", "dt=0.05", "dt=0.025", "dx=0.5", "dx=0.5,dt=0.05")' --config.chemistry=Zn
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Li_constant_current --config.variants='("dt=0.1", "dt=0.05", "dt=0.025")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Zn_constant_current --config.variants='("dt=0.1", "dt=0.05", "dt=0.025")' --config.protocol=constant_current --config.chemistry=Zn
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Li_constant_current_coupling4 --config.variants='("dt=0.1,coupling=4", "dt=0.05,coupling=4", "dt=0.025,coupling=4")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Li_constant_current_fine_dt --config.variants='("dt=0.025", "dt=0.0125", "dt=0.00625")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/Li_constant_current_half_width --config.variants='("dx=0.5,width=1.25,dt=0.05", "dx=0.5,width=1.25,dt=0.025", "dx=0.5,width=1.25,dt=0.0125")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Li_constant_current --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Li --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025")'
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Li_constant_current_dx --config.variants='("xi_min=0.1,sink=2,salt=24,dx=0.5,dt=0.1", "xi_min=0.1,sink=2,salt=24,dx=0.5,width=1.25,dt=0.1")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Li_constant_current_draws --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025", "dt=0.1", "dt=0.05", "dt=0.025")' --config.protocol=constant_current --config.cases='(2,)' --config.noise_keys=8
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Zn_constant_current --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025")' --config.protocol=constant_current --config.chemistry=Zn
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Zn_constant_current_draws --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025")' --config.protocol=constant_current --config.chemistry=Zn --config.cases='(2,)' --config.noise_keys=8
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Zn --config.variants='("xi_min=0.1,sink=2,salt=24,dt=0.1", "xi_min=0.1,sink=2,salt=24,dt=0.05", "xi_min=0.1,sink=2,salt=24,dt=0.025")' --config.chemistry=Zn
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/converged_scheme/Li_dx --config.variants='("xi_min=0.1,sink=2,salt=24,dx=0.5,dt=0.1", "xi_min=0.1,sink=2,salt=24,dx=0.5,width=1.25,dt=0.1")'
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Li_constant_current --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.1", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.05", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.025")' --config.protocol=constant_current
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Li --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.1", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.05", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.025")'
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Zn_constant_current --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.1", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.05", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.025")' --config.protocol=constant_current --config.chemistry=Zn
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Li_constant_current_draws --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.1", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.05", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.025", "xi_min=0.1,sink=2,salt=12,dt=0.1", "xi_min=0.1,sink=2,salt=12,dt=0.05", "xi_min=0.1,sink=2,salt=12,dt=0.025")' --config.protocol=constant_current --config.cases='(2,)' --config.noise_keys=8
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Zn_constant_current_draws --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.1", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.05", "xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dt=0.025")' --config.protocol=constant_current --config.chemistry=Zn --config.cases='(2,)' --config.noise_keys=8
python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out $d/cheaper_closure/Li_constant_current_dx --config.variants='("xi_min=0.1,sink=2,closure=linear,salt=24,deriv=6,dx=0.5,dt=0.1",)' --config.protocol=constant_current
EOF
    ;;
    pfhub3a) cat <<EOF
python -m experiments.pfhub3a --config configs/pfhub3a.py --output_dir $d/run
python -m benchmarks.pfhub3a_speed > $d/pfhub3a_speed.txt
EOF
    ;;
    physics_speed) cat <<EOF
python -m benchmarks.physics_speed --quick --skip_pfhub > $d/physics_speed.txt
EOF
    ;;
    data) cat <<EOF
python -m experiments.dataset_stats --out $d/stats
python -m benchmarks.dataset_throughput > $d/dataset_throughput.txt
python -m benchmarks.step_cost --trace $d/step_trace > $d/step_cost.txt
python -m benchmarks.dataset_solver_iterations --builder_config small --variants transport_iterations=4 transport_iterations=8 transport_iterations=16 --out $d/solver_small > $d/solver_small.txt
python -m benchmarks.dataset_solver_iterations --builder_config small --groups Li-constant_current Zn-constant_current --variants transport_iterations=8 transport_iterations=12 transport_iterations=16 transport_iterations=32 --out $d/solver_cc > $d/solver_cc.txt
python -m benchmarks.dataset_solver_iterations --panel_point 12 --variants transport_iterations=4 transport_iterations=8 transport_iterations=16 transport_iterations=32,potential_iterations=32 --out $d/solver_p12 > $d/solver_p12.txt
python -m benchmarks.dataset_solver_iterations --panel_point 12 --variants transport_iterations=32,potential_iterations=32 transport_iterations=32,potential_iterations=32,dtype=float64 --out $d/solver_p12_precision > $d/solver_p12_precision.txt
EOF
    ;;
    baselines) cat <<EOF
python -m experiments.baselines --checkpoint $S/cnn2 --cnn1_checkpoint $S/cnn1 --out $d
EOF
    ;;
    design) cat <<EOF
python -m experiments.design --config configs/design/pulse_small.py --out $d/pulse_small
python -m experiments.design --config configs/design/electrolyte.py --checkpoint $S/cnn2 --config.seeds='(0,1)' --config.budget_sim_calls=10 --out $d/electrolyte
python -m experiments.design --config configs/design/three_stage.py --config.seeds='(0,1)' --config.budget_sim_calls=15 --out $d/three_stage
python -m experiments.design --config configs/design/pulse.py --out $d/pulse
python -m benchmarks.design_landscape --max_voltage_v=0.5 --out $d/landscape_cutoff_0.5v.json
python -m benchmarks.design_landscape --max_voltage_v=2.0 --out $d/landscape_cutoff_2v.json
python -m benchmarks.design_landscape --max_voltage_v=0.5 --currents 20 30 40 --amplitudes 40 --duties 0.5 --on_times 5 --out $d/landscape_diffuse_0.5v.json
python -m benchmarks.design_landscape --max_voltage_v=2.0 --currents 20 30 40 --amplitudes 40 --duties 0.5 --on_times 5 --out $d/landscape_diffuse_2v.json
python -m benchmarks.past_sand_resolution --out $d/past_sand
python -m benchmarks.past_sand_resolution --runs half_dt4 half_dt8 --out $d/past_sand_dt
python -m benchmarks.design_landscape --resolved --currents 20 30 --amplitudes 40 --duties 0.5 --on_times 5 --out $d/landscape_resolved.json
python -m experiments.design --config configs/design/pulse_resolved.py --out $d/pulse_resolved
python -m experiments.design --config configs/design/pulse_resolved.py --config.seeds='(2,)' --out $d/pulse_resolved_seed2
python -m benchmarks.past_sand_resolution --runs half_dt4 half_dt8 --transport_iterations 24 --t_end_s 210 --out $d/past_sand_dt_salt24
python -m experiments.design --config configs/design/three_stage_resolved.py --config.seeds='(0,)' --out $d/three_stage_resolved
python -m experiments.design --config configs/design/pulse_resolved.py --config.seeds='(0,)' --config.methods="('gradient',)" --out $d/pulse_resolved_adam_restart
python -m experiments.design --config configs/design/three_stage_resolved.py --config.seeds='(0,)' --config.methods="('gradient',)" --out $d/three_stage_resolved_adam_restart
python -m experiments.design --config configs/design/pulse_resolved.py --config.seeds='(1,)' --config.methods="('lbfgsb','gradient','bayesian','random')" --out $d/pulse_resolved_seed1
python -m experiments.design --config configs/design/three_stage_resolved.py --config.seeds='(0,)' --config.methods="('bayesian',)" --config.budget_sim_calls=30 --out $d/three_stage_resolved_bo30
python -m experiments.design --config configs/design/pulse_resolved.py --config.seeds='(1,)' --config.methods="('gradient',)" --out $d/pulse_resolved_seed1_adam_no_repeat
python -m experiments.design --config configs/design/multistep_resolved.py --config.seeds='(0,)' --config.methods="('gradient','bayesian','random')" --config.budget_sim_calls=10 --out $d/multistep_seed0
python -m experiments.design --config configs/design/multistep_resolved.py --config.seeds='(0,)' --config.methods="('bayesian','random')" --config.budget_sim_calls=40 --out $d/multistep_seed0_bo40
python -m experiments.design --config configs/design/multistep_resolved.py --config.seeds='(1,)' --config.methods="('gradient','lbfgsb')" --config.budget_sim_calls=10 --out $d/multistep_seed1
python -m experiments.design --config configs/design/multistep_resolved.py --config.seeds='(1,)' --config.methods="('bayesian','random')" --config.budget_sim_calls=40 --out $d/multistep_seed1_bo40
python -m experiments.design_points --config configs/design/multistep_resolved.py --points '[{}, {"step1_current_ma_cm2": 50}, {"step2_current_ma_cm2": 50}, {"step3_current_ma_cm2": 50}, {"step4_current_ma_cm2": 50}, {"step5_current_ma_cm2": 50}, {"step6_current_ma_cm2": 50}, {"step7_current_ma_cm2": 50}, {"step8_current_ma_cm2": 50}]' --out $d/multistep_vertices
python -m experiments.design --config configs/design/multistep_from_baseline.py --config.seeds='(0,)' --config.methods="('gradient','lbfgsb')" --out $d/multistep_from_baseline
python -m experiments.design --config configs/design/multistep_from_baseline.py --config.seeds='(0,1)' --config.methods="('bayesian',)" --config.budget_sim_calls=30 --out $d/multistep_from_baseline_bo30
python -m experiments.design --config configs/design/three_stage_from_baseline.py --config.seeds='(0,)' --config.methods="('gradient',)" --out $d/three_stage_from_baseline
python -m experiments.design --config configs/design/three_stage_from_baseline.py --config.seeds='(0,1)' --config.methods="('bayesian',)" --config.budget_sim_calls=20 --out $d/three_stage_from_baseline_bo20
EOF
    ;;
    sensitivity) cat <<EOF
python -m experiments.sensitivity_report --checkpoint $S/cnn2 --out $d
EOF
    ;;
    fidelity) cat <<EOF
python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint $S/cnn2 --out $d
EOF
    ;;
    sweep) cat <<EOF
python -m experiments.sweep --config configs/sweeps/architecture_cpu.py --config.workdir $d
EOF
    ;;
    train_speed) cat <<EOF
python benchmarks/train_speed.py > $d/train_speed.txt
EOF
    ;;
    reliability) cat <<EOF
python -m benchmarks.fault_injection --out $d/fault_injection.md
EOF
    ;;
    *) echo "unknown section '$1'; sections: ${SECTIONS[*]}" >&2; return 2 ;;
  esac
}

list() {
  local total=0 s
  echo "OUT=$OUT"
  for s in "$@"; do
    total=$((total + MINUTES[$s]))
    echo
    echo "[$s] ${TITLE[$s]}"
    echo "  run time: ${MINUTES[$s]} min (${TIME_NOTE[$s]})"
    [[ -n "${NEEDS[$s]:-}" ]] && echo "  needs: ${NEEDS[$s]}"
    commands "$s" | sed 's/^/  /'
  done
  echo
  echo "total: ${total} min (~$(( (total + 30) / 60 )) h)"
}

run_section() {
  local s="$1" d="$OUT/$1" dep start line
  if [[ -f "$d/DONE" ]]; then
    echo "[$s] done already ($(cat "$d/DONE")): skipped"
    return 0
  fi
  for dep in ${NEEDS[$s]:-}; do
    if [[ ! -f "$OUT/$dep/DONE" ]]; then
      echo "[$s] needs section '$dep' first: bash scripts/reproduce_readme.sh $dep" >&2
      return 1
    fi
  done
  mkdir -p "$d"
  start=$(date +%s)
  echo "[$s] ${TITLE[$s]} (README: ${MINUTES[$s]} min)"
  while IFS= read -r line; do
    echo "+ $line"
    eval "$line" < /dev/null
  done < <(commands "$s")
  echo "$(( ($(date +%s) - start) / 60 )) min, finished $(date -Is)" > "$d/DONE"
}

main() {
  local do_list=0 chosen=() s
  for s in "$@"; do
    case "$s" in
      --list) do_list=1 ;;
      -h|--help) sed -n '2,17p' "$0"; return 0 ;;
      -*) echo "unknown option '$s'" >&2; return 2 ;;
      *) [[ -n "${TITLE[$s]:-}" ]] || { echo "unknown section '$s'; sections: ${SECTIONS[*]}" >&2; return 2; }
         chosen+=("$s") ;;
    esac
  done
  [[ ${#chosen[@]} -gt 0 ]] || chosen=("${SECTIONS[@]}")
  if [[ $do_list -eq 1 ]]; then
    local ordered=()
    for s in "${SECTIONS[@]}"; do
      [[ " ${chosen[*]} " == *" $s "* ]] && ordered+=("$s")
    done
    list "${ordered[@]}"
    return 0
  fi
  if [[ -z "${VIRTUAL_ENV:-}" && -f .venv/bin/activate ]]; then
    source .venv/bin/activate
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  for s in "${SECTIONS[@]}"; do        # README order, whatever order they were named in
    if [[ " ${chosen[*]} " == *" $s "* ]]; then
      run_section "$s"
    fi
  done
}

# Exit on the line that runs main: bash reads a script as it runs it, so without this an edit to
# this file during a long run made bash execute whatever bytes then sat at its old offset (the
# "line 257: d: command not found" of an earlier fig4_table run).
main "$@"; exit "$?"
