#!/usr/bin/env bash
# Debug twin of sft_torchrun.sh / slurm_sft.sbatch: the same command on this machine, on CPU
# with 2 ranks (gloo) or on one GPU, with a short run. Use it before a cluster job.
#
#   launch/sft_debug.sh [--dry-run] [--gpu] [--zero 2|3] CONFIG.yaml [key=value ...]
set -euo pipefail
DRY=0; DEVICE=cpu; NPROC=2; STRAT=(train.strategy=torch)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    --gpu) DEVICE=cuda; NPROC=1; shift ;;
    --zero) STRAT=(train.strategy=deepspeed train.zero_stage=$2); shift 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: $0 [--dry-run] [--gpu] [--zero 2|3] CONFIG.yaml [key=value ...]" >&2; exit 2; }
CONFIG=$1; shift
[[ -f "$CONFIG" ]] || { echo "$0: config not found: $CONFIG" >&2; exit 2; }
DTYPE=float32; [[ $DEVICE == cuda ]] && DTYPE=bfloat16
CMD=(torchrun --nproc_per_node=$NPROC --master_port="${MASTER_PORT:-29531}" -m redstar.cli sft "$CONFIG"
     train.device=$DEVICE train.dtype=$DTYPE "${STRAT[@]}" train.max_steps=4 train.save_every=2 "$@")
if [[ $DRY == 1 ]]; then printf '%q ' "${CMD[@]}"; echo; exit 0; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "${CMD[@]}"
