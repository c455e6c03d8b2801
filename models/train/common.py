"""Helpers shared by the training scripts: ONNX export checks, manifests and reference outputs.

Every script writes three files into models/<name>/: model.onnx, manifest.json (the contract the
server and the runtime read) and reference.json (fixed inputs with the outputs onnxruntime computed
for them, which the runtime's tests must reproduce).
"""

import json
import platform
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import sklearn

MODELS_DIR = Path(__file__).resolve().parent.parent

# Opset 15 is the newest onnxmltools 1.16 converts LightGBM to; one opset for every model keeps them
# servable by any engine that serves one of them (onnxruntime-node, Triton, MLServer's ONNX runtimes).
TARGET_OPSET = {"": 15, "ai.onnx.ml": 3}

NUMPY_DATATYPE = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}

ONNX_DATATYPE = {
    onnx.TensorProto.FLOAT: "FP32",
    onnx.TensorProto.DOUBLE: "FP64",
    onnx.TensorProto.INT64: "INT64",
    onnx.TensorProto.INT32: "INT32",
    onnx.TensorProto.BOOL: "BOOL",
    onnx.TensorProto.STRING: "BYTES",
}


def rename_outputs(model: onnx.ModelProto, names: dict[str, str]) -> onnx.ModelProto:
    """Converters pick their own output names; the manifest's names are the public API."""
    for node in model.graph.node:
        node.output[:] = [names.get(o, o) for o in node.output]
    for out in model.graph.output:
        out.name = names.get(out.name, out.name)
    return model


def _dims(value_info: onnx.ValueInfoProto) -> list[int]:
    return [d.dim_value if d.HasField("dim_value") else -1 for d in value_info.type.tensor_type.shape.dim]


def check_against_manifest(model: onnx.ModelProto, manifest: dict) -> None:
    """Fails the export when the graph's tensors differ from what the manifest promises."""
    onnx.checker.check_model(model, full_check=True)
    for kind, graph_values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        declared = {t["name"]: t for t in manifest[kind]}
        actual = {v.name: v for v in graph_values}
        if set(declared) != set(actual):
            raise SystemExit(f"{kind}: manifest declares {sorted(declared)}, the ONNX graph has {sorted(actual)}")
        for name, value in actual.items():
            datatype = ONNX_DATATYPE.get(value.type.tensor_type.elem_type)
            if datatype != declared[name]["datatype"]:
                raise SystemExit(f"{kind} {name}: manifest says {declared[name]['datatype']}, ONNX says {datatype}")
            dims = _dims(value)
            if dims != declared[name]["shape"]:
                raise SystemExit(f"{kind} {name}: manifest shape {declared[name]['shape']}, ONNX shape {dims}")


def save_onnx(model: onnx.ModelProto, manifest: dict) -> Path:
    check_against_manifest(model, manifest)
    model.producer_name = f"altgate models/train ({model.producer_name})"
    # onnxmltools names the graph with a random UUID; a fixed name keeps retrained files byte-identical.
    model.graph.name = manifest["name"]
    path = MODELS_DIR / manifest["name"] / manifest["artifact"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _format(value, indent: str = "") -> str:
    """Two-space JSON, with lists of plain values kept on one line so shapes and data stay readable."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_format(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _format(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_format(value) + "\n")


def tensor(name: str, datatype: str, array: np.ndarray) -> dict:
    """An Open Inference Protocol tensor: row-major flattened data with its shape."""
    array = np.asarray(array)
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": array.ravel().tolist()}


def run_onnx(path: Path, manifest: dict, inputs: dict[str, np.ndarray]) -> list[dict]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {
        t["name"]: np.asarray(inputs[t["name"]], dtype=NUMPY_DATATYPE[t["datatype"]]) for t in manifest["inputs"]
    }
    names = [t["name"] for t in manifest["outputs"]]
    results = session.run(names, feeds)
    return [tensor(t["name"], t["datatype"], r) for t, r in zip(manifest["outputs"], results)]


def compare_with_framework(outputs: list[dict], framework_outputs: dict) -> dict:
    """The export must not change a single label; scores may differ by float32 rounding only."""
    agreement = {}
    for out in outputs:
        native = framework_outputs.get(out["name"])
        if native is None:
            continue
        if out["datatype"].startswith("INT"):
            if out["data"] != native:
                raise SystemExit(f"{out['name']}: ONNX {out['data']} differs from the framework's {native}")
            agreement[out["name"]] = "identical"
        else:
            onnx_values, native_values = np.asarray(out["data"]), np.asarray(native)
            diff = float(np.max(np.abs(onnx_values - native_values) / np.maximum(np.abs(native_values), 1.0)))
            if diff > 1e-4:
                raise SystemExit(f"{out['name']}: ONNX differs from the framework by up to {diff} (relative)")
            agreement[out["name"]] = f"max relative difference {diff:.2e}"
    return agreement


def write_reference(manifest: dict, onnx_path: Path, inputs: dict[str, np.ndarray], framework_outputs: dict,
                    evaluation: dict, script: str, engines: dict | None = None) -> dict:
    """Records fixed inputs and what onnxruntime answered, next to the framework's own answer."""
    outputs = run_onnx(onnx_path, manifest, inputs)
    agreement = compare_with_framework(outputs, framework_outputs)
    reference = {
        "model": manifest["name"],
        "version": manifest["version"],
        "generated_by": f"models/train/{script}",
        "engines": {
            "onnxruntime": onnxruntime.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            **(engines or {}),
        },
        "evaluation": evaluation,
        "onnx_vs_framework": agreement,
        # Inputs keep their decimal values: a client sends 5.1, not its float32 rounding.
        "inputs": [tensor(t["name"], t["datatype"], inputs[t["name"]]) for t in manifest["inputs"]],
        "outputs": outputs,
        "framework_outputs": framework_outputs,
    }
    write_json(MODELS_DIR / manifest["name"] / "reference.json", reference)
    return reference


def write_manifest(manifest: dict) -> None:
    write_json(MODELS_DIR / manifest["name"] / "manifest.json", manifest)


def report(reference: dict) -> None:
    evaluation = ", ".join(f"{k}={v}" for k, v in reference["evaluation"].items())
    print(f"{reference['model']}: {evaluation}")
