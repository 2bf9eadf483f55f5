"""Per-class figures from a confusion matrix (precision, recall, F1, support) and
its picture, for ``netspec eval``. NumPy + matplotlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def per_class(matrix: np.ndarray, names: list[str]) -> list[dict]:
    """One row per class of ``matrix[true, predicted]``: precision, recall, F1 (0 where
    undefined) and support (true examples).

    >>> per_class(np.array([[3, 1], [0, 2]]), ["a", "b"])[1]
    {'class': 'b', 'precision': 0.6667, 'recall': 1.0, 'f1': 0.8, 'support': 2}
    """
    matrix = np.asarray(matrix, np.float64)
    hits = np.diag(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return [{"class": str(name), "precision": round(float(p), 4), "recall": round(float(r), 4),
             "f1": round(float(f), 4), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, actual)]


def render_per_class(rows: list[dict]) -> str:
    """The per-class table as text, with the macro average."""
    width = max(8, *(len(row["class"][:16]) for row in rows)) + 2
    lines = [f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for row in rows:
        lines.append(f"{row['class'][:16]:<{width}}{100 * row['precision']:>9.2f}%{100 * row['recall']:>9.2f}%"
                     f"{100 * row['f1']:>9.2f}%{row['support']:>10,}")
    macro = {key: float(np.mean([row[key] for row in rows])) for key in ("precision", "recall", "f1")}
    lines.append(f"{'macro avg':<{width}}{100 * macro['precision']:>9.2f}%{100 * macro['recall']:>9.2f}%"
                 f"{100 * macro['f1']:>9.2f}%{sum(row['support'] for row in rows):>10,}")
    return "\n".join(lines)


def save_confusion_png(matrix: np.ndarray, names: list[str], path: str | Path, *, title: str) -> Path:
    """The matrix as a heat map (rows: true class, columns: predicted), coloured by the share
    of each true class (so rare classes show), every cell annotated with its count."""
    from netspec.interpret.visualize import _pyplot, _save

    plt = _pyplot()
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, np.float64), where=rows > 0)
    size = max(4.5, 0.55 * len(names) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1.2, size))
    drawn = axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(drawn, ax=axis, fraction=0.046, pad=0.04).set_label("share of the true class")
    labels = [str(name)[:12] for name in names]
    axis.set_xticks(range(len(labels)), labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                    if max(map(len, labels)) > 2 else "center")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    if len(names) <= 30:
        for (row, column), count in np.ndenumerate(matrix):
            axis.text(column, row, f"{count:,}", ha="center", va="center", fontsize=8,
                      color="white" if share[row, column] > 0.55 else "black")
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)
