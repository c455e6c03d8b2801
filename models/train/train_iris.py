"""iris-classifier: scikit-learn logistic regression on the iris data bundled with scikit-learn.

Writes models/iris-classifier/{model.onnx,manifest.json,reference.json} and, from the very same
fitted pipeline, the native scikit-learn model that MLServer serves: models/mlserver-iris/model.joblib.
"""

import joblib
import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from common import MODELS_DIR, TARGET_OPSET, report, save_onnx, write_manifest, write_reference

SEED = 42
FIELDS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]

data = load_iris()
labels = [str(n) for n in data.target_names]
x_train, x_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.3, stratify=data.target, random_state=SEED
)
pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))
pipeline.fit(x_train, y_train)

manifest = {
    "name": "iris-classifier",
    "version": "1.0.0",
    "framework": "scikit-learn",
    "description": "Iris species from four flower measurements (standardised logistic regression).",
    "inputs": [
        {
            "name": "features",
            "datatype": "FP32",
            "shape": [-1, 4],
            "description": "One row per flower: sepal length, sepal width, petal length, petal width, in centimetres.",
            "fields": FIELDS,
            "minimum": 0,
            "maximum": 100,
        }
    ],
    "outputs": [
        {"name": "label", "datatype": "INT64", "shape": [-1], "description": "Predicted species index.", "labels": labels},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3], "description": "Probability of each species, in label order."},
    ],
    "roles": ["model:invoke"],
    "artifact": "model.onnx",
    "data": "Fisher's iris data set (150 flowers), bundled with scikit-learn as sklearn.datasets.load_iris; "
            "70/30 stratified split, seed 42.",
    "max_batch": 64,
}

model = to_onnx(
    pipeline,
    initial_types=[("features", FloatTensorType([None, 4]))],
    options={LogisticRegression: {"zipmap": False}},
    target_opset=TARGET_OPSET,
)
onnx_path = save_onnx(model, manifest)
write_manifest(manifest)

# Three held-out flowers of each species, and two unusual flowers near the class boundaries.
picks = np.concatenate([np.flatnonzero(y_test == c)[:3] for c in range(3)])
fixed = np.vstack([x_test[picks], [[6.0, 2.7, 4.9, 1.7], [4.5, 3.5, 2.6, 0.6]]])
reference = write_reference(
    manifest,
    onnx_path,
    {"features": fixed},
    {
        "label": pipeline.predict(fixed).tolist(),
        "probabilities": pipeline.predict_proba(fixed).ravel().tolist(),
    },
    {
        "test_accuracy": round(float(accuracy_score(y_test, pipeline.predict(x_test))), 4),
        "train_rows": len(x_train),
        "test_rows": len(x_test),
    },
    "train_iris.py",
)
report(reference)

# The same pipeline, pickled, for MLServer's scikit-learn runtime. Its manifest describes the tensors
# as MLServer exposes them (see models/mlserver-iris/model-settings.json): float64 in, and the
# outputs named after the scikit-learn methods, the label as a column.
native = MODELS_DIR / "mlserver-iris" / "model.joblib"
native.parent.mkdir(parents=True, exist_ok=True)
joblib.dump(pipeline, native)
write_manifest({
    **manifest,
    "name": "mlserver-iris",
    "description": manifest["description"] + " The native scikit-learn model, served by MLServer.",
    "inputs": [{**manifest["inputs"][0], "datatype": "FP64"}],
    "outputs": [
        {**manifest["outputs"][0], "name": "predict", "shape": [-1, 1]},
        {**manifest["outputs"][1], "name": "predict_proba", "datatype": "FP64"},
    ],
    "artifact": "model.joblib",
})
print(f"native scikit-learn model for MLServer: {native.relative_to(MODELS_DIR.parent)}")
