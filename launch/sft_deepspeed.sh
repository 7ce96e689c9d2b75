#!/usr/bin/env bash
# SFT under the deepspeed launcher with a ZeRO JSON from launch/deepspeed/.
#
#   launch/sft_deepspeed.sh [--dry-run] [--zero 2|3|3-offload] CONFIG.yaml [key=value ...]
#
# Environment: NUM_GPUS (default: all visible), HOSTFILE (multi-node; deepspeed's format).
# The JSON adds bucket / overlap settings; batch size, accumulation, precision and clipping
# always come from the YAML so the two cannot disagree.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DRY=0; ZERO=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    --zero) ZERO=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: $0 [--dry-run] [--zero 2|3|3-offload] CONFIG.yaml [key=value ...]" >&2; exit 2; }
CONFIG=$1; shift
[[ -f "$CONFIG" ]] || { echo "$0: config not found: $CONFIG" >&2; exit 2; }
case "$ZERO" in
  2) JSON=$HERE/deepspeed/zero2.json; STAGE=2; OFFLOAD=false ;;
  3) JSON=$HERE/deepspeed/zero3.json; STAGE=3; OFFLOAD=false ;;
  3-offload) JSON=$HERE/deepspeed/zero3_offload.json; STAGE=3; OFFLOAD=true ;;
  *) echo "$0: --zero must be 2, 3 or 3-offload, got $ZERO" >&2; exit 2 ;;
esac
LAUNCH=(deepspeed)
[[ -n "${NUM_GPUS:-}" ]] && LAUNCH+=(--num_gpus "$NUM_GPUS")
[[ -n "${HOSTFILE:-}" ]] && LAUNCH+=(--hostfile "$HOSTFILE")
CMD=("${LAUNCH[@]}" --no_local_rank --module redstar.cli sft "$CONFIG" train.strategy=deepspeed train.zero_stage=$STAGE
     train.offload=$OFFLOAD train.deepspeed_config="$JSON" "$@")
if [[ $DRY == 1 ]]; then printf '%q ' "${CMD[@]}"; echo; exit 0; fi
exec "${CMD[@]}"
