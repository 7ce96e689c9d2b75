#!/usr/bin/env bash
# Multi-GPU / multi-node SFT with torchrun (the engine picks DeepSpeed when the config says
# train.strategy: deepspeed, plain data parallel otherwise).
#
#   launch/sft_torchrun.sh [--dry-run] CONFIG.yaml [key=value ...]
#
# Environment: NPROC (default: the GPUs CUDA_VISIBLE_DEVICES lists, else all GPUs, else 1), NNODES (1), NODE_RANK (0),
# MASTER_ADDR (localhost), MASTER_PORT (29500). On SLURM use launch/slurm_sft.sbatch.
# Debug twin on CPU: launch/sft_debug.sh.
set -euo pipefail
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--dry-run] CONFIG.yaml [key=value ...]" >&2; exit 2; }
CONFIG=$1; shift
[[ -f "$CONFIG" ]] || { echo "$0: config not found: $CONFIG" >&2; exit 2; }
if [[ -z "${NPROC:-}" ]]; then
  if [[ -n "${CUDA_VISIBLE_DEVICES+set}" ]]; then
    # the GPUs this process may use (nvidia-smi lists every GPU of the machine)
    if [[ -z "$CUDA_VISIBLE_DEVICES" || "$CUDA_VISIBLE_DEVICES" == -1* ]]; then NPROC=0
    else IFS=, read -ra _gpus <<< "$CUDA_VISIBLE_DEVICES"; NPROC=${#_gpus[@]}; fi
  else
    NPROC=$( (command -v nvidia-smi >/dev/null && nvidia-smi -L | wc -l) || echo 0)
  fi
  [[ "$NPROC" -ge 1 ]] || NPROC=1
fi
CMD=(torchrun --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --nproc_per_node="$NPROC"
     --master_addr="${MASTER_ADDR:-localhost}" --master_port="${MASTER_PORT:-29500}"
     -m redstar.cli sft "$CONFIG" "$@")
if [[ $DRY == 1 ]]; then printf '%q ' "${CMD[@]}"; echo; exit 0; fi
exec "${CMD[@]}"
