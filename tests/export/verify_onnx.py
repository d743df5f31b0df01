#!/usr/bin/python3
"""Checks exported ONNX files with tools independent of deepreduce.

For each case NAME in the folder: NAME.onnx, NAME.input (float32, NCHW),
NAME.expected (LibTorch's logits, float32). Prints one JSON object per line:
{"case", "checker", "relus", "relu_nodes", "ops", "max_rel_error", "error"}.

- onnx.checker.check_model(full_check=True) must accept the graph;
- onnx.shape_inference gives every Relu output's shape: "relus" is the sum of
  C*H*W over them, the ReLU elements the graph evaluates per image;
- OpenCV's dnn module (python3-opencv) runs the graph on the same input as
  LibTorch: "max_rel_error" is max|opencv - libtorch| / max|libtorch|.
"""
import json
import os
import sys

import cv2
import numpy as np
import onnx


def check(folder, name):
    out = {"case": name}
    try:
        path = os.path.join(folder, name + ".onnx")
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        out["checker"] = True
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        shapes = {}
        for v in list(inferred.graph.value_info) + list(inferred.graph.output):
            shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
        relu_nodes = [n for n in inferred.graph.node if n.op_type == "Relu"]
        out["relu_nodes"] = len(relu_nodes)
        out["relus"] = int(sum(int(np.prod(shapes[n.output[0]][1:])) for n in relu_nodes))
        out["ops"] = sorted({n.op_type for n in model.graph.node})
        dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        x = np.fromfile(os.path.join(folder, name + ".input"), dtype=np.float32).reshape(dims)
        expected = np.fromfile(os.path.join(folder, name + ".expected"), dtype=np.float32)
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(x)
        got = net.forward().reshape(-1)
        out["max_rel_error"] = float(np.max(np.abs(got - expected)) / max(float(np.max(np.abs(expected))), 1e-12))
    except Exception as e:  # reported, and the C++ test fails on it
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def main():
    folder = sys.argv[1]
    names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".onnx"))
    for name in names:
        print(json.dumps(check(folder, name)), flush=True)


if __name__ == "__main__":
    main()
