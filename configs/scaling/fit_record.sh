# Sourced by configs/scaling/run_all.sh and configs/mixtures/run_all.sh (docs/scaling.md).
# fit_and_record GROUP VARIANT SEED RUN OBSERVE END RESULTS
#   fits RUN's position_loss.jsonl from its steps <= OBSERVE up to END twice — our law with the
#   run's learning-rate schedule (RUN/fit-GROUP.json, the method under test) and without it, free
#   forms only (RUN/fit-GROUP-free.json, the method before the schedule-tied forms) — and writes one result
#   file RESULTS/GROUP-VARIANT-sSEED.json (`lmlab results record`) with each method's MAPE, the
#   predicted and actual loss at END, the per-position noise and the per-parameter diagnostics.
fit_and_record() {
  local group=$1 variant=$2 seed=$3 run=$4 observe=$5 end=$6 res=$7
  local f=$run/fit-$group.json free=$run/fit-$group-free.json d=diagnostics
  "$LMLAB" scaling fit --run "$run" --observe-until "$observe" --predict-to "$end" \
    --json "$f" --plot "$run/fit-$group.png" > "$run/fit-$group.txt"
  "$LMLAB" scaling fit --run "$run" --observe-until "$observe" --predict-to "$end" --no-schedule \
    --json "$free" > "$run/fit-$group-free.txt"
  mkdir -p "$res"
  "$LMLAB" results record --method scaling --group "$group" --variant "$variant" --seed "$seed" \
    --output "$res/$group-$variant-s$seed.json" \
    --settings "{\"run\": \"$run\", \"observe_until\": $observe, \"predict_to\": $end}" \
    --metric "mape_tsl=@$f:scores.ours.mape_percent" \
    --metric "mape_tsl_free=@$free:scores.ours.mape_percent" \
    --metric "mape_power=@$f:scores.power_law.mape_percent" \
    --metric "mape_exp=@$f:scores.exponential.mape_percent" \
    --metric "mape_cutoff=@$f:scores.cutoff.mape_percent" \
    --metric "final_actual=@$f:final.actual" --metric "final_tsl=@$f:final.ours" \
    --metric "final_tsl_free=@$free:final.ours" \
    --metric "final_power=@$f:final.power_law" --metric "final_exp=@$f:final.exponential" \
    --metric "cutoff_loss=@$f:final.cutoff" --metric "pos_se=@$f:position_se_at_cutoff" \
    --metric "law_only=@$f:$d.mape_law_per_step_params" --metric "all_refit=@$f:$d.mape_all_refitted" \
    --metric "a0_extrap=@$f:$d.params.a0.mape_only_it_extrapolated" \
    --metric "a1_extrap=@$f:$d.params.a1.mape_only_it_extrapolated" \
    --metric "a2_extrap=@$f:$d.params.a2.mape_only_it_extrapolated" \
    --metric "a0_true=@$f:$d.params.a0.mape_only_it_per_step" \
    --metric "a1_true=@$f:$d.params.a1.mape_only_it_per_step" \
    --metric "a2_true=@$f:$d.params.a2.mape_only_it_per_step" \
    --metric "a0_refit=@$f:$d.params.a0.mape_only_it_refitted" \
    --metric "a1_refit=@$f:$d.params.a1.mape_only_it_refitted" \
    --metric "a2_refit=@$f:$d.params.a2.mape_only_it_refitted" \
    --metric "train_s=$(cat "$run/train.done")" >/dev/null
}

# The MAPE table of docs/scaling.md (every size and mixture run in RESULTS), regenerated from the
# result files; DOC empty prints it only.
scaling_table() {
  local res=$1 doc=${2:-}
  # shellcheck disable=SC2046  # the --doc pair or nothing
  "$LMLAB" results table "$res" --markdown $([ -n "$doc" ] && echo --doc "$doc") \
    --metrics mape_tsl,mape_tsl_free,mape_power,mape_exp,mape_cutoff,pos_se,all_refit,a0_extrap,a1_extrap,a2_extrap
}
