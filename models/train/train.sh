#!/bin/sh
# Retrains every model in a throwaway virtual environment and rewrites models/<name>/{model.onnx,
# manifest.json,reference.json} and models/mlserver-iris/model.joblib. Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${ALTGATE_TRAIN_VENV:-/tmp/altgate-train}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cd "$here"
for script in train_iris.py train_diabetes.py train_toxicity.py; do
  "$venv/bin/python" "$script"
done
