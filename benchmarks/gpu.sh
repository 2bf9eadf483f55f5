#!/usr/bin/env bash
# For a session lent a GPU: netspec bench vs the hand-written Flax step on
# ResNet-50 at 224x224 (float32, mixed and pure bfloat16) and the VGG-style net, img/s and MFU
# from the static MAC count, the lowering pairs (lax, im2col, im2col-grad, shifts, auto, auto-shifts), and the LeNet README job's wall time.
# Run from the repository root after `pip install -c requirements/lock.txt -e '.[test]'` and a CUDA jaxlib:
#   bash benchmarks/gpu.sh 2>&1 | tee gpu.txt
set -euo pipefail
PY=${PY:-.venv/bin/python}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}   # H100/H200 dense bf16; f32 runs report MFU against the same peak
"$PY" - <<'PYEOF'
import jax
print("device:", jax.devices()[0].device_kind, jax.default_backend())
PYEOF
mfu() {  # spec batch precision lowering -> img/s and MFU = 6 * MACs * img/s / peak (forward + 2x backward)
  local spec=$1 batch=$2 precision=$3 lowering=${4:-auto} macs rate
  macs=$("$PY" -c "import netspec,sys; print(netspec.analyze(sys.argv[1]).analysis.macs)" "$spec")
  rate=$("$PY" -m netspec bench "$spec" --batch-size "$batch" --lowering "$lowering" --precision "$precision" \
         --steps 10 --windows 5 --format json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['images_per_s'])")
  "$PY" -c "import sys; r,m,p=map(float,sys.argv[1:4]); print(f'{sys.argv[4]:<34} {sys.argv[5]:<8} {sys.argv[6]:<7} {r:10.1f} img/s  MFU {6*m*r/(p*1e12):6.1%}')" \
    "$rate" "$macs" "$PEAK_TFLOPS" "$spec" "$precision" "$lowering"
}
echo "== netspec bench (img/s, MFU from the static MAC count)"
mfu specs/resnet50.yaml 128 float32
mfu specs/resnet50.yaml 128 mixed
mfu specs/resnet50.yaml 128 bfloat16
mfu benchmarks/specs/vgg_cifar.yaml 256 float32 lax
mfu benchmarks/specs/vgg_cifar.yaml 256 float32 im2col
mfu benchmarks/specs/vgg_cifar.yaml 256 float32 im2col-grad
echo "== lowering pairs (lax, im2col, im2col-grad, shifts, auto, auto-shifts; alternating in one process)"
"$PY" benchmarks/lowering.py --batch-size 256 --windows 7 --steps 10 specs/resnet50.yaml benchmarks/specs/vgg_cifar.yaml
echo "== netspec vs the hand-written Flax step (and torch, if installed): ResNet-50 at 224x224, float32 and bfloat16"
"$PY" benchmarks/vs_torch.py --nets resnet50 --batch-size 128 --windows 5 --steps 10
"$PY" benchmarks/vs_torch.py --nets resnet50 --batch-size 128 --windows 5 --steps 10 --bf16
echo "== hand-written Flax vs netspec vs torch (if installed) on the small nets"
"$PY" benchmarks/vs_torch.py --nets lenet vgg resnet18 --windows 7 --steps 10
echo "== LeNet README job wall time"
start=$(date +%s.%N)
"$PY" -m netspec train specs/lenet.yaml --data mnist --out /tmp/netspec_gpu_lenet-$$
end=$(date +%s.%N)
"$PY" -c "import sys; print(f'LeNet README job: {float(sys.argv[2]) - float(sys.argv[1]):.1f} s wall')" "$start" "$end"
