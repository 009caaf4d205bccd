"""The anchor fraudflow is measured against: the gradient-boosted model a fraud team runs today.

LightGBM over point-in-time card-history features, trained on the tuning rows and scored on the held-out rows.
Its few hyperparameters (trees, leaves) are chosen by time-ordered cross-validation on the tuning rows, as
fraudflow chooses its calibration's penalty. Reads one JSON document on stdin:
  {"columns": [...], "categorical": [...], "train": {"x": [[...]], "y": [0|1, ...]}, "test": {"x": [[...]]}}
and writes {"scores": [...], "chosen": {...}} on stdout.
"""
import json
import sys

import lightgbm as lgb
import numpy as np
from sklearn.metrics import log_loss

GRID = [(rounds, leaves) for rounds in (100, 300, 600) for leaves in (7, 15, 31)]
FOLDS = 5


def params(leaves):
    return dict(objective="binary", learning_rate=0.05, num_leaves=leaves, min_data_in_leaf=20,
                feature_fraction=0.8, bagging_fraction=0.8, bagging_freq=1, lambda_l2=1.0,
                verbose=-1, seed=1, deterministic=True, num_threads=1)


def fit(x, y, rounds, leaves, categorical):
    data = lgb.Dataset(x, y, categorical_feature=categorical, free_raw_data=False)
    return lgb.train(params(leaves), data, rounds)


def time_ordered_loss(x, y, rounds, leaves, categorical):
    """Out-of-fold log loss over contiguous stretches of time (rows arrive oldest first)."""
    edges = np.linspace(0, len(y), FOLDS + 1).astype(int)
    out = np.zeros(len(y))
    for lo, hi in zip(edges[:-1], edges[1:]):
        keep = np.r_[0:lo, hi:len(y)]
        out[lo:hi] = fit(x[keep], y[keep], rounds, leaves, categorical).predict(x[lo:hi])
    return log_loss(y, np.clip(out, 1e-9, 1 - 1e-9), labels=[0, 1])


def main():
    doc = json.load(sys.stdin)
    x = np.array(doc["train"]["x"], dtype=float)
    y = np.array(doc["train"]["y"], dtype=int)
    test = np.array(doc["test"]["x"], dtype=float)
    categorical = [doc["columns"].index(c) for c in doc["categorical"]]
    losses = {(r, l): time_ordered_loss(x, y, r, l, categorical) for r, l in GRID}
    rounds, leaves = min(losses, key=losses.get)
    model = fit(x, y, rounds, leaves, categorical)
    json.dump({"scores": model.predict(test).tolist(),
               "chosen": {"trees": rounds, "leaves": leaves, "outOfFoldLogLoss": round(losses[(rounds, leaves)], 5),
                          "lightgbm": lgb.__version__}}, sys.stdout)


if __name__ == "__main__":
    main()
