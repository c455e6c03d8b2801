"""diabetes-progression: a LightGBM regressor on the diabetes data bundled with scikit-learn.

Writes models/diabetes-progression/{model.onnx,manifest.json,reference.json}. The unscaled
measurements are used so that clients send values in their clinical units.
"""

import lightgbm
import numpy as np
import onnxmltools
from onnxmltools.convert.common.data_types import FloatTensorType
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

from common import TARGET_OPSET, rename_outputs, report, save_onnx, write_manifest, write_reference

SEED = 42
FIELDS = ["age_years", "sex", "bmi", "mean_blood_pressure", "s1_total_cholesterol", "s2_ldl", "s3_hdl",
          "s4_total_cholesterol_hdl_ratio", "s5_log_triglycerides", "s6_blood_sugar"]

data = load_diabetes(scaled=False)
x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=SEED)
# One thread and deterministic mode make the trees, hence model.onnx, identical on every retraining.
regressor = lightgbm.LGBMRegressor(
    n_estimators=300, learning_rate=0.02, num_leaves=8, min_child_samples=20, subsample=0.8, subsample_freq=1,
    colsample_bytree=0.8, reg_lambda=1.0, random_state=SEED, n_jobs=1, deterministic=True, verbose=-1,
)
regressor.fit(x_train, y_train)

manifest = {
    "name": "diabetes-progression",
    "version": "1.0.0",
    "framework": "lightgbm",
    "description": "Disease progression one year after baseline, from ten baseline measurements of a diabetes patient "
                   "(gradient-boosted trees).",
    "inputs": [
        {
            "name": "features",
            "datatype": "FP32",
            "shape": [-1, 10],
            "description": "One row per patient: age (years), sex (1 or 2), body mass index, mean blood pressure, "
                           "and six blood serum measurements (s1 to s6), in the units of the original study.",
            "fields": FIELDS,
            "minimum": 0,
            "maximum": 1000,
        }
    ],
    "outputs": [
        {
            "name": "progression",
            "datatype": "FP32",
            "shape": [-1, 1],
            "description": "Quantitative measure of disease progression one year after baseline (about 25 to 346 in the data).",
        },
    ],
    "roles": ["model:invoke"],
    "artifact": "model.onnx",
    "data": "Efron et al. (2004) diabetes data (442 patients), bundled with scikit-learn as "
            "sklearn.datasets.load_diabetes(scaled=False); 75/25 split, seed 42.",
    "max_batch": 64,
}

model = onnxmltools.convert_lightgbm(
    regressor, initial_types=[("features", FloatTensorType([None, 10]))], target_opset=TARGET_OPSET[""]
)
model = rename_outputs(model, {model.graph.output[0].name: "progression"})
onnx_path = save_onnx(model, manifest)
write_manifest(manifest)

fixed = np.vstack([x_test[:6], [[50, 1, 25.0, 90, 190, 115, 50, 4.0, 4.6, 90]]])
predicted = regressor.predict(x_test)
reference = write_reference(
    manifest,
    onnx_path,
    {"features": fixed},
    {"progression": regressor.predict(fixed).tolist()},
    {
        "test_r2": round(float(r2_score(y_test, predicted)), 4),
        "test_mae": round(float(mean_absolute_error(y_test, predicted)), 2),
        "baseline_mae_predicting_the_mean": round(float(mean_absolute_error(y_test, np.full_like(y_test, y_train.mean()))), 2),
        "train_rows": len(x_train),
        "test_rows": len(x_test),
    },
    "train_diabetes.py",
    {"lightgbm": lightgbm.__version__},
)
report(reference)
